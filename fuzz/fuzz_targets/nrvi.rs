//! Fuzzes the `.nrvi` reader: any byte string must give `Ok` or `Err`, never a panic, an abort or
//! an absurd allocation. Run with `cargo fuzz run nrvi` (see fuzz/README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The CRC rejects almost every mutation, which would hide the parser from the fuzzer; also
    // feed the input with a correct CRC appended so the parser behind it is exercised.
    let _ = neuvis_codec::Nrvi::from_bytes(data);
    let mut with_crc = data.to_vec();
    with_crc.extend_from_slice(&neuvis_codec::container::crc32(data).to_le_bytes());
    let _ = neuvis_codec::Nrvi::from_bytes(&with_crc);
});
