//! Property tests for the native codec: every request and response round-trips through a
//! frame, every truncation is "incomplete" (frames) or an error (bodies), and arbitrary
//! bytes never panic a decoder.
#![expect(
    clippy::indexing_slicing,
    reason = "tests slice buffers they just built"
)]

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use protocol::native::{
    Authenticate, CommitCursor, CreateStream, CursorPosition, DecodeError, DeleteStream,
    DescribeStream, ErrorCode, ErrorResponse, FRAME_BYTES_MAX, FRAME_HEADER_SIZE, Fetch,
    FetchCursor, FetchOk, FetchedRecord, Hello, HelloOk, Kind, ListStreams, Message, Op, Produce,
    ProduceOk, ProduceRecord, ProduceResult, Request, Response, ShardDescription, StartPosition,
    StreamDescription, StreamList, Target, decode_frame,
};

fn name() -> impl Strategy<Value = String> {
    // Multi-byte characters exercise the byte (not char) limit.
    "[a-zA-Z0-9_.é-]{1,40}"
}

fn peer_name() -> impl Strategy<Value = String> {
    "[a-z0-9 -]{0,20}"
}

fn blob(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn partition_key() -> impl Strategy<Value = Bytes> {
    "[a-zA-Z0-9ü]{1,60}".prop_map(Bytes::from)
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        (partition_key(), any::<Option<u128>>()).prop_map(|(key, explicit_hash_key)| {
            Target::PartitionKey {
                key,
                explicit_hash_key,
            }
        }),
        any::<u32>().prop_map(Target::Shard),
    ]
}

fn start() -> impl Strategy<Value = StartPosition> {
    prop_oneof![
        any::<u64>().prop_map(StartPosition::AtOffset),
        any::<u64>().prop_map(StartPosition::AfterOffset),
        any::<i64>().prop_map(StartPosition::AtTimestamp),
        Just(StartPosition::TrimHorizon),
        Just(StartPosition::Latest),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (any::<u16>(), any::<u16>(), peer_name()).prop_map(|(min, max, client_name)| {
            Request::Hello(Hello {
                protocol_version_min: min,
                protocol_version_max: max,
                client_name,
            })
        }),
        (name(), any::<u32>(), any::<u32>()).prop_map(|(name, shard_count, retention_hours)| {
            Request::CreateStream(CreateStream {
                name,
                shard_count,
                retention_hours,
            })
        }),
        name().prop_map(|name| Request::DeleteStream(DeleteStream { name })),
        (name(), any::<[u8; 32]>()).prop_map(|(access_key_id, proof)| {
            Request::Authenticate(Authenticate {
                access_key_id,
                proof,
            })
        }),
        Just(Request::ListStreams(ListStreams {})),
        name().prop_map(|name| Request::DescribeStream(DescribeStream { name })),
        (
            name(),
            prop::collection::vec(
                (target(), blob(64)).prop_map(|(target, data)| ProduceRecord { target, data }),
                0..8
            )
        )
            .prop_map(|(stream, records)| Request::Produce(Produce { stream, records })),
        (name(), any::<u32>(), start(), any::<[u32; 3]>()).prop_map(
            |(stream, shard, start, [max_records, max_bytes, max_wait_ms])| {
                Request::Fetch(Fetch {
                    stream,
                    shard,
                    start,
                    max_records,
                    max_bytes,
                    max_wait_ms,
                })
            }
        ),
        (name(), name(), any::<u32>(), any::<u64>()).prop_map(|(name, stream, shard, offset)| {
            Request::CommitCursor(CommitCursor {
                name,
                stream,
                shard,
                offset,
            })
        }),
        (name(), name(), any::<u32>()).prop_map(|(name, stream, shard)| Request::FetchCursor(
            FetchCursor {
                name,
                stream,
                shard
            }
        )),
    ]
}

fn shard() -> impl Strategy<Value = ShardDescription> {
    (
        any::<(u32, u128, u128)>(),
        any::<(Option<u32>, Option<u32>, u64, Option<u64>)>(),
    )
        .prop_map(
            |((id, hash_start, hash_end), (parent, adjacent_parent, starting_offset, ending))| {
                ShardDescription {
                    id,
                    hash_start,
                    hash_end,
                    parent,
                    adjacent_parent,
                    starting_offset,
                    ending_offset: ending,
                }
            },
        )
}

fn fetched_record() -> impl Strategy<Value = FetchedRecord> {
    (any::<u64>(), any::<i64>(), blob(32), blob(64)).prop_map(
        |(offset, timestamp_ms, key, data)| FetchedRecord {
            offset,
            timestamp_ms,
            key,
            data,
        },
    )
}

fn fetch_ok() -> impl Strategy<Value = FetchOk> {
    (
        any::<u64>(),
        any::<Option<u64>>(),
        prop::collection::vec(any::<u32>(), 0..3),
        prop::collection::vec(fetched_record(), 0..6),
    )
        .prop_map(
            |(next_offset, shard_ending, child_shards, records)| FetchOk {
                next_offset,
                shard_ending,
                child_shards,
                records,
            },
        )
}

fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        (
            any::<u16>(),
            peer_name(),
            any::<u32>(),
            proptest::option::of(any::<[u8; 32]>())
        )
            .prop_map(|(version, server_name, frame_bytes_max, nonce)| {
                Response::HelloOk(HelloOk {
                    version,
                    server_name,
                    frame_bytes_max,
                    // Version 1 has no authentication part.
                    auth_nonce: nonce.filter(|_| version >= 2),
                })
            }),
        Just(Response::AuthenticateOk),
        Just(Response::CreateStreamOk),
        Just(Response::DeleteStreamOk),
        prop::collection::vec(name(), 0..5)
            .prop_map(|names| Response::StreamList(StreamList { names })),
        (name(), any::<u32>(), prop::collection::vec(shard(), 0..4)).prop_map(
            |(name, retention_hours, shards)| {
                Response::StreamDescription(StreamDescription {
                    name,
                    retention_hours,
                    shards,
                })
            }
        ),
        prop::collection::vec(
            any::<(u32, u64)>().prop_map(|(shard, offset)| ProduceResult { shard, offset }),
            0..8
        )
        .prop_map(|results| Response::ProduceOk(ProduceOk { results })),
        fetch_ok().prop_map(Response::FetchOk),
        Just(Response::CommitCursorOk),
        any::<Option<u64>>().prop_map(|offset| Response::CursorPosition(CursorPosition { offset })),
        (any::<u32>(), "[ -~é]{0,80}")
            .prop_map(|(code, message)| Response::Error(ErrorResponse { code, message })),
    ]
}

/// Splits an encoded frame into its header and body, checking the header.
fn unframe(buf: &[u8], kind: Kind, request_id: u32) -> (u16, &[u8]) {
    let (header, frame_size) = decode_frame(buf, FRAME_BYTES_MAX)
        .expect("valid frame")
        .expect("whole frame");
    assert_eq!(frame_size, buf.len());
    assert_eq!((header.kind, header.request_id), (kind, request_id));
    (header.op, &buf[FRAME_HEADER_SIZE..])
}

proptest! {
    #[test]
    fn requests_round_trip_through_a_frame(request in request(), request_id in any::<u32>()) {
        let mut buf = BytesMut::new();
        request.encode_frame(request_id, &mut buf);
        prop_assert_eq!(buf.len(), FRAME_HEADER_SIZE + request.encoded_size());
        let (op, body) = unframe(&buf, Kind::Request, request_id);
        prop_assert_eq!(op, request.op() as u16);
        prop_assert_eq!(Request::decode(op, body)?, request);
    }

    #[test]
    fn responses_round_trip_through_a_frame(response in response(), request_id in any::<u32>()) {
        let mut buf = BytesMut::new();
        response.encode_frame(request_id, &mut buf);
        prop_assert_eq!(buf.len(), FRAME_HEADER_SIZE + response.encoded_size());
        let (op, body) = unframe(&buf, Kind::Response, request_id);
        prop_assert_eq!(op, response.op() as u16);
        prop_assert_eq!(Response::decode(op, body)?, response);
    }

    #[test]
    fn shared_decoding_equals_copying_and_keeps_record_bytes_in_the_body(
        request in request(),
        response in response(),
    ) {
        let mut body = BytesMut::new();
        request.encode(&mut body);
        let body = body.freeze();
        let op = request.op() as u16;
        let decoded = Request::decode_shared(op, &body)?;
        prop_assert_eq!(&decoded, &request);
        if let Request::Produce(produce) = &decoded {
            for record in &produce.records {
                prop_assert!(lies_in(&body, &record.data), "record data was copied");
                if let Target::PartitionKey { key, .. } = &record.target {
                    prop_assert!(lies_in(&body, key), "partition key was copied");
                }
            }
        }
        let mut body = BytesMut::new();
        response.encode(&mut body);
        let body = body.freeze();
        let decoded = Response::decode_shared(response.op() as u16, &body)?;
        prop_assert_eq!(&decoded, &response);
        if let Response::FetchOk(fetch) = &decoded {
            for record in &fetch.records {
                prop_assert!(lies_in(&body, &record.data), "fetched data was copied");
            }
        }
        for cut in 0..body.len() {
            prop_assert!(Response::decode_shared(response.op() as u16, &body.slice(..cut)).is_err());
        }
    }

    #[test]
    fn every_truncation_is_incomplete_for_frames_and_an_error_for_bodies(
        request in request(),
        response in response(),
    ) {
        let mut buf = BytesMut::new();
        request.encode_frame(1, &mut buf);
        let request_len = buf.len();
        response.encode_frame(1, &mut buf);
        for (frame, is_request) in [(&buf[..request_len], true), (&buf[request_len..], false)] {
            for cut in 0..frame.len() {
                prop_assert_eq!(decode_frame(&frame[..cut], FRAME_BYTES_MAX), Ok(None));
            }
            let (header, _) = decode_frame(frame, FRAME_BYTES_MAX)?.expect("whole frame");
            let body = &frame[FRAME_HEADER_SIZE..];
            for cut in 0..body.len() {
                let truncated = &body[..cut];
                if is_request {
                    prop_assert!(Request::decode(header.op, truncated).is_err());
                } else {
                    prop_assert!(Response::decode(header.op, truncated).is_err());
                }
            }
        }
    }

    #[test]
    fn a_trailing_byte_is_an_error(request in request(), extra in any::<u8>()) {
        let mut body = BytesMut::new();
        request.encode(&mut body);
        body.extend_from_slice(&[extra]);
        let error = Request::decode(request.op() as u16, &body).unwrap_err();
        prop_assert!(matches!(error, DecodeError::TrailingBytes { count: 1, .. }), "{error}");
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_decoder(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_frame(&bytes, FRAME_BYTES_MAX);
        for op in 0..=12u16 {
            let _ = Request::decode(op, &bytes);
            let _ = Response::decode(op, &bytes);
        }
    }

    #[test]
    fn vectored_fetch_encoding_equals_contiguous_and_shares_record_bytes(
        fetch in fetch_ok(),
        request_id in any::<u32>(),
    ) {
        let mut contiguous = BytesMut::new();
        Response::FetchOk(fetch.clone()).encode_frame(request_id, &mut contiguous);
        let mut chunks = Vec::new();
        fetch.encode_vectored(request_id, &mut chunks);
        prop_assert_eq!(chunks.concat(), contiguous.to_vec());
        let shared: Vec<&Bytes> = fetch
            .records
            .iter()
            .flat_map(|record| [&record.key, &record.data])
            .filter(|bytes| !bytes.is_empty())
            .collect();
        for original in shared {
            prop_assert!(
                chunks.iter().any(|chunk| chunk.as_ptr() == original.as_ptr()
                    && chunk.len() == original.len()),
                "record bytes were copied"
            );
        }
    }
}

/// Whether `part` (non-empty) points into `whole`'s memory: shared, not copied.
fn lies_in(whole: &Bytes, part: &Bytes) -> bool {
    let start = whole.as_ptr() as usize;
    let at = part.as_ptr() as usize;
    part.is_empty() || (at >= start && at + part.len() <= start + whole.len())
}

#[test]
fn fetch_data_chunks_are_the_callers_bytes() {
    let data = Bytes::from(vec![7u8; 4096]);
    let key = Bytes::from_static(b"k");
    let fetch = FetchOk {
        next_offset: 2,
        shard_ending: None,
        child_shards: vec![],
        records: vec![
            FetchedRecord {
                offset: 0,
                timestamp_ms: 1,
                key: key.clone(),
                data: data.clone(),
            },
            FetchedRecord {
                offset: 1,
                timestamp_ms: 2,
                key: Bytes::new(),
                data: data.slice(10..),
            },
        ],
    };
    let mut chunks = Vec::new();
    fetch.encode_vectored(9, &mut chunks);
    // header+record0 header, key, data, record1 header, data (no chunk for the empty key).
    assert_eq!(chunks.len(), 5);
    assert_eq!(chunks[1].as_ptr(), key.as_ptr());
    assert_eq!(chunks[2].as_ptr(), data.as_ptr());
    assert_eq!(chunks[4].as_ptr(), data[10..].as_ptr());
}

#[test]
fn oversized_frame_is_refused_without_reading_or_allocating_the_body() {
    // Only the length field has arrived; the claimed 4 GiB is never reserved.
    let claim = u32::MAX.to_le_bytes();
    assert!(matches!(
        decode_frame(&claim, FRAME_BYTES_MAX),
        Err(DecodeError::FrameTooLarge {
            frame_bytes_max: FRAME_BYTES_MAX,
            ..
        })
    ));
    let mut at_limit = (FRAME_BYTES_MAX - 4).to_le_bytes().to_vec();
    at_limit.extend_from_slice(&[0; 7]);
    assert_eq!(decode_frame(&at_limit, FRAME_BYTES_MAX), Ok(None));
    let over = (FRAME_BYTES_MAX - 3).to_le_bytes();
    assert!(decode_frame(&over, FRAME_BYTES_MAX).is_err());
}

#[test]
fn forged_counts_are_rejected_before_allocating() {
    // A StreamList claiming u32::MAX names in a 4-byte body.
    let body = u32::MAX.to_le_bytes();
    let error = StreamList::decode(&body).unwrap_err();
    assert!(
        matches!(error, DecodeError::TooManyElements { max: 0, .. }),
        "{error}"
    );
    // A Produce with more records than the limit, even if the bytes were there.
    let mut body = BytesMut::new();
    Produce {
        stream: "s".into(),
        records: vec![],
    }
    .encode(&mut body);
    body.truncate(body.len() - 4);
    body.extend_from_slice(&10_001u32.to_le_bytes());
    body.extend_from_slice(&vec![0; 9 * 10_001]);
    let error = Produce::decode(&body).unwrap_err();
    assert!(
        matches!(error, DecodeError::TooManyElements { max: 10_000, .. }),
        "{error}"
    );
}

#[test]
fn limits_on_names_and_keys_are_enforced() {
    let long = "x".repeat(129);
    let mut body = BytesMut::new();
    DeleteStream { name: long }.encode(&mut body);
    assert!(matches!(
        DeleteStream::decode(&body),
        Err(DecodeError::LengthOutOfRange {
            len: 129,
            max: 128,
            ..
        })
    ));
    body.clear();
    DeleteStream {
        name: String::new(),
    }
    .encode(&mut body);
    assert!(DeleteStream::decode(&body).is_err());

    for key in [
        Bytes::new(),
        Bytes::from(vec![b'k'; 257]),
        Bytes::from_static(&[0xff]),
    ] {
        let mut body = BytesMut::new();
        ProduceRecord {
            target: Target::PartitionKey {
                key,
                explicit_hash_key: None,
            },
            data: Bytes::new(),
        }
        .encode(&mut body);
        assert!(ProduceRecord::decode(&body).is_err());
    }
}

#[test]
fn invalid_tags_and_unknown_operations_are_typed_errors() {
    assert_eq!(
        Request::decode(200, &[]),
        Err(DecodeError::UnknownOperation { op: 200 })
    );
    // The error op is response-only.
    assert_eq!(
        Request::decode(Op::Error as u16, &[]),
        Err(DecodeError::UnknownOperation { op: 0 })
    );
    assert!(matches!(
        CursorPosition::decode(&[2]),
        Err(DecodeError::InvalidTag {
            offset: 0,
            tag: 2,
            ..
        })
    ));
    assert_eq!(
        Response::decode(Op::CreateStream as u16, &[0])
            .unwrap_err()
            .code(),
        ErrorCode::MalformedFrame
    );
}

#[test]
fn long_error_messages_are_cut_at_a_character_boundary() {
    let response = ErrorResponse::new(ErrorCode::Internal, "é".repeat(3000));
    let mut body = BytesMut::new();
    response.encode(&mut body);
    assert_eq!(body.len(), response.encoded_size());
    let decoded = ErrorResponse::decode(&body).unwrap();
    assert_eq!(decoded.message.len(), 4096);
    assert_eq!(decoded.error_code(), Some(ErrorCode::Internal));
}

#[test]
fn hello_negotiates_the_newest_common_version() {
    let hello = |min, max| Hello {
        protocol_version_min: min,
        protocol_version_max: max,
        client_name: String::new(),
    };
    assert_eq!(hello(1, 3).negotiate(1, 1), Some(1));
    assert_eq!(hello(1, 3).negotiate(2, 5), Some(3));
    assert_eq!(hello(2, 3).negotiate(1, 1), None);
    assert_eq!(hello(3, 1).negotiate(1, 5), None);
}
