//! Our signatures checked by another implementation of Standard Webhooks:
//! the `standardwebhooks` package from PyPI, in a receiver that gets real
//! deliveries, before and during a secret rotation. `.ci/run` installs it in
//! a virtual environment and names its Python in `PARTNEROPS_TEST_PYTHON`;
//! with `CI` set, a missing package fails the test rather than skipping it.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use partnerops::client::{Embedded, Reader, Writer};
use partnerops::engine::Engine;
use partnerops::engine::event::BatchFormat;
use partnerops::engine::outbox::dispatch::{DispatchOptions, Dispatcher, SystemClock};
use partnerops::engine::outbox::signature;
use serde_json::Value;
use support::hooks::{PER_PARTNER, config_yaml, partner_events};

/// A Python with `standardwebhooks`, or `None` (outside CI) to skip.
fn python() -> Option<String> {
    let python = std::env::var("PARTNEROPS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let has = Command::new(&python)
        .args(["-c", "import standardwebhooks"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "`{python}` cannot import standardwebhooks: .ci/run installs it and sets PARTNEROPS_TEST_PYTHON"
    );
    eprintln!(
        "skipped: `{python}` has no standardwebhooks (pip install standardwebhooks; set PARTNEROPS_TEST_PYTHON)"
    );
    None
}

struct PyReceiver {
    child: Child,
    url: String,
    secrets: std::path::PathBuf,
    log: std::path::PathBuf,
}

impl PyReceiver {
    fn start(python: &str, dir: &Path) -> PyReceiver {
        let secrets = dir.join("secrets.json");
        let log = dir.join("log.ndjson");
        std::fs::write(&secrets, "[]").unwrap();
        let mut child = Command::new(python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webhook_receiver.py"))
            .arg(&secrets)
            .arg(&log)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut port = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        PyReceiver {
            child,
            url: format!("http://127.0.0.1:{}/hooks", port.trim()),
            secrets,
            log,
        }
    }

    fn trust(&self, secrets: &[&str]) {
        std::fs::write(&self.secrets, serde_json::to_string(secrets).unwrap()).unwrap();
    }

    /// Per request: its id and the indices of the secrets that verified it.
    fn log(&self) -> Vec<(String, Vec<u64>)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                let verified = v["verified"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_u64().unwrap())
                    .collect();
                (v["id"].as_str().unwrap().to_owned(), verified)
            })
            .collect()
    }
}

impl Drop for PyReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_standardwebhooks_package_verifies_real_deliveries_and_rotations() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let receiver = PyReceiver::start(&python, dir.path());
    let engine = Engine::open(&dir.path().join("e.db")).await.unwrap();
    let cfg = dir.path().join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("program.yaml"), config_yaml(&[&receiver.url])).unwrap();
    let config = partnerops::config::load(&cfg).unwrap();
    let embedded = Embedded::new(engine.clone());
    let plan = partnerops::plan::diff(&config, &embedded.snapshot("acme").await.unwrap());
    embedded
        .apply("acme", &plan.changeset("test".into(), None, None))
        .await
        .unwrap();
    let dispatch = Dispatcher::with_clock(
        engine.clone(),
        DispatchOptions {
            allow_private: true,
            ..DispatchOptions::default()
        },
        Arc::new(SystemClock),
    )
    .unwrap();
    let send = |p: &'static str| {
        let engine = engine.clone();
        async move {
            engine
                .ingest(
                    "acme",
                    &partner_events(p, "2026-03-01T10:00:00Z".parse().unwrap()),
                    BatchFormat::Ndjson,
                )
                .await
                .unwrap();
        }
    };

    // Before a rotation: one secret, and it verifies every message.
    let old = engine
        .webhook_secret("acme", "hook-0")
        .await
        .unwrap()
        .secret;
    receiver.trust(&[&old]);
    send("ann").await;
    let report = dispatch.pass().await.unwrap();
    assert_eq!(report.delivered, PER_PARTNER as u64 + 1);
    let log = receiver.log();
    assert_eq!(log.len(), PER_PARTNER + 1);
    assert!(log.iter().all(|(_, v)| v == &[0]), "{log:?}");

    // During a rotation each message verifies with the old secret and,
    // separately, with the new one: receivers can switch at any time.
    let new = engine
        .rotate_webhook_secret("acme", "hook-0")
        .await
        .unwrap()
        .secret;
    receiver.trust(&[&old, &new]);
    send("bob").await;
    dispatch.pass().await.unwrap();
    let log = receiver.log();
    assert_eq!(log.len(), 2 * (PER_PARTNER + 1));
    assert!(
        log[PER_PARTNER + 1..].iter().all(|(_, v)| v == &[0, 1]),
        "{log:?}"
    );

    // A secret that is not the endpoint's verifies nothing: the receiver
    // refuses, and the message waits for a retry.
    receiver.trust(&[&signature::new_secret()]);
    send("cat").await;
    let report = dispatch.pass().await.unwrap();
    assert_eq!((report.delivered, report.retrying), (0, 1));
    let log = receiver.log();
    assert_eq!(log.last().unwrap().1, Vec::<u64>::new());
}
