//! Several `partnerops serve` on one PostgreSQL database behave as one
//! engine: overlapping event batches sent to all three at once, with one
//! replica killed mid-batch, take effect exactly once; the daily checks
//! started on all three at once fire once each; two changesets on one base
//! sent to two replicas: one applies, the other is stale.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use partnerops::engine::Engine;
use partnerops::engine::access::Scope;
use partnerops::engine::event::BatchFormat;
use partnerops::store::StoreOptions;
use serde_json::{Value, json};
use support::program::apply;

const CONFIG: &str = r#"
program: { key: gk, name: GigaKick, currency: USD, timezone: UTC }
tags: [ { key: veteran } ]
products:
  - { key: inbox, name: Inbox, price: 99 }
automations:
  - { key: month-one, when: { anniversary: { days: 30 } }, then: [ { add_tag: veteran } ] }
commission_triggers:
  - key: inbox-20
    commission: { percent: 20 }
    rules: [ { product.key: { any_of: [inbox] } } ]
"#;

const PARTNERS: usize = 200;

/// A replica: `partnerops serve` on the database, on a port of its own.
struct Replica {
    child: Child,
    url: String,
}

impl Replica {
    fn start(db: &str) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_partnerops"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--sweep-every",
                "0",
                "--db",
                db,
            ])
            .args(["--db-pool-size", "4", "--db-statement-timeout", "60s"])
            .env_remove("PARTNEROPS_ENGINE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("serve exited before listening")
                .unwrap();
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining stderr so the replica never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Replica { child, url }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every partner joins, refers a customer who takes Inbox and buys it
/// twice: four events and two commissions per partner.
fn events() -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..PARTNERS {
        let (p, c) = (format!("p{i:04}"), format!("c{i:04}"));
        out.push(json!({"id": format!("j{i}"), "type": "partner.joined", "at": "2025-03-01T08:00:00Z", "partner": {"key": p}}).to_string());
        out.push(json!({"id": format!("s{i}"), "type": "customer.signed_up", "at": "2025-03-01T09:00:00Z", "customer": c, "partner": {"key": p}}).to_string());
        out.push(json!({"id": format!("u{i}"), "type": "customer_product.upserted", "at": "2025-03-01T10:00:00Z", "customer": {"key": c}, "product": "inbox", "status": "active", "external_subscription_key": format!("sub{i}")}).to_string());
        for n in 0..2 {
            out.push(json!({"id": format!("t{i}-{n}"), "type": "transaction.created", "at": format!("2025-03-0{}T10:00:00Z", 2 + n),
                "transaction": {"key": format!("t{i}-{n}"), "customer": c, "amount": "100.00", "kind": "recurring", "subscription_key": format!("sub{i}")}}).to_string());
        }
    }
    out
}

async fn post_events(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    batch: &[String],
) -> reqwest::Result<Value> {
    http.post(format!("{url}/v1/programs/gk/events"))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(batch.join("\n"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_on_one_database_act_as_one_engine() {
    let Some(db) = support::postgres::database().await else {
        return;
    };
    let engine = Engine::open_with(db.url.as_ref(), &StoreOptions::default())
        .await
        .unwrap();
    apply(&engine, CONFIG).await;
    let token = engine.create_token(vec![Scope::Admin], None).await.unwrap();
    let mut replicas: Vec<Replica> = (0..3).map(|_| Replica::start(&db.url)).collect();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();

    // Overlapping batches: each window of 150 events starts 100 after the
    // last, and every batch goes to all three replicas at once.
    let all = events();
    let windows: Vec<&[String]> = (0..all.len())
        .step_by(100)
        .map(|start| &all[start..(start + 150).min(all.len())])
        .collect();
    let mut accepted = 0usize;
    for (n, batch) in windows.iter().enumerate() {
        let urls: Vec<String> = replicas.iter().map(|r| r.url.clone()).collect();
        let sends = urls.iter().map(|u| post_events(&http, u, &token, batch));
        let sends = futures_util::future::join_all(sends);
        if n == windows.len() / 2 {
            // Kill the third replica while its copy of this batch is in
            // flight: whatever it had not committed must not count.
            let (answers, ()) = tokio::join!(sends, async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                replicas[2].child.kill().unwrap();
            });
            for a in &answers[..2] {
                accepted += a.as_ref().unwrap()["accepted"].as_u64().unwrap() as usize;
            }
            if let Ok(a) = &answers[2] {
                accepted += a["accepted"].as_u64().unwrap() as usize;
            }
            replicas[2].child.wait().unwrap();
            replicas[2] = Replica::start(&db.url);
        } else {
            for a in sends.await {
                accepted += a.unwrap()["accepted"].as_u64().unwrap() as usize;
            }
        }
    }
    // Every event recorded once, whichever replica took it (the killed
    // replica may have committed some whose answer it never sent, and the
    // others then called them duplicates: accepted counts at most all).
    assert!(
        accepted <= all.len() && accepted >= all.len() - 150,
        "{accepted}"
    );
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE program = 'gk'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored as usize, all.len());
    pool.close().await;
    let lines = engine.commissions("gk", None).await.unwrap();
    assert_eq!(lines.len(), PARTNERS * 2);
    assert_eq!(
        lines.iter().map(|l| l.amount.minor()).sum::<i64>(),
        (PARTNERS * 2 * 2000) as i64
    );
    // The same as one embedded engine that got every event once.
    let reference_dir = tempfile::tempdir().unwrap();
    let reference = Engine::open(&reference_dir.path().join("e.db"))
        .await
        .unwrap();
    apply(&reference, CONFIG).await;
    reference
        .ingest("gk", &all.join("\n"), BatchFormat::Ndjson)
        .await
        .unwrap();
    let stats = |e: &Engine| {
        let e = e.clone();
        async move {
            let mut out = Vec::new();
            for i in 0..PARTNERS {
                let p = e.partner("gk", &format!("p{i:04}")).await.unwrap();
                out.push(format!("{:?}", p.partner.stats));
            }
            out
        }
    };
    assert_eq!(stats(&engine).await, stats(&reference).await);

    // The daily checks, started on all three replicas at once, fire once
    // per partner between them.
    let sweeps = replicas.iter().map(|r| {
        http.post(format!(
            "{}/v1/sweep?program=gk&now=2025-04-01T00:00:00Z",
            r.url
        ))
        .bearer_auth(&token)
        .send()
    });
    let mut fired = 0;
    for answer in futures_util::future::join_all(sweeps).await {
        let reports: Value = answer
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        fired += reports[0]["fired"].as_u64().unwrap();
    }
    assert_eq!(fired, PARTNERS as u64);
    for i in [0, PARTNERS / 2, PARTNERS - 1] {
        let detail = engine.partner("gk", &format!("p{i:04}")).await.unwrap();
        assert_eq!(detail.tag_history.len(), 1, "{:?}", detail.tag_history);
    }

    // One base, two replicas: one changeset applies, the other is stale.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        CONFIG.replace(
            "tags: [ { key: veteran } ]",
            "tags: [ { key: veteran }, { key: extra } ]",
        ),
    )
    .unwrap();
    let config = partnerops::config::load(dir.path()).unwrap();
    let before = engine.snapshot("gk").await.unwrap();
    let changeset = partnerops::plan::diff(&config, &before).changeset("race".into(), None, None);
    let applies = replicas[..2].iter().map(|r| {
        http.post(format!("{}/v1/programs/gk/changesets", r.url))
            .bearer_auth(&token)
            .json(&changeset)
            .send()
    });
    let mut statuses: Vec<u16> = futures_util::future::join_all(applies)
        .await
        .into_iter()
        .map(|a| a.unwrap().status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409]);
    assert_eq!(
        engine.snapshot("gk").await.unwrap().revision,
        before.revision + 1
    );

    // Every replica answers /readyz.
    for r in &replicas {
        let ready = http.get(format!("{}/readyz", r.url)).send().await.unwrap();
        assert_eq!(ready.status(), 200);
    }
}
