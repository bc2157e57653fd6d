//! Any bytes: `eventstream::decode` returns a message, `Ok(None)` or an error, and never
//! panics. A decoded message lies inside the input, and it re-encodes to exactly the bytes it
//! was decoded from.
//!
//! A random input almost never passes the prelude CRC, so the first byte picks a mode. When
//! it is odd, the target rewrites `total_len` to the input's length and recomputes both CRCs
//! before decoding. That lets the fuzzer reach the length checks and the header parser. In
//! that mode a CRC error or `Ok(None)` is itself a bug.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use protocol::aws::eventstream::{
    self, EventStreamError, MAX_MESSAGE_LEN, MESSAGE_CRC_LEN, MESSAGE_OVERHEAD, PRELUDE_LEN,
};

fn check(data: &[u8]) -> Result<Option<usize>, EventStreamError> {
    let Some((message, len)) = eventstream::decode(data)? else {
        return Ok(None);
    };
    assert!(len <= data.len());
    assert_eq!(len, message.encoded_size());
    let mut out = BytesMut::new();
    message
        .encode(&mut out)
        .expect("a decoded message has a valid encoding");
    assert_eq!(Some(&out[..]), data.get(..len), "re-encoding differs");
    Ok(Some(len))
}

/// Sets `total_len` to `data.len()` and writes both CRCs.
fn with_valid_crcs(data: &[u8]) -> Vec<u8> {
    let mut message = data.to_vec();
    let total_len = u32::try_from(message.len()).expect("at most MAX_MESSAGE_LEN");
    message[..4].copy_from_slice(&total_len.to_be_bytes());
    let prelude_crc = crc32fast::hash(&message[..8]);
    message[8..PRELUDE_LEN].copy_from_slice(&prelude_crc.to_be_bytes());
    let end = message.len() - MESSAGE_CRC_LEN;
    let message_crc = crc32fast::hash(&message[..end]);
    message[end..].copy_from_slice(&message_crc.to_be_bytes());
    message
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 || rest.len() < MESSAGE_OVERHEAD || rest.len() > MAX_MESSAGE_LEN {
        let _ = check(rest);
        return;
    }
    let message = with_valid_crcs(rest);
    match check(&message) {
        Ok(Some(len)) => assert_eq!(len, message.len()),
        Ok(None) => panic!("a whole message was reported incomplete"),
        Err(
            error @ (EventStreamError::PreludeCrcMismatch { .. }
            | EventStreamError::MessageCrcMismatch { .. }),
        ) => panic!("valid CRCs were rejected: {error}"),
        Err(_) => {}
    }
});
