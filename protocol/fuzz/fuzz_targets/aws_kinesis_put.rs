//! Any PutRecords JSON body: the in-place reader never panics, and whatever it reads (with
//! every record's data decoded) serde's decoding reads the same way, so the server's fast path
//! means what the serde path would. Seeds worth starting from are the bodies boto3 sends, e.g.
//! `{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k"}]}`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::aws::body::{self, Format};
use protocol::aws::kinesis::{PutRecordsBody, PutRecordsInput};

fuzz_target!(|input: &[u8]| {
    let Some(parsed) = PutRecordsBody::parse(input) else {
        return;
    };
    let mut data = Vec::with_capacity(parsed.records.len());
    for record in &parsed.records {
        let mut out = vec![0; record.data_len];
        if !record.decode_data(&mut out) {
            return;
        }
        data.push(out);
    }
    let decoded = body::decode::<PutRecordsInput>(Format::Json, input);
    let Ok(expected) = decoded else {
        panic!("read in place, refused by serde: {decoded:?}");
    };
    assert_eq!(parsed.stream(), expected.stream);
    assert_eq!(parsed.records.len(), expected.records.len());
    for ((record, data), expected) in parsed.records.iter().zip(&data).zip(&expected.records) {
        assert_eq!(record.partition_key, expected.partition_key);
        assert_eq!(
            record.explicit_hash_key,
            expected.explicit_hash_key.as_deref()
        );
        assert_eq!(&data[..], &expected.data.0[..]);
    }
});
