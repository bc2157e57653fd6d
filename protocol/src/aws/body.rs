//! The two body encodings of the AWS JSON protocols, and the field types whose encoding
//! differs between them.
//!
//! | | AWS JSON 1.1 (`application/x-amz-json-1.1`) | CBOR 1.1 (`application/x-amz-cbor-1.1`) |
//! |---|---|---|
//! | [`Blob`] | base64 string | byte string |
//! | [`Timestamp`] | number, seconds since the epoch (fraction allowed) | tag 1 + integer milliseconds (the Java SDK's form); a float is read as seconds |
//!
//! The shapes in the service modules derive serde once; [`decode`] and [`encode`] pick the
//! format. The two serde backends tell themselves apart through
//! [`serde::Serializer::is_human_readable`] (true for JSON, false for CBOR).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A request or response body encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/x-amz-json-1.1`: what boto3, the aws CLI and the JavaScript SDK send to
    /// Kinesis and Firehose (and any JSON that names no version).
    Json,
    /// `application/x-amz-json-1.0`: the same body encoding, named so by the services of that
    /// protocol version (SQS); answered with the same content type.
    Json10,
    /// `application/x-amz-cbor-1.1`: the Java SDK's default for Kinesis.
    Cbor,
}

impl Format {
    /// The format a `Content-Type` names; anything that is not CBOR is read as JSON, as the
    /// AWS endpoints do.
    pub fn from_content_type(content_type: Option<&str>) -> Self {
        match content_type {
            Some(value) if value.contains("cbor") => Self::Cbor,
            Some(value) if value.contains("x-amz-json-1.0") => Self::Json10,
            _ => Self::Json,
        }
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/x-amz-json-1.1",
            Self::Json10 => "application/x-amz-json-1.0",
            Self::Cbor => "application/x-amz-cbor-1.1",
        }
    }
}

/// Why a body could not be decoded into a request shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The bytes are not valid JSON or CBOR, or a field has the wrong type
    /// (AWS: `SerializationException`).
    #[error("{0}")]
    Serialization(String),
    /// A required member is missing (AWS: `ValidationException`).
    #[error(
        "1 validation error detected: Value null at '{0}' failed to satisfy constraint: Member must not be null"
    )]
    MissingMember(String),
}

/// Decodes a request body. An empty body reads as `{}`.
pub fn decode<T: DeserializeOwned>(format: Format, body: &[u8]) -> Result<T, BodyError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        match format {
            Format::Json | Format::Json10 => b"{}".as_slice(),
            // An empty CBOR map.
            Format::Cbor => [0xa0].as_slice(),
        }
    } else {
        body
    };
    match format {
        Format::Json | Format::Json10 => {
            serde_json::from_slice(body).map_err(|error| classify(&error.to_string()))
        }
        Format::Cbor => {
            // Read from a cursor so that what follows the first data item can be seen: a body
            // is exactly one item, as serde_json refuses trailing characters after JSON.
            let mut rest = body;
            let value =
                ciborium::from_reader(&mut rest).map_err(|error| classify(&error.to_string()))?;
            if rest.is_empty() {
                Ok(value)
            } else {
                Err(BodyError::Serialization(format!(
                    "trailing bytes after the CBOR data item at offset {}",
                    body.len() - rest.len()
                )))
            }
        }
    }
}

fn classify(message: &str) -> BodyError {
    if let Some(rest) = message.strip_prefix("missing field `").or_else(|| {
        message
            .find("missing field `")
            .and_then(|at| message.get(at + "missing field `".len()..))
    }) {
        let field = rest.split('`').next().unwrap_or_default();
        // AWS names members in camelCase in validation messages.
        let mut chars = field.chars();
        let camel = match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => String::new(),
        };
        return BodyError::MissingMember(camel);
    }
    BodyError::Serialization(message.to_owned())
}

/// Encodes a response body.
pub fn encode<T: Serialize>(format: Format, value: &T) -> Vec<u8> {
    match format {
        // Serializing plain structs with string keys cannot fail.
        Format::Json | Format::Json10 => {
            serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
        }
        Format::Cbor => {
            let mut out = Vec::new();
            if ciborium::into_writer(value, &mut out).is_err() {
                out = vec![0xa0];
            }
            out
        }
    }
}

/// An AWS error body: `{"__type": "...", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The exception name the SDKs map to a class, e.g. `ResourceNotFoundException`.
    #[serde(rename = "__type")]
    pub kind: String,
    /// Human-readable detail.
    #[serde(rename = "message", default)]
    pub message: String,
}

/// Binary data: base64 in JSON, a byte string in CBOR.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Blob(pub Bytes);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&BASE64.encode(&self.0))
        } else {
            serializer.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// `text`: borrowed bytes are a base64 string's (JSON hands them so from
        /// `deserialize_bytes`), not the data itself (CBOR).
        struct BlobVisitor {
            text: bool,
        }
        impl Visitor<'_> for BlobVisitor {
            type Value = Blob;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64 string or a byte string")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Blob, E> {
                from_base64(value.as_bytes())
            }
            fn visit_bytes<E: de::Error>(self, value: &[u8]) -> Result<Blob, E> {
                if self.text {
                    return from_base64(value);
                }
                Ok(Blob(Bytes::copy_from_slice(value)))
            }
            /// Bytes already decoded: the query protocol's deserializer decodes base64 itself
            /// (naming the parameter in its error), and CBOR's byte strings are the data.
            fn visit_byte_buf<E: de::Error>(self, value: Vec<u8>) -> Result<Blob, E> {
                Ok(Blob(Bytes::from(value)))
            }
        }
        if deserializer.is_human_readable() {
            // JSON hands a string's bytes over as they are (escapes resolved) without checking
            // them as UTF-8: base64 decoding accepts only its ASCII alphabet anyway.
            deserializer.deserialize_bytes(BlobVisitor { text: true })
        } else {
            deserializer.deserialize_any(BlobVisitor { text: false })
        }
    }
}

/// A blob from its base64 text, or the error every AWS service gives for bad base64.
fn from_base64<E: de::Error>(text: &[u8]) -> Result<Blob, E> {
    decode_base64(text)
        .map(|bytes| Blob(Bytes::from(bytes)))
        .ok_or_else(|| E::custom("Base64 encoded data is not valid"))
}

/// Standard base64 with canonical padding, as [`BASE64`] decodes it (the same inputs accepted,
/// the same bytes out), at SIMD speed: record data is most of a put's body.
fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    base64_simd::STANDARD.decode_to_vec(text).ok()
}

/// A point in time, kept in milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            // Seconds with millisecond precision, as AWS sends them (1700000000.123).
            #[allow(clippy::cast_precision_loss, reason = "epoch ms fit in f64 exactly")]
            let seconds = self.0 as f64 / 1000.0;
            serializer.serialize_f64(seconds)
        } else {
            ciborium::tag::Required::<i64, 1>(self.0).serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor {
            integers_are_ms: bool,
        }
        impl Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a timestamp (seconds since the epoch)")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Timestamp, E> {
                if self.integers_are_ms {
                    Ok(Timestamp(value))
                } else {
                    Ok(Timestamp(value.saturating_mul(1000)))
                }
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Timestamp, E> {
                self.visit_i64(i64::try_from(value).unwrap_or(i64::MAX))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Timestamp, E> {
                if !value.is_finite() {
                    return Err(E::custom("timestamp is not a finite number"));
                }
                #[allow(clippy::cast_possible_truncation, reason = "saturating float cast")]
                let ms = (value * 1000.0).round() as i64;
                Ok(Timestamp(ms))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Timestamp, E> {
                value
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| E::custom(format!("timestamp {value:?} is not a number")))
                    .and_then(|seconds| {
                        TimestampVisitor {
                            integers_are_ms: false,
                        }
                        .visit_f64(seconds)
                    })
            }
        }
        if deserializer.is_human_readable() {
            return deserializer.deserialize_any(TimestampVisitor {
                integers_are_ms: false,
            });
        }
        // CBOR: tag 1 (epoch) around an integer (milliseconds, the Java SDK's form) or a
        // float (seconds); ciborium hands tags over as values, so read one and look inside.
        let mut value = ciborium::Value::deserialize(deserializer)?;
        while let ciborium::Value::Tag(_, inner) = value {
            value = *inner;
        }
        let visitor = TimestampVisitor {
            integers_are_ms: true,
        };
        match value {
            ciborium::Value::Integer(integer) => {
                visitor.visit_i64(i64::try_from(i128::from(integer)).unwrap_or(i64::MAX))
            }
            ciborium::Value::Float(seconds) => visitor.visit_f64(seconds),
            ciborium::Value::Text(text) => visitor.visit_str(&text),
            _ => Err(de::Error::custom("expected a timestamp")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Shape {
        data: Blob,
        at: Timestamp,
        name: String,
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]
        /// The SIMD decoder accepts exactly the texts the `base64` crate's standard engine
        /// accepts (padding, trailing bits, stray characters) and gives the same bytes.
        #[test]
        fn base64_decoding_matches_the_standard_engine(
            text in "[A-Za-z0-9+/=]{0,12}|[A-Za-z0-9+/= \\n_-]{0,9}",
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        ) {
            proptest::prop_assert_eq!(decode_base64(text.as_bytes()), BASE64.decode(&text).ok());
            let encoded = BASE64.encode(&data);
            proptest::prop_assert_eq!(decode_base64(encoded.as_bytes()), Some(data));
        }
    }

    #[test]
    fn json_base64_may_be_escaped_and_anything_else_is_refused() {
        // `\u003d` is `=` and `\/` is `/`: escapes resolve before the base64 is decoded.
        let body = br#"{"Data":"aGk\u003d","At":1,"Name":"s"}"#;
        assert_eq!(
            decode::<Shape>(Format::Json, body).unwrap().data.0,
            &b"hi"[..]
        );
        let body = br#"{"Data":"\/w==","At":1,"Name":"s"}"#;
        assert_eq!(
            decode::<Shape>(Format::Json, body).unwrap().data.0,
            &[0xff][..]
        );
        for data in [
            r#""aGk""#,
            r#""a\u00e9Gk=""#,
            r#""aG k=""#,
            "5",
            "null",
            "[1]",
            "{}",
        ] {
            let body = format!(r#"{{"Data":{data},"At":1,"Name":"s"}}"#);
            assert!(
                decode::<Shape>(Format::Json, body.as_bytes()).is_err(),
                "{data}"
            );
        }
    }

    #[test]
    fn json_uses_base64_and_seconds() {
        let shape = Shape {
            data: Blob(Bytes::from_static(b"hi")),
            at: Timestamp(1_700_000_000_123),
            name: "s".into(),
        };
        let bytes = encode(Format::Json, &shape);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"Data":"aGk=","At":1700000000.123,"Name":"s"}"#
        );
        assert_eq!(decode::<Shape>(Format::Json, &bytes).unwrap(), shape);
    }

    /// The defect: a CBOR body with bytes after its one data item (two maps back to back, or
    /// garbage after the map) was decoded from its first item and the rest ignored, while the
    /// same JSON body is refused. Both formats now refuse it as a SerializationException.
    #[test]
    fn trailing_bytes_are_refused_in_both_formats() {
        let shape = Shape {
            data: Blob(Bytes::from_static(b"hi")),
            at: Timestamp(1_700_000_000_123),
            name: "s".into(),
        };
        let json = encode(Format::Json, &shape);
        let cbor = encode(Format::Cbor, &shape);
        assert_eq!(decode::<Shape>(Format::Cbor, &cbor).unwrap(), shape);
        for tail in [&[0xa0_u8][..], b"\x00", b"junk"] {
            let mut body = cbor.clone();
            body.extend_from_slice(tail);
            let error = decode::<Shape>(Format::Cbor, &body).unwrap_err();
            assert_eq!(
                error,
                BodyError::Serialization(format!(
                    "trailing bytes after the CBOR data item at offset {}",
                    cbor.len()
                ))
            );
            let mut body = json.clone();
            body.extend_from_slice(b"{}");
            assert!(matches!(
                decode::<Shape>(Format::Json, &body),
                Err(BodyError::Serialization(_))
            ));
        }
    }

    #[test]
    fn cbor_uses_byte_strings_and_tagged_milliseconds() {
        let shape = Shape {
            data: Blob(Bytes::from_static(b"\x00\xff")),
            at: Timestamp(1_700_000_000_123),
            name: "s".into(),
        };
        let bytes = encode(Format::Cbor, &shape);
        // Byte string of length 2 and tag 1.
        assert!(bytes.windows(3).any(|w| w == [0x42, 0x00, 0xff]));
        assert!(bytes.contains(&0xc1));
        assert_eq!(decode::<Shape>(Format::Cbor, &bytes).unwrap(), shape);
    }

    #[test]
    fn missing_members_are_validation_errors() {
        let error = decode::<Shape>(Format::Json, br#"{"Data":"aGk=","At":1}"#).unwrap_err();
        assert_eq!(error, BodyError::MissingMember("name".into()));
        let error = decode::<Shape>(Format::Json, b"{not json").unwrap_err();
        assert!(matches!(error, BodyError::Serialization(_)));
        let error = decode::<Shape>(Format::Cbor, &[0xff, 0x00]).unwrap_err();
        assert!(matches!(error, BodyError::Serialization(_)));
    }
}
