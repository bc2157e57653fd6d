//! Shard iterators: opaque, tamper-evident, expiring tokens naming a position in a shard.
//!
//! Layout before base64: version (1) · stream id (u64) · shard id (u32) · offset (u64) ·
//! issued at (i64 ms) · name length (u8) · stream name · the first 16 bytes of an HMAC-SHA256
//! of everything before it. The key lives in the log's properties, so iterators stay valid
//! across a restart (within their five minutes) and cannot be forged or edited. The stream id
//! changes when a stream is deleted and re-created, which makes old iterators fail.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const VERSION: u8 = 1;
const TAG_BYTES: usize = 16;
const FIXED_BYTES: usize = 1 + 8 + 4 + 8 + 8 + 1;

/// A decoded shard iterator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    /// The stream's engine id.
    pub stream_id: u64,
    /// The stream's name.
    pub stream: String,
    /// The shard.
    pub shard: u32,
    /// The next offset to read.
    pub offset: u64,
    /// When the iterator was issued, ms since the epoch.
    pub issued_ms: i64,
}

fn mac(key: &[u8; 32]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; 32 bytes cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("any key length"))
}

/// Encodes `position` as an iterator string signed with `key`.
pub fn encode(key: &[u8; 32], position: &Position) -> String {
    let name = position.stream.as_bytes();
    let name = name.get(..name.len().min(255)).unwrap_or_default();
    let mut bytes = Vec::with_capacity(FIXED_BYTES + name.len() + TAG_BYTES);
    bytes.push(VERSION);
    bytes.extend_from_slice(&position.stream_id.to_be_bytes());
    bytes.extend_from_slice(&position.shard.to_be_bytes());
    bytes.extend_from_slice(&position.offset.to_be_bytes());
    bytes.extend_from_slice(&position.issued_ms.to_be_bytes());
    #[allow(
        clippy::cast_possible_truncation,
        reason = "at most 255 by the slice above"
    )]
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    let mut mac = mac(key);
    mac.update(&bytes);
    let tag = mac.finalize().into_bytes();
    bytes.extend_from_slice(tag.get(..TAG_BYTES).unwrap_or_default());
    BASE64.encode(bytes)
}

fn take<const N: usize>(bytes: &[u8], at: &mut usize) -> Option<[u8; N]> {
    let field = bytes.get(*at..*at + N)?;
    *at += N;
    field.try_into().ok()
}

/// Decodes and authenticates an iterator; `None` if it is malformed or was not signed with
/// `key` (forged, edited or truncated).
pub fn decode(key: &[u8; 32], token: &str) -> Option<Position> {
    if token.len() > 512 {
        return None;
    }
    let bytes = BASE64.decode(token).ok()?;
    let signed_len = bytes.len().checked_sub(TAG_BYTES)?;
    let (signed, tag) = (bytes.get(..signed_len)?, bytes.get(signed_len..)?);
    let mut mac = mac(key);
    mac.update(signed);
    mac.verify_truncated_left(tag).ok()?;
    let mut at = 0;
    let [version] = take::<1>(signed, &mut at)?;
    if version != VERSION {
        return None;
    }
    let stream_id = u64::from_be_bytes(take(signed, &mut at)?);
    let shard = u32::from_be_bytes(take(signed, &mut at)?);
    let offset = u64::from_be_bytes(take(signed, &mut at)?);
    let issued_ms = i64::from_be_bytes(take(signed, &mut at)?);
    let [name_len] = take::<1>(signed, &mut at)?;
    let name = signed.get(at..at + usize::from(name_len))?;
    if at + usize::from(name_len) != signed.len() {
        return None;
    }
    Some(Position {
        stream_id,
        stream: String::from_utf8(name.to_vec()).ok()?,
        shard,
        offset,
        issued_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_tampering() {
        let key = [7u8; 32];
        let position = Position {
            stream_id: 3,
            stream: "clicks".into(),
            shard: 2,
            offset: 99,
            issued_ms: 1_700_000_000_000,
        };
        let token = encode(&key, &position);
        assert!(token.len() <= 512);
        assert_eq!(decode(&key, &token), Some(position.clone()));
        assert_eq!(decode(&[8u8; 32], &token), None);
        let mut bytes = BASE64.decode(&token).unwrap_or_default();
        if let Some(byte) = bytes.get_mut(14) {
            *byte ^= 1;
        }
        assert_eq!(decode(&key, &BASE64.encode(&bytes)), None);
        assert_eq!(decode(&key, "not base64!"), None);
        assert_eq!(decode(&key, ""), None);
        assert_eq!(decode(&key, &token[..token.len() - 4]), None);
    }
}
