//! The MD5 digests SQS returns and the SDKs check (Java, .NET, Ruby and Kotlin verify them;
//! a mismatch fails the call on the client).
//!
//! # Byte layout of the attribute digest
//!
//! Attributes are taken in ascending byte order of their names (all names are ASCII), and
//! each contributes:
//!
//! ```text
//! u32be(len(name))      name bytes (UTF-8)
//! u32be(len(DataType))  DataType bytes, custom suffix included ("Number.float")
//! one of, by which value is present, in this order:
//!   0x01 u32be(len) StringValue bytes              String*, Number*
//!   0x02 u32be(len) BinaryValue bytes (decoded)    Binary*
//!   0x03 (u32be(len) bytes) per StringListValues   reserved list types
//!   0x04 (u32be(len) bytes) per BinaryListValues
//! ```
//!
//! The digest is the lowercase hex MD5 of the concatenation. With no attribute there is no
//! digest: the member is omitted rather than sent as the MD5 of nothing.

use std::collections::BTreeMap;

use ::md5::{Digest as _, Md5};

use super::shapes::MessageAttributeValue;

const STRING: u8 = 1;
const BINARY: u8 = 2;
const STRING_LIST: u8 = 3;
const BINARY_LIST: u8 = 4;

/// Lowercase hex MD5 of `bytes`.
pub fn md5_hex(bytes: &[u8]) -> String {
    digest_hex(&Md5::digest(bytes).into())
}

/// An MD5 digest as the 32 lowercase hex digits the wire carries.
pub fn digest_hex(digest: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(32);
    for byte in digest {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text
}

/// `MD5OfMessageBody` / `MD5OfBody`: the hex MD5 of the body's UTF-8 bytes.
pub fn md5_of_body(body: &str) -> String {
    md5_hex(body.as_bytes())
}

/// `MD5OfMessageAttributes` (and, over the system attributes, `MD5OfMessageSystemAttributes`):
/// `None` when `attributes` is empty.
pub fn md5_of_attributes(attributes: &BTreeMap<String, MessageAttributeValue>) -> Option<String> {
    md5_of_attribute_iter(
        attributes
            .iter()
            .map(|(name, value)| (name.as_str(), value)),
    )
}

/// [`md5_of_attributes`] over any `(name, value)` pairs (e.g. the attributes a receive's
/// `MessageAttributeNames` filter kept); they are sorted here.
pub fn md5_of_attribute_iter<'a>(
    attributes: impl IntoIterator<Item = (&'a str, &'a MessageAttributeValue)>,
) -> Option<String> {
    let mut sorted: Vec<_> = attributes.into_iter().collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_unstable_by(|(left, _), (right, _)| left.as_bytes().cmp(right.as_bytes()));
    let mut digest = Md5::new();
    for (name, value) in sorted {
        length_prefixed(&mut digest, name.as_bytes());
        length_prefixed(&mut digest, value.data_type.as_bytes());
        if let Some(text) = &value.string_value {
            digest.update([STRING]);
            length_prefixed(&mut digest, text.as_bytes());
        } else if let Some(binary) = &value.binary_value {
            digest.update([BINARY]);
            length_prefixed(&mut digest, &binary.0);
        } else if !value.string_list_values.is_empty() {
            digest.update([STRING_LIST]);
            for text in &value.string_list_values {
                length_prefixed(&mut digest, text.as_bytes());
            }
        } else if !value.binary_list_values.is_empty() {
            digest.update([BINARY_LIST]);
            for binary in &value.binary_list_values {
                length_prefixed(&mut digest, &binary.0);
            }
        }
    }
    Some(digest_hex(&digest.finalize().into()))
}

fn length_prefixed(digest: &mut Md5, bytes: &[u8]) {
    // Lengths are bounded by the message size limit (1 MiB), far below u32::MAX; saturate
    // rather than wrap if a caller ever hashes something larger.
    let length = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    digest.update(length.to_be_bytes());
    digest.update(bytes);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use bytes::Bytes;

    use super::*;
    use crate::aws::body::Blob;

    fn number(value: &str) -> MessageAttributeValue {
        MessageAttributeValue {
            string_value: Some(value.to_owned()),
            data_type: "Number".to_owned(),
            ..MessageAttributeValue::default()
        }
    }

    fn one(name: &str, value: MessageAttributeValue) -> BTreeMap<String, MessageAttributeValue> {
        BTreeMap::from([(name.to_owned(), value)])
    }

    #[test]
    fn body_digests() {
        assert_eq!(md5_of_body("hello"), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(md5_of_body("derp"), "58fd9edd83341c29f1aebba81c31e257");
        assert_eq!(
            digest_hex(&[
                0x00, 0x01, 0x0a, 0x0f, 0x10, 0x7f, 0x80, 0xa5, 0xf0, 0xff, 0x12, 0x34, 0x56, 0x78,
                0x9a, 0xbc
            ]),
            "00010a0f107f80a5f0ff123456789abc"
        );
    }

    /// The vectors of the reference (§1.6), checked against AWS.
    #[test]
    fn attribute_digests_match_aws() {
        assert_eq!(
            md5_of_attributes(&one("SOME_Valid.attribute-Name", number("1493147359900"))).unwrap(),
            "36655e7e9d7c0e8479fa3f3f42247ae7"
        );
        assert_eq!(
            md5_of_attributes(&one("timestamp", number("1493147359900"))).unwrap(),
            "235c5c510d26fb653d073faed50ae77c"
        );
        assert_eq!(
            md5_of_attributes(&one("timestamp", number("1493147359901"))).unwrap(),
            "994258b45346a2cc3f9cbb611aa7af30"
        );
    }

    #[test]
    fn no_attributes_means_no_digest() {
        assert_eq!(md5_of_attributes(&BTreeMap::new()), None);
    }

    /// The encoding spelled out byte by byte, for a string and a binary attribute: names
    /// sorted, transport bytes 1 and 2, binary hashed decoded.
    #[test]
    fn encoding_is_sorted_length_prefixed_big_endian() {
        let mut attributes = one(
            "b",
            MessageAttributeValue {
                binary_value: Some(Blob(Bytes::from_static(b"\x00\xff"))),
                data_type: "Binary".to_owned(),
                ..MessageAttributeValue::default()
            },
        );
        attributes.insert(
            "a".to_owned(),
            MessageAttributeValue {
                string_value: Some("x".to_owned()),
                data_type: "String.custom".to_owned(),
                ..MessageAttributeValue::default()
            },
        );
        let mut expected = Vec::new();
        expected.extend_from_slice(
            b"\x00\x00\x00\x01a\x00\x00\x00\x0dString.custom\x01\x00\x00\x00\x01x",
        );
        expected.extend_from_slice(
            b"\x00\x00\x00\x01b\x00\x00\x00\x06Binary\x02\x00\x00\x00\x02\x00\xff",
        );
        assert_eq!(md5_of_attributes(&attributes).unwrap(), md5_hex(&expected));
    }

    #[test]
    fn list_values_use_transport_bytes_three_and_four() {
        let strings = one(
            "l",
            MessageAttributeValue {
                string_list_values: vec!["p".to_owned(), "qr".to_owned()],
                data_type: "String".to_owned(),
                ..MessageAttributeValue::default()
            },
        );
        let expected =
            b"\x00\x00\x00\x01l\x00\x00\x00\x06String\x03\x00\x00\x00\x01p\x00\x00\x00\x02qr";
        assert_eq!(md5_of_attributes(&strings).unwrap(), md5_hex(expected));
        let binaries = one(
            "l",
            MessageAttributeValue {
                binary_list_values: vec![Blob(Bytes::from_static(b"\x01"))],
                data_type: "Binary".to_owned(),
                ..MessageAttributeValue::default()
            },
        );
        let expected = b"\x00\x00\x00\x01l\x00\x00\x00\x06Binary\x04\x00\x00\x00\x01\x01";
        assert_eq!(md5_of_attributes(&binaries).unwrap(), md5_hex(expected));
    }
}
