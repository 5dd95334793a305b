//! `partnerops serve` as an attacker meets it: limits on connections, bodies
//! and rates, each refusal a problem naming its flag; and HTTPS.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::cli::{Session, code, stderr, stdout};

/// `partnerops serve` on a free port with `flags`; returns the child and its
/// address once it listens.
fn serve(db: &std::path::Path, flags: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_partnerops"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--sweep-every",
            "0",
            "--db",
        ])
        .arg(db)
        .args(flags)
        .env_remove("PARTNEROPS_ENGINE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("serve says where it listens").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep reading its log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, address)
}

fn admin_token(db: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_partnerops"))
        .args(["token", "create", "--scope", "admin", "--db"])
        .arg(db)
        .env_remove("PARTNEROPS_ENGINE")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

struct Stop(Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn client() -> reqwest::Client {
    partnerops::client::install_crypto();
    reqwest::Client::builder().build().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn rates_bodies_and_connections_are_limited_by_flag() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let admin = admin_token(&db);
    let (child, url) = serve(
        &db,
        &[
            "--rate-per-token",
            "5/m",
            "--failed-auth-per-address",
            "3/m",
            "--body-limit",
            "1KiB",
            "--max-connections",
            "20",
        ],
    );
    let _stop = Stop(child);
    let http = client();

    // Body limits, per route, named in the 413.
    let r = http
        .post(format!("{url}/v1/programs/p/impact"))
        .bearer_auth(&admin)
        .body(vec![b' '; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let problem: serde_json::Value = r.json().await.unwrap();
    assert_eq!(problem["limit"], "body-limit", "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("1 KiB"),
        "{problem}"
    );

    // Per token: five (one was the 413 above), then 429 with Retry-After,
    // naming the flag.
    for _ in 0..4 {
        let r = http
            .get(format!("{url}/v1/programs"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = http
        .get(format!("{url}/v1/programs"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&wait), "{wait}");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = r.json().await.unwrap();
    assert_eq!(problem["limit"], "rate-per-token");
    assert_eq!(problem["type"], "urn:partnerops:problem:rate_limited");
    // The health check is never limited.
    assert_eq!(
        http.get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Failed authentication per address: three 401s, then 429 even for a
    // good token (the address waits), without the token being looked at.
    for _ in 0..3 {
        let r = http
            .get(format!("{url}/v1/programs"))
            .bearer_auth("po_bad")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = http
        .get(format!("{url}/v1/programs"))
        .bearer_auth("po_bad")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let problem: serde_json::Value = r.json().await.unwrap();
    assert_eq!(problem["limit"], "failed-auth-per-address");

    // Connections: past 20, each new one is told 503 and closed.
    let held: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(url.trim_start_matches("http://")).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = String::new();
    let _ = extra.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");
    assert!(answer.contains("\"limit\":\"max-connections\""), "{answer}");
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    let mut again = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    again.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_have_their_own_larger_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let admin = admin_token(&db);
    let (child, url) = serve(&db, &["--body-limit", "1KiB", "--upload-limit", "64KiB"]);
    let _stop = Stop(child);
    let session = Session {
        engine: support::cli::Engine::Http {
            url: url.clone(),
            token: admin.clone(),
        },
        dir: tempfile::tempdir().unwrap(),
    };
    // A config's changeset is larger than 1 KiB and goes through.
    let config = session.config("examples/gigakick");
    let applied = session.run(&["apply", config.to_str().unwrap(), "--yes"]);
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    let big = "x".repeat(100 * 1024);
    let r = client()
        .post(format!("{url}/v1/programs/gigakick/events"))
        .bearer_auth(&admin)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let problem: serde_json::Value = r.json().await.unwrap();
    assert_eq!(problem["limit"], "upload-limit");
    let sent = session.run(&[
        "events",
        "send",
        &format!(
            "{}/examples/gigakick/events.ndjson",
            env!("CARGO_MANIFEST_DIR")
        ),
        "--batch-size",
        "20",
    ]);
    assert_eq!(code(&sent), 0, "{}", stderr(&sent));
}

#[tokio::test(flavor = "multi_thread")]
async fn https_end_to_end_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_file = dir.path().join("cert.pem");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    let db = dir.path().join("e.db");
    let admin = admin_token(&db);
    let (child, url) = serve(
        &db,
        &[
            "--tls-cert",
            cert_file.to_str().unwrap(),
            "--tls-key",
            key_file.to_str().unwrap(),
        ],
    );
    let _stop = Stop(child);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let url = url.replace("127.0.0.1", "localhost");

    partnerops::client::install_crypto();
    let trusted = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let r = trusted
        .get(format!("{url}/v1/programs"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: serde_json::Value = r.json().await.unwrap();
    assert!(page["items"].is_array());

    // The CLI, trusting the certificate through SSL_CERT_FILE.
    let session = Session {
        engine: support::cli::Engine::Http {
            url: url.clone(),
            token: admin.clone(),
        },
        dir: tempfile::tempdir().unwrap(),
    };
    let config = session.config("examples/gigakick");
    let applied = session.run_env(
        &[("SSL_CERT_FILE", cert_file.to_str().unwrap())],
        &["apply", config.to_str().unwrap(), "--yes"],
    );
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    let history = session.run_env(
        &[("SSL_CERT_FILE", cert_file.to_str().unwrap())],
        &["history"],
    );
    assert!(stdout(&history).contains("+28"), "{}", stdout(&history));

    // Plain HTTP to the TLS port gets nowhere, and a client that does not
    // trust the certificate refuses it.
    let plain = client()
        .get(url.replace("https://", "http://") + "/healthz")
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    let untrusting = session.run(&["history"]);
    assert_eq!(code(&untrusting), 1);
}
