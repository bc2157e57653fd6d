//! Receipt handles: which receive of which message, signed so a client can neither forge nor
//! edit one.
//!
//! ```text
//! version      u8    1
//! stream id    u64   the queue's engine stream (a recreated queue has another)
//! offset       u64   the message
//! generation   u32   which receive of it (the per-message state's receive generation)
//! issued       i64   ms since the epoch, when the receive happened
//! tag          16    HMAC-SHA256 of the bytes above, truncated
//! ```
//!
//! The whole is base64url without padding. The key is the server's (kept in the log's
//! properties, so handles survive restarts).
#![deny(clippy::indexing_slicing)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::codec::Reader;

const VERSION: u8 = 1;
const BODY_BYTES: usize = 1 + 8 + 8 + 4 + 8;
const TAG_BYTES: usize = 16;
/// Longest handle string decoded (anything longer is refused before base64).
const HANDLE_CHARS_MAX: usize = 128;

/// What a receipt handle says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The queue's engine stream id.
    pub stream_id: u64,
    /// The message's offset.
    pub offset: u64,
    /// The receive generation.
    pub generation: u32,
    /// When it was issued (ms since the epoch).
    pub issued_ms: i64,
}

fn mac(key: &[u8; 32]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; 32 bytes cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("any key length"))
}

fn body(receipt: &Receipt) -> [u8; BODY_BYTES] {
    let mut body = [0u8; BODY_BYTES];
    let parts: [&[u8]; 5] = [
        &[VERSION],
        &receipt.stream_id.to_be_bytes(),
        &receipt.offset.to_be_bytes(),
        &receipt.generation.to_be_bytes(),
        &receipt.issued_ms.to_be_bytes(),
    ];
    let mut at = 0;
    for part in parts {
        if let Some(target) = body.get_mut(at..at + part.len()) {
            target.copy_from_slice(part);
        }
        at += part.len();
    }
    body
}

/// The handle string for `receipt`, signed with `key`.
#[must_use]
pub fn encode(key: &[u8; 32], receipt: &Receipt) -> String {
    let body = body(receipt);
    let mut mac = mac(key);
    mac.update(&body);
    let tag = mac.finalize().into_bytes();
    let mut bytes = Vec::with_capacity(BODY_BYTES + TAG_BYTES);
    bytes.extend_from_slice(&body);
    bytes.extend_from_slice(tag.get(..TAG_BYTES).unwrap_or(&tag));
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The receipt a handle string holds, if it is well formed and its tag verifies.
#[must_use]
pub fn decode(key: &[u8; 32], handle: &str) -> Option<Receipt> {
    if handle.len() > HANDLE_CHARS_MAX {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(handle).ok()?;
    if bytes.len() != BODY_BYTES + TAG_BYTES {
        return None;
    }
    let (body, tag) = bytes.split_at(BODY_BYTES);
    let mut mac = mac(key);
    mac.update(body);
    mac.verify_truncated_left(tag).ok()?;
    let mut reader = Reader::new("receipt handle", body);
    if reader.u8().ok()? != VERSION {
        return None;
    }
    let receipt = Receipt {
        stream_id: reader.u64().ok()?,
        offset: reader.u64().ok()?,
        generation: reader.u32().ok()?,
        issued_ms: reader.i64().ok()?,
    };
    reader.finish().ok()?;
    Some(receipt)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;

    #[test]
    fn handles_round_trip_and_refuse_edits() {
        let key = [3u8; 32];
        let receipt = Receipt {
            stream_id: 7,
            offset: 42,
            generation: 3,
            issued_ms: 1_700_000_000_000,
        };
        let handle = encode(&key, &receipt);
        assert_eq!(decode(&key, &handle), Some(receipt));
        assert_eq!(decode(&[4u8; 32], &handle), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&handle).unwrap();
        bytes[10] ^= 1;
        assert_eq!(decode(&key, &URL_SAFE_NO_PAD.encode(&bytes)), None);
        assert_eq!(decode(&key, &handle[..handle.len() - 2]), None);
        assert_eq!(decode(&key, ""), None);
        assert_eq!(decode(&key, "not base64 at all!"), None);
    }
}
