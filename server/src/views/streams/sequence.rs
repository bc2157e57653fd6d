//! Sequence numbers: decimal strings that grow within a shard and from parents to children.
//!
//! A sequence number is `(shard id + 1) · 2^64 + offset`, printed in decimal. Offsets grow
//! within a shard; a child's shard id is larger than its parents' and its offsets continue
//! after theirs, so every child sequence number is larger than every parent one. The shard
//! id inside lets a sequence number given for the wrong shard be refused.

/// The sequence number of `offset` in shard `shard`.
pub fn encode(shard: u32, offset: u64) -> String {
    value(shard, offset).to_string()
}

fn value(shard: u32, offset: u64) -> u128 {
    (u128::from(shard) + 1) << 64 | u128::from(offset)
}

/// Appends [`encode`]'s digits to `out`, with no string in between.
pub fn write(shard: u32, offset: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(value(shard, offset)).as_bytes());
}

/// The shard id and offset of a sequence number, or `None` if it is not one of ours.
pub fn decode(sequence: &str) -> Option<(u32, u64)> {
    if sequence.is_empty() || sequence.len() > 39 || !sequence.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u128 = sequence.parse().ok()?;
    let shard = u32::try_from((value >> 64).checked_sub(1)?).ok()?;
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the low 64 bits are the offset"
    )]
    let offset = value as u64;
    Some((shard, offset))
}

/// `shardId-000000000007`.
pub fn shard_name(shard: u32) -> String {
    format!("shardId-{shard:012}")
}

/// Appends [`shard_name`] to `out`, with no string in between.
pub fn write_shard_name(shard: u32, out: &mut Vec<u8>) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(shard).as_bytes();
    out.extend_from_slice(b"shardId-");
    out.extend(std::iter::repeat_n(
        b'0',
        12usize.saturating_sub(digits.len()),
    ));
    out.extend_from_slice(digits);
}

/// The shard id in `shardId-000000000007` (also accepted: `shardId-7`, `7`).
pub fn parse_shard_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("shardId-").unwrap_or(name);
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_encode_and_shard_name_answer() {
        for (shard, offset) in [(0, 0), (7, 123), (u32::MAX, u64::MAX), (999_999, 1 << 40)] {
            let mut out = Vec::new();
            write(shard, offset, &mut out);
            assert_eq!(out, encode(shard, offset).into_bytes());
            out.clear();
            write_shard_name(shard, &mut out);
            assert_eq!(out, shard_name(shard).into_bytes());
        }
    }

    #[test]
    fn round_trips_and_orders() {
        assert_eq!(decode(&encode(0, 0)), Some((0, 0)));
        assert_eq!(decode(&encode(7, u64::MAX)), Some((7, u64::MAX)));
        let parent: u128 = encode(1, 500).parse().unwrap_or_default();
        let child: u128 = encode(3, 0).parse().unwrap_or_default();
        assert!(child > parent);
        assert_eq!(decode("0"), None);
        assert_eq!(decode("12x"), None);
        assert_eq!(decode("999999999999999999999999999999999999999999"), None);
        assert_eq!(shard_name(12), "shardId-000000000012");
        assert_eq!(parse_shard_name("shardId-000000000012"), Some(12));
        assert_eq!(parse_shard_name("shardId-x"), None);
    }
}
