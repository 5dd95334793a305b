#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| partnerops::fuzzing::events_parser(data));
