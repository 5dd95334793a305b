//! `partnerops serve` and `partnerops token` as a user runs them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;

fn partnerops() -> Command {
    Command::cargo_bin("partnerops").unwrap()
}

/// A child process that does not outlive a failing test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn token_create_prints_the_token_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("engine.db");
    let out = partnerops()
        .args([
            "token",
            "create",
            "--scope",
            "config:read,data:read",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    assert!(
        stdout.starts_with("po_") && stdout.ends_with('\n'),
        "{stdout:?}"
    );
    assert!(out.stderr.is_empty());

    let bad = partnerops()
        .args(["token", "create", "--scope", "root", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scope `root`"));
    assert!(bad.stdout.is_empty());

    // A partner token belongs to one program: with none in the engine and
    // none named, there is nothing to bind it to.
    let unbound = partnerops()
        .args(["token", "create", "--scope", "partner:ann", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(unbound.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unbound.stderr).contains("holds no program"),
        "{}",
        String::from_utf8_lossy(&unbound.stderr)
    );
    assert!(unbound.stdout.is_empty());
    let bound = partnerops()
        .args([
            "token",
            "create",
            "--scope",
            "partner:ann",
            "--program",
            "shop",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    // A partner belongs to a program the engine holds; `shop` is not one yet.
    assert_eq!(bound.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bound.stderr).contains("holds no program `shop`"),
        "{}",
        String::from_utf8_lossy(&bound.stderr)
    );
    let bad_key = partnerops()
        .args(["token", "create", "--scope", "partner:Ann Smith", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(bad_key.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_key.stderr).contains("invalid key `Ann Smith`"));
}

#[test]
fn serve_answers_over_http_logs_no_tokens_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("engine.db");
    let token = String::from_utf8(
        partnerops()
            .args(["token", "create", "--scope", "admin", "--db"])
            .arg(&db)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();

    let mut server = KillOnDrop(
        partnerops()
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(&db)
            .env("PARTNEROPS_LOG", "trace")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let server = &mut server.0;
    // Drain the log on a thread: at trace level it would fill the pipe and block
    // the server.
    let stderr = server.stderr.take().unwrap();
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut log = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.split("listening on ").nth(1) {
                let _ = url_tx.send(rest.split_whitespace().next().unwrap().to_owned());
            }
            log.push_str(&line);
            log.push('\n');
        }
        log
    });
    let url = url_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("serve prints its address");

    partnerops::client::install_crypto();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let ok = http
            .get(format!("{url}/v1/programs"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        let wrong = http
            .get(format!("{url}/v1/programs"))
            .bearer_auth("po_wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
    });

    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = server.wait().unwrap();
    let log = reader.join().unwrap();
    assert!(exit.success(), "serve exited with {exit}: {log}");
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("/v1/programs"), "requests are logged: {log}");
    assert!(!log.contains(&token), "the token leaked into the log");
    assert!(
        !log.contains("po_wrong"),
        "a presented token leaked into the log"
    );
}
