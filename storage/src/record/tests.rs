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
