use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::{
    BatchBuilder, BatchRecord, PRODUCE_BATCH_RECORDS_MAX, ProduceBatch, ProduceBatchOk,
    frame_request,
};
use crate::codec::{DecodeError, Message};
use crate::native::{
    FRAME_BYTES_MAX, FRAME_HEADER_SIZE, Kind, Op, Request, Response, decode_frame,
};

fn record() -> impl Strategy<Value = BatchRecord> {
    (
        proptest::collection::vec(any::<u8>(), 1..40),
        proptest::option::of(any::<u128>()),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(key, explicit_hash_key, data)| BatchRecord {
            key: key.into(),
            explicit_hash_key,
            data: data.into(),
        })
}

/// Builds a keyed or unkeyed batch of `records`, hash key `i` for record `i`.
fn build(records: &[BatchRecord], keyed: bool) -> super::BatchFrame {
    let mut builder = BatchBuilder::new("clicks", 7, keyed);
    for (i, record) in records.iter().enumerate() {
        let key: &[u8] = if keyed { &record.key } else { &[] };
        builder.push(key, record.explicit_hash_key, i as u128, &record.data);
    }
    builder.finish()
}

proptest! {
    /// A builder's frame is exactly `Request::ProduceBatch`'s encoding, with the records'
    /// CRC, count and hash keys, and reads back as pushed.
    #[test]
    fn built_frames_are_produce_batch_requests(
        records in proptest::collection::vec(record(), 1..20),
        keyed in any::<bool>(),
        request_id in any::<u32>(),
    ) {
        let frame = build(&records, keyed);
        prop_assert_eq!(frame.count() as usize, records.len());
        let sent = frame.into_frame(request_id);
        let request = frame_request(&sent)?;
        prop_assert_eq!(request.stream.as_str(), "clicks");
        prop_assert_eq!(request.shard, 7);
        prop_assert_eq!(request.records_crc, crc32fast::hash(&request.records));
        let hashes: Vec<u128> = request.hash_keys().collect();
        let expected: Vec<u128> = if keyed { (0..records.len() as u128).collect() } else { vec![] };
        prop_assert_eq!(hashes, expected);
        let mut encoded = BytesMut::new();
        Request::ProduceBatch(request.clone()).encode_frame(request_id, &mut encoded);
        prop_assert_eq!(sent.as_ref(), encoded.as_ref());
        let (header, size) = decode_frame(&sent, FRAME_BYTES_MAX)?.expect("a whole frame");
        prop_assert_eq!(size, sent.len());
        prop_assert_eq!((header.kind, header.op, header.request_id), (Kind::Request, Op::ProduceBatch as u16, request_id));
        let read = request.records()?;
        let expected: Vec<BatchRecord> = records
            .iter()
            .map(|r| BatchRecord {
                key: if keyed { r.key.clone() } else { Bytes::new() },
                ..r.clone()
            })
            .collect();
        prop_assert_eq!(read, expected);
    }

    #[test]
    fn produce_batches_reject_truncation_and_trailing_bytes(
        records in proptest::collection::vec(record(), 1..4),
        keyed in any::<bool>(),
        extra in any::<u8>(),
    ) {
        let frame = build(&records, keyed).into_frame(1);
        let body = frame.get(FRAME_HEADER_SIZE..).unwrap_or_default();
        let op = Op::ProduceBatch as u16;
        let decoded = Request::decode(op, body)?;
        let mut again = BytesMut::new();
        decoded.encode(&mut again);
        prop_assert_eq!(again.as_ref(), body);
        for cut in 0..body.len() {
            prop_assert!(Request::decode(op, body.get(..cut).unwrap_or_default()).is_err());
        }
        let mut longer = body.to_vec();
        longer.push(extra);
        prop_assert!(Request::decode(op, &longer).is_err());
    }

    #[test]
    fn produce_batch_ok_round_trips(base_offset in any::<u64>(), record_count in 1..=PRODUCE_BATCH_RECORDS_MAX as u32, timestamp_ms in any::<i64>()) {
        let ok = Response::ProduceBatchOk(ProduceBatchOk { base_offset, record_count, timestamp_ms });
        let mut body = BytesMut::new();
        ok.encode(&mut body);
        prop_assert_eq!(body.len(), 20);
        prop_assert_eq!(Response::decode(Op::ProduceBatch as u16, &body)?, ok);
    }
}

/// The byte layout `protocol/README.md` documents.
#[test]
fn produce_batch_has_the_documented_layout() {
    let mut builder = BatchBuilder::new("ab", 3, true);
    builder.push(b"k", None, 0x0102, b"xyz");
    let frame = builder.finish().into_frame(9);
    let mut record = Vec::new();
    record.extend_from_slice(&(8u32 + 2 + 1 + 4 + 4 + 1 + 3).to_le_bytes());
    record.extend_from_slice(&0i64.to_le_bytes());
    record.extend_from_slice(&[1, 0, 0]);
    record.extend_from_slice(&0u32.to_le_bytes());
    record.extend_from_slice(&3u32.to_le_bytes());
    record.extend_from_slice(b"kxyz");
    let mut body = vec![2, 0, b'a', b'b', 3, 0, 0, 0, 1, 0, 0, 0];
    body.extend_from_slice(&crc32fast::hash(&record).to_le_bytes());
    body.extend_from_slice(&(record.len() as u32).to_le_bytes());
    body.extend_from_slice(&record);
    body.push(1);
    body.extend_from_slice(&0x0102u128.to_le_bytes());
    let mut expected = vec![];
    expected.extend_from_slice(&(body.len() as u32 + 7).to_le_bytes());
    expected.extend_from_slice(&[0, 22, 0, 9, 0, 0, 0]);
    expected.extend_from_slice(&body);
    assert_eq!(frame.as_ref(), expected.as_slice());
}

#[test]
fn record_counts_outside_the_limits_are_refused() {
    for count in [0, PRODUCE_BATCH_RECORDS_MAX as u32 + 1] {
        let batch = ProduceBatch {
            stream: "s".into(),
            shard: 0,
            record_count: count,
            records_crc: 0,
            records: Bytes::new(),
            hash_keys: None,
        };
        let mut body = BytesMut::new();
        batch.encode(&mut body);
        assert!(matches!(
            ProduceBatch::decode(&body),
            Err(DecodeError::LengthOutOfRange {
                field: "record_count",
                ..
            })
        ));
    }
}

#[test]
fn a_builder_is_reused_after_finish() {
    let mut builder = BatchBuilder::new("s", 0, false);
    builder.push(&[], None, 0, b"one");
    let first = builder.finish();
    assert!(builder.is_empty());
    builder.push(&[], None, 0, b"two");
    builder.push(&[], Some(5), 0, b"three");
    let second = builder.finish();
    assert_eq!((first.count(), second.count()), (1, 2));
    drop(first);
    let second = frame_request(&second.into_frame(2)).expect("a request");
    let data: Vec<Bytes> = second
        .records()
        .expect("records")
        .into_iter()
        .map(|r| r.data)
        .collect();
    assert_eq!(
        data,
        [Bytes::from_static(b"two"), Bytes::from_static(b"three")]
    );
}
