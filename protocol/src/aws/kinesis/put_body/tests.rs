#![allow(clippy::indexing_slicing)]

use proptest::prelude::*;

use super::*;
use crate::aws::body::{self, Format};
use crate::aws::kinesis::PutRecordsInput;

/// What serde makes of `body`, where it accepts it.
fn serde(body: &[u8]) -> Option<PutRecordsInput> {
    body::decode::<PutRecordsInput>(Format::Json, body).ok()
}

/// The body read in place, with every record's data decoded, where the reader accepts it.
fn fast(body: &[u8]) -> Option<(PutRecordsBody<'_>, Vec<Vec<u8>>)> {
    let parsed = PutRecordsBody::parse(body)?;
    let mut data = Vec::new();
    for record in &parsed.records {
        let mut out = vec![0; record.data_len];
        if !record.decode_data(&mut out) {
            return None;
        }
        data.push(out);
    }
    Some((parsed, data))
}

/// Whatever the reader accepts, serde accepts and reads the same way.
fn agrees(body: &[u8]) {
    let Some((parsed, data)) = fast(body) else {
        return;
    };
    let input = serde(body).unwrap_or_else(|| {
        panic!(
            "read in place but refused by serde: {}",
            String::from_utf8_lossy(body)
        )
    });
    assert_eq!(parsed.stream(), input.stream);
    assert_eq!(parsed.records.len(), input.records.len());
    for ((record, data), expected) in parsed.records.iter().zip(&data).zip(&input.records) {
        assert_eq!(record.partition_key, expected.partition_key);
        assert_eq!(
            record.explicit_hash_key,
            expected.explicit_hash_key.as_deref()
        );
        assert_eq!(&data[..], &expected.data.0[..]);
    }
}

#[test]
fn reads_the_sdks_shape() {
    let body = br#"{"Records":[{"Data":"aGVsbG8=","PartitionKey":"k1"},{"PartitionKey":"k2","ExplicitHashKey":"7","Data":""}],"StreamName":"s"}"#;
    let (parsed, data) = fast(body).unwrap();
    assert_eq!(parsed.stream_name, Some("s"));
    assert_eq!(parsed.records[0].partition_key, "k1");
    assert_eq!(parsed.records[1].explicit_hash_key, Some("7"));
    assert_eq!(data, vec![b"hello".to_vec(), Vec::new()]);
    agrees(body);
    // Room of any other size than the data's is refused, not written past.
    assert!(!parsed.records[0].decode_data(&mut [0; 4]));
    assert!(!parsed.records[0].decode_data(&mut [0; 6]));
    let spaced = b" {\n \"StreamARN\" : \"arn\" ,\t\"Records\" : [ { \"Data\" : \"eA==\" , \"PartitionKey\" : \"\xc3\xa9\" } ] }\r\n";
    let (parsed, data) = fast(spaced).unwrap();
    assert_eq!(parsed.stream_arn, Some("arn"));
    assert_eq!(parsed.records[0].partition_key, "é");
    assert_eq!(data, vec![b"x".to_vec()]);
    agrees(spaced);
}

#[test]
fn leaves_everything_else_to_serde() {
    for body in [
        &br#""#[..],
        br#"{}"#,
        br#"{"StreamName":"s"}"#,
        br#"{"StreamName":"s","Records":[]}  x"#,
        br#"{"StreamName":"s\n","Records":[]}"#,
        br#"{"StreamName":null,"Records":[]}"#,
        br#"{"StreamName":"a","StreamName":"b","Records":[]}"#,
        br#"{"StreamName":"s","Records":[],"Records":[]}"#,
        br#"{"StreamName":"s","Other":1,"Records":[]}"#,
        br#"{"StreamName":"s","Records":[{"Data":"eA==","PartitionKey":"k","Extra":"x"}]}"#,
        br#"{"StreamName":"s","Records":[{"Data":"eA==","PartitionKey":"k\u0041"}]}"#,
        br#"{"StreamName":"s","Records":[{"Data":"eA=","PartitionKey":"k"}]}"#,
        br#"{"StreamName":"s","Records":[{"Data":"eA==","PartitionKey":"k","ExplicitHashKey":null}]}"#,
        br#"{"StreamName":"s","Records":[{"PartitionKey":"k"}]}"#,
        br#"{"StreamName":"s","Records":[{"Data":"eA=="}]}"#,
        br#"{"StreamName":"s","Records":[{"Data":"eA==","PartitionKey":"k"},]}"#,
        br#"{"StreamName":"s","Records":[{"Data":"eA==","PartitionKey":"k"}],}"#,
        br#"{"StreamName":"s","Records":{"Data":"eA=="}}"#,
    ] {
        assert!(
            PutRecordsBody::parse(body).is_none(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    // Escaped data is read as it came and then fails to decode, so serde reads it.
    let escaped = br#"{"StreamName":"s","Records":[{"Data":"a\/8=","PartitionKey":"k"}]}"#;
    assert!(fast(escaped).is_none());
    assert_eq!(serde(escaped).unwrap().records[0].data.0[..], [0x6b, 0xff]);
}

/// A JSON string value: plain text mostly, sometimes an escape, a control character or
/// something that is not a string at all.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        24 => "[a-zA-Z0-9_.:/-]{0,12}".prop_map(|text| format!("\"{text}\"")),
        1 => "[a-z]{0,3}".prop_map(|text| format!("\"{text}\\u0041\"")),
        1 => "[a-z]{0,3}".prop_map(|text| format!("\"{text}\\\"\"")),
        1 => Just("\"\u{e9}\u{1F600}\"".to_owned()),
        1 => Just("\"a\tb\"".to_owned()),
        1 => Just("null".to_owned()),
        1 => Just("12".to_owned()),
    ]
}

/// Record data: base64 of some bytes, sometimes damaged or escaped.
fn data() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(any::<u8>(), 0..80),
        0..24u8,
        any::<prop::sample::Index>(),
    )
        .prop_map(|(bytes, damage, at)| {
            let mut text =
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
            let spot = if text.is_empty() {
                0
            } else {
                at.index(text.len())
            };
            match damage {
                0 => text.insert(spot, '='),
                1 if !text.is_empty() => {
                    text.remove(spot);
                }
                2 => text.insert_str(spot, "\\/"),
                3 => text.insert(spot, '*'),
                4 => text = text.replace('/', "\\/"),
                _ => {}
            }
            format!("\"{text}\"")
        })
}

/// Whitespace serde_json skips, or none.
fn space() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => Just(""), 1 => Just(" "), 1 => Just("\n\t "), 1 => Just("\r")]
}

/// A member `"key":value` with whitespace around its parts.
fn member(key: &str, value: String, spaces: [&str; 3]) -> String {
    format!("{}\"{key}\"{}:{}{value}", spaces[0], spaces[1], spaces[2])
}

fn entry() -> impl Strategy<Value = String> {
    (
        data(),
        value(),
        proptest::option::of(value()),
        0..12u8,
        proptest::array::uniform3(space()),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(data, key, hash, oddity, spaces, at)| {
            let mut members = vec![
                member("Data", data, spaces),
                member("PartitionKey", key, spaces),
            ];
            if let Some(hash) = hash {
                members.push(member("ExplicitHashKey", hash, spaces));
            }
            match oddity {
                0 => members.push(member("Unknown", "\"x\"".into(), spaces)),
                1 => members.push(members[0].clone()),
                2 => {
                    members.remove(at.index(members.len()));
                }
                _ => {}
            }
            let len = members.len();
            members.rotate_left(at.index(len.max(1)).min(len));
            format!("{{{}}}", members.join(","))
        })
}

fn put_body() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(entry(), 0..5),
        proptest::option::of(value()),
        proptest::option::of(value()),
        0..8u8,
        proptest::array::uniform3(space()),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(entries, name, arn, oddity, spaces, at)| {
            let mut members = vec![member(
                "Records",
                format!("[{}{}]", entries.join(","), spaces[0]),
                spaces,
            )];
            if let Some(name) = name {
                members.push(member("StreamName", name, spaces));
            }
            if let Some(arn) = arn {
                members.push(member("StreamARN", arn, spaces));
            }
            match oddity {
                0 => members.push(member("StreamId", "\"id\"".into(), spaces)),
                1 => members.push(members[0].clone()),
                2 => members.push(member("Other", "[]".into(), spaces)),
                _ => {}
            }
            let len = members.len();
            members.rotate_left(at.index(len));
            let trailer = if oddity == 3 { " x" } else { spaces[1] };
            format!("{}{{{}}}{trailer}", spaces[2], members.join(","))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn what_it_reads_serde_reads_the_same(body in put_body()) {
        agrees(body.as_bytes());
    }

    #[test]
    fn it_reads_every_body_serde_writes_of_plain_records(
        records in proptest::collection::vec(
            (
                proptest::collection::vec(any::<u8>(), 0..200),
                "[a-zA-Z0-9 _.-]{1,20}",
                proptest::option::of("[0-9]{1,39}"),
            ),
            1..20,
        ),
        name in "[a-zA-Z0-9_.-]{1,40}",
    ) {
        let records: Vec<serde_json::Value> = records
            .into_iter()
            .map(|(data, key, hash)| {
                let mut record = serde_json::json!({
                    "Data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, data),
                    "PartitionKey": key,
                });
                if let Some(hash) = hash {
                    record["ExplicitHashKey"] = hash.into();
                }
                record
            })
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({"StreamName": name, "Records": records}))
            .unwrap_or_default();
        prop_assert!(fast(&body).is_some());
        agrees(&body);
    }
}
