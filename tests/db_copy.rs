//! `partnerops db copy` both ways: SQLite to PostgreSQL and back, each copy
//! reading back what the original reads (every `Store` method of the
//! conformance scenario), refused into a store that already holds an
//! engine, and a copy that goes on taking writes.

mod support;

use std::path::Path;
use std::process::Command;

use partnerops::engine::Engine;
use partnerops::store::{StoreOptions, open};
use support::program::{joined, refund, sale, send};
use support::scenario::{Batches, digest, events, run_scenario};

fn db_copy(from: &Path, to: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_partnerops"))
        .args(["db", "copy", "--from"])
        .arg(from)
        .arg("--to")
        .arg(to)
        .output()
        .unwrap()
}

#[tokio::test]
async fn copies_sqlite_to_postgres_and_back_verified() {
    let Some(pg) = support::postgres::database().await else {
        return;
    };
    let pg_path = Path::new(&pg.url);
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("engine.db");
    let batches = Batches {
        events: events(),
        late_join: joined("2025-06-10T08:00:00Z", "dee", None),
        late_refund: refund("2025-09-05T10:00:00Z", "r2", "t1", "99.00"),
    };
    let options = StoreOptions::default();
    let original = run_scenario(open(&sqlite, &options).await.unwrap(), &batches).await;

    let out = db_copy(&sqlite, pg_path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("verified"), "{stdout}");
    let store = open(pg_path, &options).await.unwrap();
    assert_eq!(digest(store.as_ref()).await, original);

    // Never over an engine: the second copy is refused and changes nothing.
    let again = db_copy(&sqlite, pg_path);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds an engine"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(digest(store.as_ref()).await, original);

    // And back, into a new file.
    let back = dir.path().join("back.db");
    let out = db_copy(pg_path, &back);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        digest(open(&back, &options).await.unwrap().as_ref()).await,
        original
    );

    // The copy takes writes: new ledger lines number after the copied ones.
    let engine = Engine::new(store);
    let before = engine.commissions("gk", None).await.unwrap();
    let last = before.iter().map(|l| l.id).max().unwrap();
    send(
        &engine,
        "gk",
        &[sale(
            "2025-09-10T10:00:00Z",
            "t9",
            "acme",
            "99.00",
            Some("sub-inbox"),
        )],
    )
    .await;
    let after = engine.commissions("gk", None).await.unwrap();
    assert!(after.len() > before.len());
    assert!(after.iter().filter(|l| l.id > last).count() == after.len() - before.len());
}

#[tokio::test]
async fn copying_nothing_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = db_copy(&dir.path().join("none.db"), &dir.path().join("to.db"));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("holds no engine to copy"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
