//! Any bytes: frame and body decoding return a value, `Ok(None)` or an error, never panic,
//! and a found frame lies inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::native::{FRAME_BYTES_MAX, FRAME_HEADER_SIZE, Request, Response, decode_frame};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((header, frame_size))) = decode_frame(data, FRAME_BYTES_MAX) {
        assert!(frame_size <= data.len());
        assert_eq!(frame_size, header.frame_size());
        let body = data.get(FRAME_HEADER_SIZE..frame_size).expect("frame inside input");
        let _ = Request::decode(header.op, body);
        let _ = Response::decode(header.op, body);
    }
    // Bodies on their own, with the op taken from the first two bytes.
    // The shared decoders (what the server and client use) must agree with the copying ones.
    if let Some((op, body)) = data.split_first_chunk::<2>() {
        let op = u16::from_le_bytes(*op);
        let shared = bytes::Bytes::copy_from_slice(body);
        assert_eq!(Request::decode(op, body), Request::decode_shared(op, &shared));
        assert_eq!(Response::decode(op, body), Response::decode_shared(op, &shared));
    }
});
