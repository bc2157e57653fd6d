//! Any bytes as a state snapshot, as they are and with a valid checksum appended (so the
//! decoder past the checksum is reached): refused or decoded, never a panic, and a decoded
//! snapshot re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = storage::fuzzing::state_snapshot(data);
    let mut checked = data.to_vec();
    checked.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    let _ = storage::fuzzing::state_snapshot(&checked);
});
