#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| partnerops::fuzzing::config_loader(data));
