//! The very first apply: an engine file that is empty, or whose creation was
//! cut short by SIGKILL, reads as an empty engine, and the next apply makes it.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use partnerops::store::sqlite::{CREATING_MARKER, PAUSE_CREATING_ENV};
use support::cli::{code, stderr, stdout};

fn partnerops(dir: &Path, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("partnerops")
        .unwrap()
        .current_dir(dir)
        .env_remove("PARTNEROPS_ENGINE")
        .env_remove("PARTNEROPS_TOKEN")
        .env_remove("PARTNEROPS_DB")
        .env_remove("PARTNEROPS_PROGRAM")
        .env("PARTNEROPS_AUTHOR", "Test <t@e>")
        .args(args)
        .output()
        .unwrap()
}

fn example() -> String {
    format!("{}/examples/gigakick", env!("CARGO_MANIFEST_DIR"))
}

/// What a reader says about an engine nobody has written to, and an apply
/// that then makes it.
fn reads_as_empty_then_applies(dir: &Path) {
    let config = example();
    let plan = partnerops(dir, &["plan", &config, "--db", "e.db"]);
    assert_eq!(code(&plan), 0, "{}", stderr(&plan));
    assert!(stdout(&plan).contains("28 to create"), "{}", stdout(&plan));
    for args in [
        &["partners", "--db", "e.db"][..],
        &["history", "--db", "e.db"],
        &["export", "--db", "e.db"],
    ] {
        let out = partnerops(dir, args);
        assert!(
            stderr(&out).contains("holds no program"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("readonly"), "{}", stderr(&out));
    }
    let apply = partnerops(dir, &["apply", &config, "--yes", "--db", "e.db"]);
    assert_eq!(code(&apply), 0, "{}", stderr(&apply));
    let again = partnerops(dir, &["plan", &config, "--db", "e.db"]);
    assert!(stdout(&again).contains("No changes."), "{}", stdout(&again));
    let history = partnerops(dir, &["history", "--db", "e.db"]);
    assert_eq!(code(&history), 0, "{}", stderr(&history));
}

#[test]
fn an_empty_file_is_an_empty_engine() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("e.db"), b"").unwrap();
    reads_as_empty_then_applies(dir.path());
}

#[test]
fn sigkill_while_the_file_is_created_leaves_a_file_that_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_partnerops"))
        .current_dir(dir.path())
        .args(["apply", &example(), "--yes", "--db", "e.db"])
        .env_remove("PARTNEROPS_ENGINE")
        .env("PARTNEROPS_AUTHOR", "Test <t@e>")
        .env(PAUSE_CREATING_ENV, "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines {
        let line = line.unwrap();
        if line == CREATING_MARKER {
            break;
        }
        seen.push(line);
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the child ended before creating the file: {seen:?}"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The database was whole under its temporary name; what the path holds
    // is the empty file the creator locked.
    assert!(dir.path().join("e.db.creating").exists());
    assert_eq!(std::fs::metadata(dir.path().join("e.db")).unwrap().len(), 0);
    reads_as_empty_then_applies(dir.path());
    assert!(
        !dir.path().join("e.db.creating").exists(),
        "the next creator clears what the killed one left"
    );
}
