// Tests index fixtures they built themselves; the decoders above are the ones kept panic-free.
#![allow(clippy::indexing_slicing)]

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;

fn sample() -> Vec<NewRecord> {
    vec![
        NewRecord::new("k1", "hello"),
        NewRecord {
            key: Bytes::from_static(b"key-two"),
            hash_key: Some(u128::MAX - 7),
            attributes: Bytes::from_static(b"attr"),
            data: Bytes::new(),
        },
    ]
}

#[test]
fn batch_round_trips() {
    let mut out = BytesMut::new();
    encode_batch(&mut out, 42, 1_700_000_000_000, &sample());
    assert_eq!(out.len(), batch_len(&sample()));
    let header = decode_batch(&out).unwrap();
    assert_eq!(header.base_offset, 42);
    assert_eq!(header.record_count, 2);
    assert_eq!(header.next_offset(), 44);
    let records: Vec<Record> = Records::new(&header, out.freeze())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(records[0].offset, 42);
    assert_eq!(&records[0].data[..], b"hello");
    assert_eq!(records[1].hash_key, Some(u128::MAX - 7));
    assert_eq!(&records[1].attributes[..], b"attr");
    assert_eq!(records[1].timestamp_ms, 1_700_000_000_000);
}

#[test]
fn zero_length_is_end_of_segment() {
    assert_eq!(decode_batch(&[0u8; 64]), Err(DecodeError::End));
}

#[test]
fn short_input_is_incomplete_not_corrupt() {
    let mut out = BytesMut::new();
    encode_batch(&mut out, 0, 1, &sample());
    for cut in [3, 10, BATCH_HEADER_LEN, out.len() - 1] {
        assert!(
            matches!(
                decode_batch(&out[..cut]),
                Err(DecodeError::Incomplete { .. })
            ),
            "cut at {cut}"
        );
    }
}

#[test]
fn every_flipped_bit_is_detected() {
    let mut out = BytesMut::new();
    encode_batch(&mut out, 7, 99, &sample());
    for byte in 0..out.len() {
        for bit in 0..8 {
            let mut damaged = out.to_vec();
            damaged[byte] ^= 1 << bit;
            let decoded = decode_batch(&damaged);
            assert!(
                decoded.is_err(),
                "flip of bit {bit} in byte {byte} went unnoticed"
            );
        }
    }
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(header) = decode_batch(&bytes) {
            let batch = Bytes::from(bytes).slice(..header.batch_len as usize);
            for record in Records::new(&header, batch) {
                let _ = record;
            }
        }
    }

    #[test]
    fn encoded_batches_decode_to_their_records(
        records in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 1..=256),
             proptest::option::of(any::<u128>()),
             proptest::collection::vec(any::<u8>(), 0..64),
             proptest::collection::vec(any::<u8>(), 0..2048)),
            1..20),
        base in 0u64..1 << 40,
    ) {
        let records: Vec<NewRecord> = records
            .into_iter()
            .map(|(key, hash_key, attributes, data)| NewRecord {
                key: key.into(),
                hash_key,
                attributes: attributes.into(),
                data: data.into(),
            })
            .collect();
        let mut out = BytesMut::new();
        encode_batch(&mut out, base, 5, &records);
        let header = decode_batch(&out).unwrap();
        let decoded: Vec<Record> = Records::new(&header, out.freeze()).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(decoded.len(), records.len());
        for (i, (got, want)) in decoded.iter().zip(&records).enumerate() {
            prop_assert_eq!(got.offset, base + i as u64);
            prop_assert_eq!(&got.key, &want.key);
            prop_assert_eq!(got.hash_key, want.hash_key);
            prop_assert_eq!(&got.attributes, &want.attributes);
            prop_assert_eq!(&got.data, &want.data);
        }
    }
}

/// The records of `records` as a producer encodes them: a batch's records, timestamps 0.
fn producer_encoded(records: &[NewRecord]) -> (Bytes, u32) {
    let mut out = BytesMut::new();
    encode_batch(&mut out, 0, 0, records);
    let region = out.freeze().slice(BATCH_HEADER_LEN..);
    let crc = crc32fast::hash(&region);
    (region, crc)
}

#[test]
fn adopted_records_read_back_with_the_batch_time_and_a_valid_crc() {
    let (region, crc) = producer_encoded(&sample());
    let encoded = EncodedRecords::check(region.clone(), 2, crc, 1 << 20, |_, _| true).unwrap();
    assert_eq!(encoded.batch_len(), batch_len(&sample()));
    let built = EncodedRecords::from_records(&sample());
    assert_eq!((&built.bytes, built.crc, built.count), (&region, crc, 2));
    let mut out = BytesMut::from(&b"before"[..]);
    encode_adopted(&mut out, 42, 1_700_000_000_123, &encoded);
    let batch = out.freeze().slice(6..);
    let header = decode_batch(&batch).unwrap();
    assert!(header.uniform_time);
    assert_eq!((header.base_offset, header.record_count), (42, 2));
    assert_eq!(header.first_timestamp_ms, 1_700_000_000_123);
    let records: Vec<Record> = Records::new(&header, batch)
        .collect::<Result<_, _>>()
        .unwrap();
    for (offset, (read, sent)) in (42..).zip(records.iter().zip(sample())) {
        assert_eq!(read.offset, offset);
        assert_eq!(read.timestamp_ms, 1_700_000_000_123);
        assert_eq!((&read.key, read.hash_key), (&sent.key, sent.hash_key));
        assert_eq!(
            (&read.attributes, &read.data),
            (&sent.attributes, &sent.data)
        );
    }
}

#[test]
fn the_builder_encodes_as_from_records_and_takes_back_a_refused_record() {
    let records = [
        NewRecord::new("k1", "hello"),
        NewRecord {
            key: Bytes::from_static(b"key-two"),
            hash_key: Some(u128::MAX - 7),
            attributes: Bytes::new(),
            data: Bytes::new(),
        },
    ];
    let mut builder = EncodedRecords::builder(64, 1 << 20);
    builder.push(b"k1", None, b"hello").unwrap();
    let refused = builder.push_with(b"bad", None, 3, |room| {
        room.copy_from_slice(b"xyz");
        false
    });
    assert!(matches!(refused, Err(crate::Error::InvalidArgument(_))));
    // Appended data must be exactly as long as announced.
    for wrong in [&b"xy"[..], b"wxyz"] {
        let refused = builder.push_appending(b"bad", None, 3, |out| {
            out.put_slice(wrong);
            true
        });
        assert!(matches!(refused, Err(crate::Error::InvalidArgument(_))));
    }
    builder
        .push_appending(b"key-two", Some(u128::MAX - 7), 0, |_| true)
        .unwrap();
    assert_eq!(builder.count(), 2);
    let built = builder.finish().unwrap();
    let expected = EncodedRecords::from_records(&records);
    assert_eq!(
        (&built.bytes, built.crc, built.count),
        (&expected.bytes, expected.crc, expected.count)
    );
    assert_eq!(
        EncodedRecordsBuilder::record_len(2, None, 5)
            + EncodedRecordsBuilder::record_len(7, Some(1), 0),
        built.bytes.len()
    );
    EncodedRecords::check(built.bytes.clone(), 2, built.crc, 1 << 20, |_, _| true).unwrap();

    let mut limited = EncodedRecords::builder(0, 4);
    assert!(matches!(
        limited.push(b"k", None, b"12345"),
        Err(crate::Error::RecordTooLarge { size: 5, max: 4 })
    ));
    assert!(matches!(
        limited.push(&[b'k'; PARTITION_KEY_BYTES_MAX + 1], None, b""),
        Err(crate::Error::InvalidArgument(_))
    ));
    assert!(limited.finish().is_none());
}

#[test]
fn encoded_records_that_do_not_check_out_are_refused() {
    let (region, crc) = producer_encoded(&sample());
    let check = |bytes: Bytes, count: u32, crc: u32| {
        EncodedRecords::check(bytes, count, crc, 1 << 20, |key, _| !key.is_empty()).map(|_| ())
    };
    let refused = |result: Result<(), crate::Error>, why: &str| {
        let message = result.expect_err(why).to_string();
        assert!(message.contains(why), "{message}");
    };
    refused(check(region.clone(), 2, crc ^ 1), "CRC32");
    refused(check(region.clone(), 0, crc), "at least one record");
    refused(check(region.clone(), 3, crc), "record 2");
    refused(check(region.clone(), 1, crc), "bytes after the last");
    let mut stamped = BytesMut::from(&region[..]);
    stamped[4] = 1;
    let stamped = stamped.freeze();
    refused(
        check(stamped.clone(), 2, crc32fast::hash(&stamped)),
        "timestamp must be 0",
    );
    let (empty_key, crc) = producer_encoded(&[NewRecord::new("", "x")]);
    refused(
        check(empty_key, 1, crc),
        "invalid partition key or hash key",
    );
    let (large, crc) = producer_encoded(&[NewRecord::new("k", vec![0u8; 100])]);
    let too_large = EncodedRecords::check(large, 1, crc, 99, |_, _| true);
    assert!(matches!(
        too_large,
        Err(crate::Error::RecordTooLarge { size: 100, max: 99 })
    ));
}

#[test]
fn unknown_batch_flags_are_corruption() {
    let mut out = BytesMut::new();
    encode_batch(&mut out, 0, 1, &sample());
    out[9] = 0x80;
    assert_eq!(
        decode_header(&out),
        Err(DecodeError::Corrupt("unknown batch flags"))
    );
}
