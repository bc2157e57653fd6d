//! Receipt handles of stream queues: which delivery of which record of which queue, signed so
//! a client can neither forge nor edit one.
//!
//! ```text
//! version      u8    1
//! kind         u8    0: a ReceiveQueueRecords delivery, 1: a dead-letter delivery
//! queue        u64   the queue's engine stream id (a recreated queue has another)
//! shard        u32   the stream's shard
//! offset       u64   the record's offset in that shard
//! generation   u32   which delivery of it (the mark's receipt generation)
//! issued       i64   ms since the epoch, when the receive happened
//! tag          16    HMAC-SHA256 of the bytes above, truncated
//! ```
//!
//! The whole is base64url without padding. The key is the server's, kept in the log's
//! properties apart from the SQS view's, so neither view honours the other's handles.
#![deny(clippy::indexing_slicing)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const VERSION: u8 = 1;
const BODY_BYTES: usize = 1 + 1 + 8 + 4 + 8 + 4 + 8;
const TAG_BYTES: usize = 16;
/// Longest handle string decoded (anything longer is refused before base64).
const HANDLE_CHARS_MAX: usize = 128;

/// What a receipt handle says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Issued by a dead-letter receive.
    pub dead_letter: bool,
    /// The queue's engine stream id.
    pub queue: u64,
    /// The stream's shard.
    pub shard: u32,
    /// The record's offset.
    pub offset: u64,
    /// The delivery's generation.
    pub generation: u32,
    /// When it was issued (ms since the epoch).
    pub issued_ms: i64,
}

fn mac(key: &[u8; 32]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; 32 bytes cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("any key length"))
}

fn body(receipt: &Receipt) -> Vec<u8> {
    let mut body = Vec::with_capacity(BODY_BYTES);
    body.push(VERSION);
    body.push(u8::from(receipt.dead_letter));
    body.extend_from_slice(&receipt.queue.to_be_bytes());
    body.extend_from_slice(&receipt.shard.to_be_bytes());
    body.extend_from_slice(&receipt.offset.to_be_bytes());
    body.extend_from_slice(&receipt.generation.to_be_bytes());
    body.extend_from_slice(&receipt.issued_ms.to_be_bytes());
    body
}

/// The handle string for `receipt`, signed with `key`.
#[must_use]
pub fn encode(key: &[u8; 32], receipt: &Receipt) -> String {
    let mut bytes = body(receipt);
    let mut mac = mac(key);
    mac.update(&bytes);
    let tag = mac.finalize().into_bytes();
    bytes.extend_from_slice(tag.get(..TAG_BYTES).unwrap_or(&tag));
    URL_SAFE_NO_PAD.encode(bytes)
}

fn take<const N: usize>(bytes: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = bytes.split_first_chunk::<N>()?;
    *bytes = rest;
    Some(*head)
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
    let mut rest = body;
    let [version] = take::<1>(&mut rest)?;
    let [kind] = take::<1>(&mut rest)?;
    if version != VERSION || kind > 1 {
        return None;
    }
    Some(Receipt {
        dead_letter: kind == 1,
        queue: u64::from_be_bytes(take(&mut rest)?),
        shard: u32::from_be_bytes(take(&mut rest)?),
        offset: u64::from_be_bytes(take(&mut rest)?),
        generation: u32::from_be_bytes(take(&mut rest)?),
        issued_ms: i64::from_be_bytes(take(&mut rest)?),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;

    #[test]
    fn handles_round_trip_and_refuse_edits() {
        let key = [3u8; 32];
        let receipt = Receipt {
            dead_letter: true,
            queue: 7,
            shard: 2,
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
