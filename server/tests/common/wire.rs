//! A native protocol connection speaking the codec directly, for tests that need to send what
//! the client crate never would.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use protocol::native::{
    CreateStream, ErrorCode, FRAME_BYTES_MAX, Fetch, FetchOk, Frame, Hello, ProduceRecord, Request,
    Response, StartPosition, Target,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::WAIT;

/// A connection speaking the codec directly.
pub struct Connection {
    pub socket: TcpStream,
    pub buffer: BytesMut,
    pub next_id: u32,
}

impl Connection {
    pub async fn open(address: SocketAddr) -> Self {
        let socket = tokio::time::timeout(WAIT, TcpStream::connect(address))
            .await
            .unwrap()
            .unwrap();
        Self {
            socket,
            buffer: BytesMut::new(),
            next_id: 1,
        }
    }

    pub async fn greeted(address: SocketAddr) -> Self {
        let mut connection = Self::open(address).await;
        let hello = Hello {
            protocol_version_min: 1,
            protocol_version_max: 1,
            client_name: "test".into(),
        };
        match connection.call(Request::Hello(hello)).await {
            Response::HelloOk(ok) => assert_eq!(ok.version, 1),
            other => panic!("handshake failed: {other:?}"),
        }
        connection
    }

    pub async fn send(&mut self, request: &Request) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        let mut out = BytesMut::new();
        request.encode_frame(id, &mut out);
        self.socket.write_all(&out).await.unwrap();
        id
    }

    /// The next response, or `None` when the server closed the connection.
    pub async fn receive(&mut self) -> Option<(u32, Response)> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(frame) = Frame::split_from(&mut self.buffer, FRAME_BYTES_MAX).unwrap() {
                return Some((
                    frame.request_id,
                    Response::decode(frame.op, &frame.body).unwrap(),
                ));
            }
            let read = tokio::time::timeout_at(deadline, self.socket.read_buf(&mut self.buffer))
                .await
                .expect("a response within the deadline");
            if read.unwrap_or(0) == 0 {
                return None;
            }
        }
    }

    pub async fn call(&mut self, request: Request) -> Response {
        let id = self.send(&request).await;
        let (answered, response) = self.receive().await.expect("a response");
        assert_eq!(answered, id, "responses carry their request's id");
        response
    }

    pub async fn fetch(
        &mut self,
        stream: &str,
        shard: u32,
        start: StartPosition,
        wait_ms: u32,
    ) -> FetchOk {
        let request = Request::Fetch(Fetch {
            stream: stream.into(),
            shard,
            start,
            max_records: 10_000,
            max_bytes: 10 * 1024 * 1024,
            max_wait_ms: wait_ms,
        });
        match self.call(request).await {
            Response::FetchOk(ok) => ok,
            other => panic!("fetch failed: {other:?}"),
        }
    }
}

pub fn error_code(response: &Response) -> Option<ErrorCode> {
    match response {
        Response::Error(error) => error.error_code(),
        _ => None,
    }
}

pub fn keyed(key: &str, data: &str) -> ProduceRecord {
    ProduceRecord {
        target: Target::PartitionKey {
            key: Bytes::copy_from_slice(key.as_bytes()),
            explicit_hash_key: None,
        },
        data: Bytes::copy_from_slice(data.as_bytes()),
    }
}

pub async fn create(connection: &mut Connection, name: &str, shards: u32) {
    let request = CreateStream {
        name: name.into(),
        shard_count: shards,
        retention_hours: 24,
    };
    assert_eq!(
        connection.call(Request::CreateStream(request)).await,
        Response::CreateStreamOk
    );
}
