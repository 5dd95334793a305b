#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| partnerops::fuzzing::stripe_signature(data));
