//! The fuzz targets' corpora (`tests/fuzz/corpus/TARGET/`), kept as
//! regression tests: every file goes through the same entry point the
//! fuzzer drives, which must not panic.

use std::path::Path;

#[test]
fn every_corpus_file_goes_through_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus");
    for (name, target) in partnerops::fuzzing::TARGETS {
        let dir = root.join(name);
        let mut files = 0;
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name} panicked on {}", path.display());
            files += 1;
        }
        assert!(files > 0, "{name} has no corpus in {}", dir.display());
    }
}
