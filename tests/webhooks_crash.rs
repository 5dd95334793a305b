//! Webhooks out across SIGKILL, with the real binary:
//! - `serve` killed between a change and its delivery, or in the middle of
//!   a delivery: after a restart every message arrives, in order, and the
//!   one cut off is sent again under the same `webhook-id`;
//! - `events send` killed inside the transaction that wrote its messages:
//!   the change rolled back, and so did its messages, which are never sent.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use partnerops::engine::Engine;
use partnerops::store::outbox::DeliveryQuery;
use partnerops::store::sqlite::{MARK_OUTBOX_WRITTEN_ENV, OUTBOX_WRITTEN_MARKER};
use support::hooks::{PER_PARTNER, config_yaml, partner_events};
use support::receiver::{Mode, Receiver};

fn partnerops() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("partnerops"));
    cmd.env_remove("PARTNEROPS_ENGINE")
        .env_remove("PARTNEROPS_TOKEN")
        .env_remove("PARTNEROPS_DB")
        .env_remove("PARTNEROPS_PROGRAM")
        .env("PARTNEROPS_AUTHOR", "crash test");
    cmd
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The program with one endpoint at `url`, applied to the file `db`.
fn setup(dir: &Path, db: &Path, url: &str) {
    let cfg = dir.join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("program.yaml"), config_yaml(&[url])).unwrap();
    ok(partnerops()
        .arg("apply")
        .arg(&cfg)
        .arg("--yes")
        .arg("--db")
        .arg(db));
}

/// `partnerops serve` on 127.0.0.1:0 with private webhooks allowed; its URL.
fn serve(db: &Path) -> (Child, String) {
    let mut child = partnerops()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--sweep-every",
            "0",
            "--allow-private-webhooks",
            "--db",
        ])
        .arg(db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("partnerops engine listening on ") {
                let _ = tx.send(rest.split_whitespace().next().unwrap().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("serve starts");
    (child, url)
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

fn send_events(dir: &Path, url: &str, token: &str, partners: &[&str]) {
    let file = dir.join(format!("{}.ndjson", partners[0]));
    let body: Vec<String> = partners
        .iter()
        .map(|p| partner_events(p, "2026-03-01T10:00:00Z".parse().unwrap()))
        .collect();
    std::fs::write(&file, body.join("\n")).unwrap();
    ok(partnerops()
        .args(["events", "send"])
        .arg(&file)
        .args(["--engine", url])
        .env("PARTNEROPS_TOKEN", token));
}

/// Every message of the program, oldest first.
fn outbox(rt: &tokio::runtime::Runtime, db: &Path) -> Vec<partnerops::store::outbox::Delivery> {
    rt.block_on(async {
        let engine = Engine::open(db).await.unwrap();
        let mut list = engine
            .deliveries(
                "acme",
                &DeliveryQuery {
                    limit: 100_000,
                    ..DeliveryQuery::default()
                },
            )
            .await
            .unwrap();
        list.reverse();
        list
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Waits until `receiver` got `n` 2xx answers.
fn wait_for(rt: &tokio::runtime::Runtime, receiver: &Receiver, n: usize) {
    rt.block_on(receiver.wait_for(n, Duration::from_secs(90)));
}

#[test]
fn after_a_kill_between_a_change_and_its_delivery_every_message_is_sent_once() {
    let rt = runtime();
    let receiver = rt.block_on(Receiver::start(Mode::Status(503)));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("engine.db");
    setup(dir.path(), &db, &receiver.url);
    let token = ok(partnerops()
        .args(["token", "create", "--scope", "admin", "--db"])
        .arg(&db));
    let (child, url) = serve(&db);
    send_events(dir.path(), &url, token.trim(), &["ann", "bob"]);
    // The change is committed (the answer came); nothing has been delivered.
    kill(child);
    let queued = outbox(&rt, &db);
    assert_eq!(queued.len(), 2 * (PER_PARTNER + 1));
    assert!(receiver.delivered().is_empty());

    receiver.set(Mode::Up);
    let (child, _) = serve(&db);
    wait_for(&rt, &receiver, queued.len());
    std::thread::sleep(Duration::from_millis(600)); // a poll more: nothing else comes
    kill(child);
    let got: Vec<String> = receiver.delivered().into_iter().map(|r| r.id).collect();
    let ids: Vec<String> = queued.iter().map(|d| d.id.clone()).collect();
    assert_eq!(got, ids, "every message, in order, once");
}

#[test]
fn a_delivery_cut_off_by_a_kill_is_sent_again_with_the_same_webhook_id() {
    let rt = runtime();
    let receiver = rt.block_on(Receiver::start(Mode::Hang));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("engine.db");
    setup(dir.path(), &db, &receiver.url);
    let token = ok(partnerops()
        .args(["token", "create", "--scope", "admin", "--db"])
        .arg(&db));
    let (child, url) = serve(&db);
    send_events(dir.path(), &url, token.trim(), &["ann"]);
    // The first message is on its way: the receiver holds it unanswered.
    let started = Instant::now();
    while receiver.requests().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no delivery began"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(child);
    let cut = receiver.requests()[0].clone();

    receiver.set(Mode::Up);
    let queued = outbox(&rt, &db);
    let (child, _) = serve(&db);
    // After the dead sender's lease runs out (30 s).
    wait_for(&rt, &receiver, queued.len());
    kill(child);
    let delivered = receiver.delivered();
    assert_eq!(
        delivered[0].id, cut.id,
        "sent again under the same webhook-id"
    );
    assert_eq!(delivered[0].body, cut.body);
    let got: Vec<String> = delivered.into_iter().map(|r| r.id).collect();
    let ids: Vec<String> = queued.iter().map(|d| d.id.clone()).collect();
    assert_eq!(got, ids);
}

#[test]
fn messages_of_a_batch_killed_before_its_commit_are_never_sent() {
    let rt = runtime();
    let receiver = rt.block_on(Receiver::start(Mode::Up));
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.db");
    setup(dir.path(), &template, &receiver.url);
    // A batch large enough that its transaction runs on well after the
    // outbox rows are written (they are written first).
    let events: Vec<String> = (0..20_000)
        .map(|i| {
            format!(
                r#"{{"id":"j{i}","type":"partner.joined","at":"2026-03-01T10:00:00Z","partner":{{"key":"p{i:05}"}}}}"#
            )
        })
        .collect();
    let file = dir.path().join("joins.ndjson");
    std::fs::write(&file, events.join("\n")).unwrap();

    let mut rolled_back = 0;
    for run in 0..5 {
        let db = dir.path().join(format!("run-{run}.db"));
        for suffix in ["", "-wal", "-shm"] {
            let from = format!("{}{suffix}", template.display());
            if Path::new(&from).exists() {
                std::fs::copy(&from, format!("{}{suffix}", db.display())).unwrap();
            }
        }
        let mut child = partnerops()
            .args(["events", "send"])
            .arg(&file)
            .args(["--batch-size", "100000", "--db"])
            .arg(&db)
            .env(MARK_OUTBOX_WRITTEN_ENV, "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        loop {
            let line = lines
                .next()
                .expect("the store marks the outbox rows")
                .unwrap();
            if line == OUTBOX_WRITTEN_MARKER {
                break;
            }
        }
        kill(child);
        let (partners, messages) = rt.block_on(async {
            let engine = Engine::open(&db).await.unwrap();
            let partners = engine.partners("acme", None, None, 10).await.unwrap().len();
            let messages = engine
                .deliveries(
                    "acme",
                    &DeliveryQuery {
                        limit: 10,
                        ..DeliveryQuery::default()
                    },
                )
                .await
                .unwrap()
                .len();
            (partners, messages)
        });
        if partners > 0 {
            // The kill came after the commit: the messages are there too.
            assert!(messages > 0);
            continue;
        }
        rolled_back += 1;
        assert_eq!(messages, 0, "no message of a change that rolled back");
        ok(partnerops()
            .args(["webhooks", "dispatch", "--allow-private-webhooks", "--db"])
            .arg(&db));
    }
    assert!(rolled_back > 0, "no kill landed inside the transaction");
    assert!(receiver.requests().is_empty(), "nothing was ever sent");
}
