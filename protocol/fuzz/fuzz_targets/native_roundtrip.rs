//! Any body that decodes re-encodes to exactly the same bytes (the encoding is canonical),
//! and decoding those bytes gives the same value.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use protocol::native::{Request, Response};

fuzz_target!(|data: &[u8]| {
    let Some((op, body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let op = u16::from_le_bytes(*op);
    if let Ok(request) = Request::decode(op, body) {
        let mut out = BytesMut::new();
        request.encode(&mut out);
        assert_eq!(out.len(), request.encoded_size());
        assert_eq!(&out[..], body);
        assert_eq!(Request::decode(op, &out).as_ref(), Ok(&request));
    }
    if let Ok(response) = Response::decode(op, body) {
        let mut out = BytesMut::new();
        response.encode(&mut out);
        assert_eq!(out.len(), response.encoded_size());
        assert_eq!(&out[..], body);
        assert_eq!(Response::decode(op, &out).as_ref(), Ok(&response));
    }
});
