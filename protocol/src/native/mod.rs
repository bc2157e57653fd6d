//! The native binary protocol: frames, operations, bodies and error codes.
//!
//! The specification, with every byte layout, is `protocol/README.md`; this module is its
//! implementation. Each operation is a request body in [`requests`] and a response body in
//! [`responses`]; [`Request`] and [`Response`] tie them to operation codes.
#![deny(clippy::indexing_slicing)]

pub mod auth;
pub mod batch;
pub mod codes;
pub mod frame;
pub mod queues;
pub mod requests;
pub mod responses;

use bytes::{Bytes, BytesMut};

pub use batch::{
    BatchBuilder, BatchFrame, BatchRecord, PRODUCE_BATCH_RECORDS_MAX, ProduceBatch, ProduceBatchOk,
    frame_request,
};
pub use codes::ErrorCode;
pub use frame::{FRAME_BYTES_MAX, FRAME_HEADER_SIZE, Frame, FrameHeader, Kind, decode_frame};
pub use requests::{
    Authenticate, CommitCursor, CreateStream, DeleteStream, DescribeStream, Fetch, FetchCursor,
    Hello, ListStreams, MergeShards, Produce, ProduceRecord, SplitShard, StartPosition, Target,
};
pub use responses::{
    CursorPosition, ErrorResponse, FetchOk, FetchedRecord, HelloOk, MergeShardsOk, ProduceOk,
    ProduceResult, ShardDescription, SplitShardOk, StreamDescription, StreamList,
};

pub use crate::codec::{DecodeError, Message};

/// The newest protocol version this crate speaks. A server answers a `Hello` whose range
/// excludes every version it speaks with [`ErrorCode::UnsupportedVersion`]. Version 2 added
/// the authentication challenge to `HelloOk` and the `Authenticate` operation.
pub const PROTOCOL_VERSION: u16 = 2;
/// The oldest protocol version this crate still speaks.
pub const PROTOCOL_VERSION_MIN: u16 = 1;
/// Access key ids in `Authenticate` are 1 to 128 bytes of UTF-8 (AWS's limit).
pub const ACCESS_KEY_ID_BYTES_MAX: usize = 128;

/// Stream names are 1 to 128 bytes of UTF-8 (Kinesis allows 128 characters).
pub const STREAM_NAME_BYTES_MAX: usize = 128;
/// Cursor (consumer) names are 1 to 128 bytes of UTF-8.
pub const CURSOR_NAME_BYTES_MAX: usize = 128;
/// Client and server names in the handshake are 0 to 128 bytes of UTF-8.
pub const PEER_NAME_BYTES_MAX: usize = 128;
/// Partition keys are at least 1 byte of UTF-8 (as in Kinesis)...
pub const PARTITION_KEY_BYTES_MIN: usize = 1;
/// ...and at most 256.
pub const PARTITION_KEY_BYTES_MAX: usize = 256;
/// A fetched record's key: 0 bytes when it was produced to a shard, else a partition key.
pub const FETCHED_KEY_BYTES_MAX: usize = PARTITION_KEY_BYTES_MAX;
/// Records in one `Produce` (and results in its `ProduceOk`).
pub const PRODUCE_RECORDS_MAX: usize = 10_000;
/// Error messages are cut to this many bytes when encoded.
pub const ERROR_MESSAGE_BYTES_MAX: usize = 4096;

/// Operation codes. A response carries its request's code, except an error response,
/// which carries [`Op::Error`]. Numbers are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
#[non_exhaustive]
pub enum Op {
    /// Only in responses: the request failed; the body is an [`ErrorResponse`].
    Error = 0,
    /// [`Hello`] → [`HelloOk`].
    Hello = 1,
    /// [`CreateStream`] → empty.
    CreateStream = 2,
    /// [`DeleteStream`] → empty.
    DeleteStream = 3,
    /// [`ListStreams`] → [`StreamList`].
    ListStreams = 4,
    /// [`DescribeStream`] → [`StreamDescription`].
    DescribeStream = 5,
    /// [`Produce`] → [`ProduceOk`].
    Produce = 6,
    /// [`Fetch`] → [`FetchOk`].
    Fetch = 7,
    /// [`CommitCursor`] → empty.
    CommitCursor = 8,
    /// [`FetchCursor`] → [`CursorPosition`].
    FetchCursor = 9,
    /// [`SplitShard`] → [`SplitShardOk`].
    SplitShard = 10,
    /// [`MergeShards`] → [`MergeShardsOk`].
    MergeShards = 11,
    /// [`Authenticate`] → empty.
    Authenticate = 12,
    /// [`queues::QueueCreate`] → empty.
    QueueCreate = 13,
    /// [`queues::QueueName`] → empty.
    QueueDelete = 14,
    /// [`queues::QueueList`] → [`queues::QueueNames`].
    QueueList = 15,
    /// [`queues::QueueSend`] → [`queues::QueueSendOk`].
    QueueSend = 16,
    /// [`queues::QueueReceive`] → [`queues::QueueRecords`].
    QueueReceive = 17,
    /// [`queues::QueueAck`] → [`queues::QueueAckOk`].
    QueueAck = 18,
    /// [`queues::QueueName`] → empty.
    QueuePurge = 19,
    /// [`queues::QueuePeek`] → [`queues::QueueRecords`].
    QueuePeek = 20,
    /// [`queues::QueueRewind`] → [`queues::QueueRewindOk`].
    QueueRewind = 21,
    /// [`ProduceBatch`] → [`ProduceBatchOk`].
    ProduceBatch = 22,
}

impl Op {
    /// Every operation, in code order.
    pub const ALL: [Self; 23] = [
        Self::Error,
        Self::Hello,
        Self::CreateStream,
        Self::DeleteStream,
        Self::ListStreams,
        Self::DescribeStream,
        Self::Produce,
        Self::Fetch,
        Self::CommitCursor,
        Self::FetchCursor,
        Self::SplitShard,
        Self::MergeShards,
        Self::Authenticate,
        Self::QueueCreate,
        Self::QueueDelete,
        Self::QueueList,
        Self::QueueSend,
        Self::QueueReceive,
        Self::QueueAck,
        Self::QueuePurge,
        Self::QueuePeek,
        Self::QueueRewind,
        Self::ProduceBatch,
    ];

    /// The operation for a wire code, or `None`.
    #[must_use]
    pub fn from_u16(value: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|op| *op as u16 == value)
    }
}

/// Appends a frame header for a body of `body_len` bytes.
fn encode_header(kind: Kind, op: Op, request_id: u32, body_len: usize, out: &mut BytesMut) {
    out.reserve(FRAME_HEADER_SIZE + body_len);
    FrameHeader {
        kind,
        op: op as u16,
        request_id,
        body_len: u32::try_from(body_len).unwrap_or(u32::MAX),
    }
    .encode(out);
}

/// Decodes an empty body.
fn decode_empty(body: &[u8]) -> Result<(), DecodeError> {
    crate::codec::Reader::new(body).finish()
}

/// Generates the `Request`/`Response` enums' codecs from one table, so an operation cannot
/// be added to one method and forgotten in another.
macro_rules! messages {
    (
        $(#[$doc:meta])* $name:ident {
            $($(#[$vdoc:meta])* $variant:ident $(($body:ty))? = $op:ident,)*
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant $(($body))?,)*
        }

        impl $name {
            /// The operation code its frame carries.
            #[must_use]
            pub fn op(&self) -> Op {
                match self {
                    $(messages!(@pattern $variant $(($body))?) => Op::$op,)*
                }
            }

            /// Bytes of body [`Self::encode`] appends.
            #[must_use]
            pub fn encoded_size(&self) -> usize {
                match self {
                    $(messages!(@bind $variant body $(($body))?) =>
                        messages!(@size body $(($body))?),)*
                }
            }

            /// Appends the body (no frame header).
            pub fn encode(&self, out: &mut BytesMut) {
                match self {
                    $(messages!(@bind $variant body $(($body))?) =>
                        messages!(@encode body out $(($body))?),)*
                }
            }

            /// Decodes the body of a frame whose header carries `op`.
            ///
            /// # Errors
            /// [`DecodeError::UnknownOperation`] for an op with no such message, and any
            /// body error.
            pub fn decode(op: u16, body: &[u8]) -> Result<Self, DecodeError> {
                match Op::from_u16(op) {
                    $(Some(Op::$op) => messages!(@decode $variant body $(($body))?),)*
                    _ => Err(DecodeError::UnknownOperation { op }),
                }
            }

            /// As [`Self::decode`], with byte fields (record keys and data) sharing `body`'s
            /// buffer rather than copied out of it.
            ///
            /// # Errors
            /// As [`Self::decode`].
            pub fn decode_shared(op: u16, body: &Bytes) -> Result<Self, DecodeError> {
                match Op::from_u16(op) {
                    $(Some(Op::$op) => messages!(@decode_shared $variant body $(($body))?),)*
                    _ => Err(DecodeError::UnknownOperation { op }),
                }
            }
        }
    };
    (@pattern $variant:ident ($body:ty)) => { Self::$variant(_) };
    (@pattern $variant:ident) => { Self::$variant };
    (@bind $variant:ident $b:ident ($body:ty)) => { Self::$variant($b) };
    (@bind $variant:ident $b:ident) => { Self::$variant };
    (@size $b:ident ($body:ty)) => { $b.encoded_size() };
    (@size $b:ident) => { 0 };
    (@encode $b:ident $out:ident ($body:ty)) => { $b.encode($out) };
    (@encode $b:ident $out:ident) => { () };
    (@decode $variant:ident $b:ident ($body:ty)) => {
        <$body as Message>::decode($b).map(Self::$variant)
    };
    (@decode $variant:ident $b:ident) => { decode_empty($b).map(|()| Self::$variant) };
    (@decode_shared $variant:ident $b:ident ($body:ty)) => {
        <$body as Message>::decode_shared($b).map(Self::$variant)
    };
    (@decode_shared $variant:ident $b:ident) => { decode_empty($b).map(|()| Self::$variant) };
}

messages! {
    /// Every request a client can send.
    Request {
        /// Must be the first request on a connection.
        Hello(Hello) = Hello,
        /// Create a stream.
        CreateStream(CreateStream) = CreateStream,
        /// Delete a stream.
        DeleteStream(DeleteStream) = DeleteStream,
        /// List streams.
        ListStreams(ListStreams) = ListStreams,
        /// Describe a stream's shards.
        DescribeStream(DescribeStream) = DescribeStream,
        /// Append records.
        Produce(Produce) = Produce,
        /// Read records.
        Fetch(Fetch) = Fetch,
        /// Save a consumer position.
        CommitCursor(CommitCursor) = CommitCursor,
        /// Load a consumer position.
        FetchCursor(FetchCursor) = FetchCursor,
        /// Split a shard in two.
        SplitShard(SplitShard) = SplitShard,
        /// Merge two adjacent shards into one.
        MergeShards(MergeShards) = MergeShards,
        /// Prove the connection holds an access key (after `Hello`, when asked to).
        Authenticate(Authenticate) = Authenticate,
        /// Create a queue.
        QueueCreate(queues::QueueCreate) = QueueCreate,
        /// Delete a queue and its messages.
        QueueDelete(queues::QueueName) = QueueDelete,
        /// List queues.
        QueueList(queues::QueueList) = QueueList,
        /// Send messages to a queue.
        QueueSend(queues::QueueSend) = QueueSend,
        /// Receive messages from a queue.
        QueueReceive(queues::QueueReceive) = QueueReceive,
        /// Delete received messages.
        QueueAck(queues::QueueAck) = QueueAck,
        /// Delete every message of a queue.
        QueuePurge(queues::QueueName) = QueuePurge,
        /// Read a queue's messages without receiving them.
        QueuePeek(queues::QueuePeek) = QueuePeek,
        /// Make a queue's messages from a point on receivable again.
        QueueRewind(queues::QueueRewind) = QueueRewind,
        /// Append records the producer encoded, routed to one shard.
        ProduceBatch(ProduceBatch) = ProduceBatch,
    }
}

messages! {
    /// Every response a server can send.
    Response {
        /// The handshake succeeded.
        HelloOk(HelloOk) = Hello,
        /// The stream was created (empty body).
        CreateStreamOk = CreateStream,
        /// The stream was deleted (empty body).
        DeleteStreamOk = DeleteStream,
        /// Every stream's name.
        StreamList(StreamList) = ListStreams,
        /// One stream's shards.
        StreamDescription(StreamDescription) = DescribeStream,
        /// Where each produced record landed.
        ProduceOk(ProduceOk) = Produce,
        /// Fetched records.
        FetchOk(FetchOk) = Fetch,
        /// The position was saved (empty body).
        CommitCursorOk = CommitCursor,
        /// A saved position.
        CursorPosition(CursorPosition) = FetchCursor,
        /// The split's two children.
        SplitShardOk(SplitShardOk) = SplitShard,
        /// The merge's child.
        MergeShardsOk(MergeShardsOk) = MergeShards,
        /// The connection is authenticated (empty body).
        AuthenticateOk = Authenticate,
        /// The queue exists (empty body).
        QueueCreateOk = QueueCreate,
        /// The queue was deleted (empty body).
        QueueDeleteOk = QueueDelete,
        /// Queue names.
        QueueNames(queues::QueueNames) = QueueList,
        /// Each sent message's outcome.
        QueueSendOk(queues::QueueSendOk) = QueueSend,
        /// Received messages.
        QueueReceived(queues::QueueRecords) = QueueReceive,
        /// Each handle's outcome.
        QueueAckOk(queues::QueueAckOk) = QueueAck,
        /// The queue was purged (empty body).
        QueuePurgeOk = QueuePurge,
        /// Peeked messages.
        QueuePeeked(queues::QueueRecords) = QueuePeek,
        /// What the rewind did.
        QueueRewindOk(queues::QueueRewindOk) = QueueRewind,
        /// Where a producer-encoded batch landed.
        ProduceBatchOk(ProduceBatchOk) = ProduceBatch,
        /// Any request failed.
        Error(ErrorResponse) = Error,
    }
}

impl Request {
    /// Appends a whole request frame: header, then body.
    pub fn encode_frame(&self, request_id: u32, out: &mut BytesMut) {
        encode_header(
            Kind::Request,
            self.op(),
            request_id,
            self.encoded_size(),
            out,
        );
        self.encode(out);
    }
}

impl Response {
    /// Appends a whole response frame: header, then body.
    pub fn encode_frame(&self, request_id: u32, out: &mut BytesMut) {
        encode_header(
            Kind::Response,
            self.op(),
            request_id,
            self.encoded_size(),
            out,
        );
        self.encode(out);
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use proptest::prelude::*;

    use super::{
        DecodeError, FRAME_BYTES_MAX, FRAME_HEADER_SIZE, Kind, MergeShards, MergeShardsOk, Op,
        Request, Response, SplitShard, SplitShardOk, decode_frame,
    };
    use crate::codec::Message;

    /// Snapshot: operation numbers are part of the wire format. Add, never edit.
    #[test]
    fn operation_numbers_are_pinned() {
        let table: Vec<(Op, u16)> = Op::ALL.iter().map(|op| (*op, *op as u16)).collect();
        assert_eq!(
            format!("{table:?}"),
            "[(Error, 0), (Hello, 1), (CreateStream, 2), (DeleteStream, 3), (ListStreams, 4), \
             (DescribeStream, 5), (Produce, 6), (Fetch, 7), (CommitCursor, 8), (FetchCursor, 9), \
             (SplitShard, 10), (MergeShards, 11), (Authenticate, 12), (QueueCreate, 13), \
             (QueueDelete, 14), (QueueList, 15), (QueueSend, 16), (QueueReceive, 17), \
             (QueueAck, 18), (QueuePurge, 19), (QueuePeek, 20), (QueueRewind, 21), \
             (ProduceBatch, 22)]"
        );
        for op in Op::ALL {
            assert_eq!(Op::from_u16(op as u16), Some(op));
        }
        assert_eq!(Op::from_u16(23), None);
    }

    fn stream_name() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_.é-]{1,40}"
    }

    fn resharding_request() -> impl Strategy<Value = Request> {
        prop_oneof![
            (stream_name(), any::<u32>(), any::<u128>()).prop_map(
                |(stream, shard, new_starting_hash_key)| {
                    Request::SplitShard(SplitShard {
                        stream,
                        shard,
                        new_starting_hash_key,
                    })
                }
            ),
            (stream_name(), any::<u32>(), any::<u32>()).prop_map(
                |(stream, shard, adjacent_shard)| {
                    Request::MergeShards(MergeShards {
                        stream,
                        shard,
                        adjacent_shard,
                    })
                }
            ),
        ]
    }

    fn resharding_response() -> impl Strategy<Value = Response> {
        prop_oneof![
            any::<[u32; 2]>()
                .prop_map(|children| Response::SplitShardOk(SplitShardOk { children })),
            any::<u32>().prop_map(|child| Response::MergeShardsOk(MergeShardsOk { child })),
        ]
    }

    /// The body of a whole frame, after checking its header.
    fn body_of(frame: &[u8], kind: Kind, request_id: u32, op: Op) -> &[u8] {
        let (header, size) = decode_frame(frame, FRAME_BYTES_MAX)
            .expect("valid frame")
            .expect("whole frame");
        assert_eq!(size, frame.len());
        assert_eq!(
            (header.kind, header.request_id, header.op),
            (kind, request_id, op as u16)
        );
        frame.get(FRAME_HEADER_SIZE..).expect("a body")
    }

    proptest! {
        #[test]
        fn resharding_requests_round_trip_and_reject_truncation(
            request in resharding_request(),
            request_id in any::<u32>(),
            extra in any::<u8>(),
        ) {
            let mut frame = BytesMut::new();
            request.encode_frame(request_id, &mut frame);
            prop_assert_eq!(frame.len(), FRAME_HEADER_SIZE + request.encoded_size());
            let body = body_of(&frame, Kind::Request, request_id, request.op());
            prop_assert_eq!(Request::decode(request.op() as u16, body)?, request.clone());
            for cut in 0..body.len() {
                let truncated = body.get(..cut).unwrap_or_default();
                prop_assert!(Request::decode(request.op() as u16, truncated).is_err());
            }
            let mut longer = body.to_vec();
            longer.push(extra);
            let error = Request::decode(request.op() as u16, &longer).unwrap_err();
            prop_assert!(matches!(error, DecodeError::TrailingBytes { count: 1, .. }), "{}", error);
        }

        #[test]
        fn resharding_responses_round_trip_and_reject_truncation(
            response in resharding_response(),
            request_id in any::<u32>(),
        ) {
            let mut frame = BytesMut::new();
            response.encode_frame(request_id, &mut frame);
            prop_assert_eq!(frame.len(), FRAME_HEADER_SIZE + response.encoded_size());
            let body = body_of(&frame, Kind::Response, request_id, response.op());
            prop_assert_eq!(Response::decode(response.op() as u16, body)?, response.clone());
            for cut in 0..body.len() {
                let truncated = body.get(..cut).unwrap_or_default();
                prop_assert!(Response::decode(response.op() as u16, truncated).is_err());
            }
        }
    }

    /// The byte layouts `protocol/README.md` documents for the resharding operations.
    #[test]
    fn resharding_bodies_have_the_documented_layout() {
        let mut body = BytesMut::new();
        SplitShard {
            stream: "ab".into(),
            shard: 3,
            new_starting_hash_key: 1 << 127,
        }
        .encode(&mut body);
        let mut expected = vec![2, 0, b'a', b'b', 3, 0, 0, 0];
        expected.extend_from_slice(&(1u128 << 127).to_le_bytes());
        assert_eq!(body.as_ref(), expected.as_slice());

        body.clear();
        MergeShards {
            stream: "ab".into(),
            shard: 1,
            adjacent_shard: 0x0102,
        }
        .encode(&mut body);
        assert_eq!(body.as_ref(), &[2, 0, b'a', b'b', 1, 0, 0, 0, 2, 1, 0, 0]);

        body.clear();
        SplitShardOk { children: [4, 5] }.encode(&mut body);
        assert_eq!(body.as_ref(), &[4, 0, 0, 0, 5, 0, 0, 0]);
        body.clear();
        MergeShardsOk { child: 6 }.encode(&mut body);
        assert_eq!(body.as_ref(), &[6, 0, 0, 0]);
    }

    #[test]
    fn resharding_requests_enforce_the_stream_name_limits() {
        for stream in [String::new(), "x".repeat(129)] {
            let mut body = BytesMut::new();
            SplitShard {
                stream: stream.clone(),
                shard: 0,
                new_starting_hash_key: 1,
            }
            .encode(&mut body);
            assert!(matches!(
                SplitShard::decode(&body),
                Err(DecodeError::LengthOutOfRange { .. })
            ));
            body.clear();
            MergeShards {
                stream,
                shard: 0,
                adjacent_shard: 1,
            }
            .encode(&mut body);
            assert!(matches!(
                MergeShards::decode(&body),
                Err(DecodeError::LengthOutOfRange { .. })
            ));
        }
    }
}
