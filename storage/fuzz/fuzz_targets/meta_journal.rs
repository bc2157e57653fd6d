//! Any bytes: the metadata journal decoder stops at the first bad entry, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (_, good) = storage::fuzzing::meta_entries(data);
    assert!(good <= data.len());
});
