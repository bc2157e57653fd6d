//! Any bytes as a segment: the recovery scan ends inside the input, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (valid_end, _) = storage::fuzzing::scan_segment(data);
    assert!(valid_end as usize <= data.len());
});
