//! A process killed (SIGKILL) while applying a large changeset leaves the store at
//! the old revision or the new one, never in between.
//!
//! The child is this test binary run again with `CHILD_DB` set: it applies a
//! changeset of 20,000 creates to the database. The store, told to by an
//! environment variable, says on stderr when the changeset's transaction has
//! written its first rows; the child is killed at varying moments after that,
//! so every kill lands inside the transaction or after its commit, never
//! before it began.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use partnerops::engine::Engine;
use partnerops::engine::changeset::{Change, Changeset};
use partnerops::spec::{Resource, Tag};
use partnerops::store::sqlite::{MARK_ROWS_WRITTEN_ENV, ROWS_WRITTEN_MARKER};

const CHILD_DB: &str = "PARTNEROPS_TEST_CRASH_CHILD_DB";
const BIG: usize = 20_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn big_changeset(base_revision: u64) -> Changeset {
    Changeset {
        base_revision,
        changes: (0..BIG)
            .map(|i| Change::Create {
                resource: Resource::Tag(Tag {
                    key: format!("bulk-{i:06}"),
                    name: Some(format!("Bulk tag {i}")),
                    description: Some("x".repeat(200)),
                    previously: Vec::new(),
                }),
            })
            .collect(),
        author: "crash-test".to_owned(),
        message: None,
        git_commit: None,
    }
}

/// The child's work; a no-op when run as a normal test.
#[test]
fn crash_child() {
    let Ok(db) = std::env::var(CHILD_DB) else {
        return;
    };
    runtime().block_on(async {
        let engine = Engine::open(Path::new(&db)).await.unwrap();
        let base = engine.snapshot("sample").await.unwrap().revision;
        engine.apply("sample", &big_changeset(base)).await.unwrap();
    });
}

/// Applies the child's changeset in a child process and, once the store says
/// rows are written, kills it `kill_after` later (never, for `None`). Returns
/// the time from the marker to the kill or to the child's exit.
fn run_child(db: &Path, kill_after: Option<Duration>) -> Duration {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB, db)
        .env(MARK_ROWS_WRITTEN_ENV, "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = lines
            .next()
            .expect("the store marks the written rows")
            .unwrap();
        if line == ROWS_WRITTEN_MARKER {
            break;
        }
    }
    let marked = Instant::now();
    match kill_after {
        Some(delay) => {
            std::thread::sleep(delay);
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
        }
        None => assert!(child.wait().unwrap().success()),
    }
    marked.elapsed()
}

#[test]
fn sigkill_during_apply_leaves_the_old_or_the_new_revision() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.db");
    let rt = runtime();
    let base_count = rt.block_on(async {
        let engine = Engine::open(&template).await.unwrap();
        let config = partnerops::sample::config(100);
        let changes = config
            .resources()
            .map(|resource| Change::Create { resource })
            .collect();
        let changeset = Changeset {
            base_revision: 0,
            changes,
            author: "setup".to_owned(),
            message: None,
            git_commit: None,
        };
        engine.apply("sample", &changeset).await.unwrap();
        engine.snapshot("sample").await.unwrap().resources.len()
    });
    // How long the rest of an uninterrupted apply takes after the marker, to
    // spread the kills over it.
    let measure = dir.path().join("measure.db");
    copy_db(&template, &measure);
    let rest = run_child(&measure, None);
    assert_eq!(outcome(&rt, &measure, base_count), 2);

    let mut seen = [0usize; 3];
    for step in 0..10u32 {
        let db = dir.path().join(format!("run-{step}.db"));
        copy_db(&template, &db);
        // Two kills at once, the rest spread to past the end: some land
        // after the commit.
        let delay = rest * step.saturating_sub(1) / 6;
        run_child(&db, Some(delay));
        let revision = outcome(&rt, &db, base_count);
        seen[usize::try_from(revision).unwrap()] += 1;
    }
    eprintln!(
        "after SIGKILL: {} runs at the old revision, {} at the new ({rest:?} from rows written to exit)",
        seen[1], seen[2]
    );
    // Every kill came after rows were written, so a run at the old revision
    // is one whose transaction was cut short and rolled back.
    assert!(
        seen[1] > 0,
        "no kill landed inside the transaction: {seen:?}"
    );
}

fn copy_db(from: &Path, to: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let src = std::path::PathBuf::from(format!("{}{suffix}", from.display()));
        if src.exists() {
            std::fs::copy(&src, format!("{}{suffix}", to.display())).unwrap();
        }
    }
}

/// Opens the database after a crash and checks it is whole at revision 1
/// (before) or 2 (after); returns which.
fn outcome(rt: &tokio::runtime::Runtime, db: &Path, base_count: usize) -> u64 {
    rt.block_on(async {
        let engine = Engine::open(db).await.unwrap();
        let snapshot = engine.snapshot("sample").await.unwrap();
        let history = engine.history("sample").await.unwrap();
        match snapshot.revision {
            1 => {
                assert_eq!(
                    snapshot.resources.len(),
                    base_count,
                    "old revision, partial rows"
                );
                assert_eq!(history.len(), 1);
            }
            2 => {
                assert_eq!(
                    snapshot.resources.len(),
                    base_count + BIG,
                    "new revision, partial rows"
                );
                assert_eq!(history.len(), 2);
                assert_eq!(history[0].summary.create, BIG);
            }
            other => panic!("revision {other} after a crash"),
        }
        snapshot.revision
    })
}
