//! Any bytes: batch decoding returns an error or records inside the input, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storage::record::{Records, decode_batch};

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = decode_batch(data) {
        assert!(header.batch_len as usize <= data.len());
        let batch = bytes::Bytes::copy_from_slice(&data[..header.batch_len as usize]);
        let mut count = 0u32;
        for record in Records::new(&header, batch) {
            if record.is_ok() {
                count += 1;
            }
        }
        assert!(count <= header.record_count);
    }
});
