//! The PostgreSQL store's headline figures, against SQLite embedded:
//! events/s taken by one `partnerops serve` on PostgreSQL and by three on
//! the same database (three clients sending at once either way), and by the
//! embedded engine on a SQLite file; a plan of 10,000 resources over HTTP
//! against a PostgreSQL engine; `db copy` of 1,000,000 events from SQLite
//! to PostgreSQL (timed once, printed) and of 100,000 (criterion).
//!
//! Needs PostgreSQL at PARTNEROPS_TEST_POSTGRES (default
//! postgres://postgres@127.0.0.1:5432/test); makes and drops its own
//! databases. Run: `cargo bench --bench postgres`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use partnerops::client::{HttpReader, Reader, Writer};
use partnerops::engine::Engine;
use partnerops::engine::access::Scope;
use partnerops::engine::event::BatchFormat;
use partnerops::store::StoreOptions;
use partnerops::store::sqlite::SqliteStore;
use partnerops::{config, plan, sample};
use serde_json::json;
use sqlx::Connection;

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

/// Events per batch; each client sends one batch per iteration.
const BATCH: usize = 1_000;
const CLIENTS: usize = 3;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A batch of new partners, each joining, referring a customer who takes
/// Inbox and buys it twice (five events a partner).
fn batch() -> String {
    let mut out = Vec::with_capacity(BATCH);
    for _ in 0..BATCH / 5 {
        let i = NEXT.fetch_add(1, Ordering::Relaxed);
        let (p, c) = (format!("p{i:07}"), format!("c{i:07}"));
        out.push(json!({"id": format!("j{i}"), "type": "partner.joined", "at": "2025-03-01T08:00:00Z", "partner": {"key": p}}).to_string());
        out.push(json!({"id": format!("s{i}"), "type": "customer.signed_up", "at": "2025-03-01T09:00:00Z", "customer": c, "partner": {"key": p}}).to_string());
        out.push(json!({"id": format!("u{i}"), "type": "customer_product.upserted", "at": "2025-03-01T10:00:00Z", "customer": {"key": c}, "product": "inbox", "status": "active", "external_subscription_key": format!("sub{i}")}).to_string());
        for n in 0..2 {
            out.push(json!({"id": format!("t{i}-{n}"), "type": "transaction.created", "at": format!("2025-03-0{}T10:00:00Z", 2 + n),
                "transaction": {"key": format!("t{i}-{n}"), "customer": c, "amount": "100.00", "kind": "recurring", "subscription_key": format!("sub{i}")}}).to_string());
        }
    }
    out.join("\n")
}

fn server_url() -> String {
    std::env::var("PARTNEROPS_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database of the bench's own, dropped with it.
struct Database {
    url: String,
    name: String,
}

impl Database {
    async fn new() -> Database {
        let admin = server_url();
        let name = format!(
            "partnerops_bench_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL answers at PARTNEROPS_TEST_POSTGRES");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        Database {
            url: url.to_string(),
            name,
        }
    }

    async fn drop_now(self) {
        let mut conn = sqlx::PgConnection::connect(&server_url()).await.unwrap();
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await;
    }
}

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
            .args(["--rate-per-token", "0", "--rate-per-address", "0"])
            .env_remove("PARTNEROPS_ENGINE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("serve exited").unwrap();
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
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

async fn apply(engine: &Engine, yaml: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), yaml).unwrap();
    let cfg = config::load(dir.path()).unwrap();
    let client = partnerops::client::Embedded::new(engine.clone());
    let p = plan::diff(&cfg, &client.snapshot(&cfg.program.key).await.unwrap());
    client
        .apply(&cfg.program.key, &p.changeset("bench".into(), None, None))
        .await
        .unwrap();
}

/// Each of CLIENTS clients sends one batch to its replica (round robin), at once.
async fn send_round(http: &reqwest::Client, urls: &[String], token: &str) {
    let batches: Vec<String> = (0..CLIENTS).map(|_| batch()).collect();
    let sends = batches.iter().enumerate().map(|(i, b)| {
        http.post(format!("{}/v1/programs/gk/events", urls[i % urls.len()]))
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(b.clone())
            .send()
    });
    for r in futures_util::future::join_all(sends).await {
        let r = r.unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
}

fn events(c: &mut Criterion) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let mut group = c.benchmark_group("events");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements((BATCH * CLIENTS) as u64));

    let dir = tempfile::tempdir().unwrap();
    let sqlite = rt.block_on(async {
        let e = Engine::open(&dir.path().join("e.db")).await.unwrap();
        apply(&e, CONFIG).await;
        e
    });
    group.bench_function("sqlite_embedded", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let batches: Vec<String> = (0..CLIENTS).map(|_| batch()).collect();
                let started = Instant::now();
                rt.block_on(async {
                    for b in &batches {
                        sqlite.ingest("gk", b, BatchFormat::Ndjson).await.unwrap();
                    }
                });
                total += started.elapsed();
            }
            total
        });
    });

    for replicas in [1usize, 3] {
        let db = rt.block_on(Database::new());
        let token = rt.block_on(async {
            let e = Engine::open_with(db.url.as_ref(), &StoreOptions::default())
                .await
                .unwrap();
            apply(&e, CONFIG).await;
            e.create_token(vec![Scope::Admin], None).await.unwrap()
        });
        let running: Vec<Replica> = (0..replicas).map(|_| Replica::start(&db.url)).collect();
        let urls: Vec<String> = running.iter().map(|r| r.url.clone()).collect();
        group.bench_function(format!("postgres_{replicas}_replicas"), |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for _ in 0..iters {
                    rt.block_on(send_round(&http, &urls, &token));
                }
                started.elapsed()
            });
        });
        drop(running);
        rt.block_on(db.drop_now());
    }
    group.finish();
}

fn plan_over_http(c: &mut Criterion) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config");
    sample::write_dir(&sample::config(10_000), &config_dir).unwrap();
    let db = rt.block_on(Database::new());
    let token = rt.block_on(async {
        let e = Engine::open_with(db.url.as_ref(), &StoreOptions::default())
            .await
            .unwrap();
        let client = partnerops::client::Embedded::new(e.clone());
        let cfg = config::load(&config_dir).unwrap();
        let p = plan::diff(&cfg, &client.snapshot("sample").await.unwrap());
        client
            .apply("sample", &p.changeset("bench".into(), None, None))
            .await
            .unwrap();
        e.create_token(vec![Scope::Admin], None).await.unwrap()
    });
    let replica = Replica::start(&db.url);
    let reader = HttpReader::new(&replica.url, Some(token)).unwrap();
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.bench_function("postgres_http_no_changes_10k", |b| {
        b.iter(|| {
            let cfg = config::load(&config_dir).unwrap();
            let snapshot = rt.block_on(reader.snapshot("sample")).unwrap();
            assert!(plan::diff(&cfg, &snapshot).is_empty());
        });
    });
    group.finish();
    drop(replica);
    rt.block_on(db.drop_now());
}

/// A SQLite engine file holding `n` events (written straight into its
/// table: `db copy` copies rows, whatever made them).
async fn sqlite_with_events(path: &Path, n: usize) {
    let store = SqliteStore::open(path).await.unwrap();
    let pool = store.pool();
    sqlx::query("INSERT INTO programs (key, revision, created_at) VALUES ('gk', 1, '2025-01-01T00:00:00.000000Z')")
        .execute(pool)
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    for chunk in (0..n).collect::<Vec<_>>().chunks(4_000) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO events (program, id, type, at, received_at, body, subject) ",
        );
        q.push_values(chunk, |mut b, i| {
            let body = json!({"id": format!("e{i:08}"), "type": "partner.active", "at": "2025-03-01T08:00:00Z", "partner": format!("p{}", i % 10_000)}).to_string();
            b.push_bind("gk")
                .push_bind(format!("e{i:08}"))
                .push_bind("partner.active")
                .push_bind("2025-03-01T08:00:00.000000Z")
                .push_bind("2025-03-01T08:00:01.000000Z")
                .push_bind(body)
                .push_bind(format!("p{}", i % 10_000));
        });
        q.build().execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    pool.close().await;
}

fn db_copy(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // 1,000,000 events, once: the figure the README gives.
    let million = dir.path().join("million.db");
    rt.block_on(sqlite_with_events(&million, 1_000_000));
    let db = rt.block_on(Database::new());
    let started = Instant::now();
    let report = rt
        .block_on(partnerops::store::copy::copy(
            &million,
            db.url.as_ref(),
            &StoreOptions::default(),
            |_| {},
        ))
        .unwrap();
    println!(
        "db copy of {} rows (1,000,000 events) SQLite -> PostgreSQL, verified: {:.1} s",
        report.rows(),
        started.elapsed().as_secs_f64()
    );
    let back = dir.path().join("back.db");
    let started = Instant::now();
    rt.block_on(partnerops::store::copy::copy(
        db.url.as_ref(),
        &back,
        &StoreOptions::default(),
        |_| {},
    ))
    .unwrap();
    println!(
        "db copy of 1,000,000 events PostgreSQL -> SQLite, verified: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    rt.block_on(db.drop_now());

    let small = dir.path().join("small.db");
    rt.block_on(sqlite_with_events(&small, 100_000));
    let mut group = c.benchmark_group("db_copy");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("sqlite_to_postgres_100k_events", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let db = rt.block_on(Database::new());
                let started = Instant::now();
                rt.block_on(partnerops::store::copy::copy(
                    &small,
                    db.url.as_ref(),
                    &StoreOptions::default(),
                    |_| {},
                ))
                .unwrap();
                total += started.elapsed();
                rt.block_on(db.drop_now());
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, events, plan_over_http, db_copy);
criterion_main!(benches);
