//! Any bytes as producer-encoded records (the first two bytes a record count, one bit whether
//! the CRC is right): `EncodedRecords::check` refuses them or accepts records that, adopted
//! into a batch, decode to exactly that many records within the data limit. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storage::EncodedRecords;
use storage::record::{Records, decode_batch, encode_adopted};

/// The data limit the checks are run with.
const DATA_MAX: usize = 512;

fuzz_target!(|data: &[u8]| {
    let Some((head, region)) = data.split_first_chunk::<2>() else {
        return;
    };
    let count = u32::from(u16::from_le_bytes(*head) & 0x7fff);
    let crc = crc32fast::hash(region) ^ u32::from(head[1] >> 7);
    let region = bytes::Bytes::copy_from_slice(region);
    let Ok(records) = EncodedRecords::check(region, count, crc, DATA_MAX, |key, _| key.len() <= 256)
    else {
        return;
    };
    let mut out = bytes::BytesMut::new();
    encode_adopted(&mut out, 7, 1_000, &records);
    let header = decode_batch(&out).expect("an adopted batch decodes");
    assert_eq!(header.record_count, count);
    let mut seen = 0u32;
    for record in Records::new(&header, out.freeze()) {
        let record = record.expect("every adopted record decodes");
        assert_eq!(record.offset, 7 + u64::from(seen));
        assert_eq!(record.timestamp_ms, 1_000);
        assert!(record.data.len() <= DATA_MAX && record.key.len() <= 256);
        seen += 1;
    }
    assert_eq!(seen, count);
});
