//! Stripe webhook deliveries through `POST /v1/programs/{program}/sources/stripe`
//! over loopback HTTP against a real server, one signed Stripe event per
//! request as Stripe sends them, 128 in flight (issue 15: 5,000 events/s).
//! Each customer is a referral (`customer.created` with metadata.partner),
//! its subscription (`customer.subscription.created`) and its first invoice
//! (`invoice.paid`), in that order; customers go side by side.
//!
//! Under `cargo test` (no `--bench`) the sizes shrink so the suite stays quick.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use partnerops::client::{Embedded, Reader, Writer};
use partnerops::engine::Engine;
use partnerops::engine::event::BatchFormat;
use partnerops::plan;
use partnerops::sources::stripe::fixtures::{self as f, Item, Line, Shape};
use partnerops::sources::stripe::signature;
use serde_json::Value;

const SECRET: &str = "whsec_benchmarkSecret0123456789abcdef";
const PARTNERS: usize = 1_000;
const IN_FLIGHT: usize = 128;

fn benchmarking() -> bool {
    std::env::args().any(|a| a == "--bench")
}

const CONFIG: &str = "\
program: { key: saas, name: SaaS, currency: USD, timezone: UTC }
products:
  - { key: inbox, name: Inbox, stripe: { prices: [price_inbox] } }
  - { key: live-chat, name: Live Chat, stripe: { prices: [price_chat] } }
  - { key: knowledge-base, name: Knowledge Base, stripe: { prices: [price_kb] } }
  - { key: surveys, name: Surveys, stripe: { prices: [price_surveys] } }
commission_triggers:
  - { key: inbox-20, name: Inbox, on: transaction_created, commission: { percent: 20 }, rules: [ { product.key: { any_of: [inbox] } } ] }
  - { key: chat-10, name: Chat, on: transaction_created, commission: { percent: 10 }, rules: [ { product.key: { any_of: [live-chat] } } ] }
  - { key: kb-15, name: KB, on: transaction_created, commission: { percent: 15 }, drip: { installments: 3 }, rules: [ { product.key: { any_of: [knowledge-base] } } ] }
  - { key: surveys-flat, name: Surveys, on: transaction_created, commission: { flat: 25 }, rules: [ { product.key: { any_of: [surveys] } } ] }
";

struct Rig {
    rt: tokio::runtime::Runtime,
    url: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn rig() -> Rig {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = rt.block_on(async {
        let engine = Engine::open(&dir.path().join("engine.db")).await.unwrap();
        let config_dir = dir.path().join("config");
        std::fs::create_dir_all(&config_dir).unwrap();
        std::fs::write(config_dir.join("saas.yaml"), CONFIG).unwrap();
        let config = partnerops::config::load(&config_dir).unwrap();
        let embedded = Embedded::new(engine.clone());
        let p = plan::diff(&config, &embedded.snapshot("saas").await.unwrap());
        embedded
            .apply("saas", &p.changeset("bench".into(), None, None))
            .await
            .unwrap();
        embedded.set_stripe_secret("saas", SECRET).await.unwrap();
        let joins: Vec<String> = (0..PARTNERS)
            .map(|i| {
                serde_json::json!({"id": format!("join-{i}"), "type": "partner.joined",
                    "at": "2026-01-01T00:00:00Z", "partner": {"key": format!("partner-{i}")}})
                .to_string()
            })
            .collect();
        let report = engine
            .ingest("saas", &joins.join("\n"), BatchFormat::Ndjson)
            .await
            .unwrap();
        assert_eq!(report.accepted, PARTNERS);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/v1/programs/saas/sources/stripe",
            listener.local_addr().unwrap()
        );
        tokio::spawn(partnerops::server::serve(
            listener,
            // Stripe delivers from a few addresses: a program taking
            // thousands of events a second raises `serve --rate-per-address`
            // (200 a second by default); the concurrency limits stay.
            partnerops::server::router_with(
                engine,
                &partnerops::server::Options {
                    limits: partnerops::server::limits::Limits::without_rates(),
                    ..partnerops::server::Options::default()
                },
            ),
            std::future::pending(),
        ));
        url
    });
    partnerops::client::install_crypto();
    Rig {
        rt,
        url,
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(IN_FLIGHT)
            .build()
            .unwrap(),
        _dir: dir,
    }
}

const PRICES: [&str; 4] = ["price_inbox", "price_chat", "price_kb", "price_surveys"];

/// The three Stripe events of customer `n`, as request bodies.
fn customer_events(n: usize, t: i64) -> Vec<String> {
    let customer = format!("cus_{n}");
    let item = format!("si_{n}");
    let price = PRICES[n % PRICES.len()];
    let events: [Value; 3] = [
        f::event(
            &format!("evt_c{n}"),
            "customer.created",
            t,
            Shape::Basil,
            f::customer(&customer, t, Some(&format!("partner-{}", n % PARTNERS))),
        ),
        f::event(
            &format!("evt_s{n}"),
            "customer.subscription.created",
            t + 1,
            Shape::Basil,
            f::subscription(
                &format!("sub_{n}"),
                &customer,
                "active",
                t + 1,
                &[Item {
                    id: &item,
                    price,
                    lookup_key: None,
                    unit_amount: 4900,
                }],
            ),
        ),
        f::event(
            &format!("evt_i{n}"),
            "invoice.paid",
            t + 2,
            Shape::Basil,
            f::invoice(
                &format!("in_{n}"),
                &customer,
                "usd",
                "subscription_create",
                t + 2,
                Some(&format!("sub_{n}")),
                None,
                Shape::Basil,
                &[Line {
                    id: &format!("il_{n}"),
                    amount: 4900,
                    subscription_item: Some(&item),
                    price,
                    discount: 0,
                }],
            ),
        ),
    ];
    events.iter().map(Value::to_string).collect()
}

/// Sends `customers`' events, each customer's in order, `IN_FLIGHT` requests
/// at once; every answer must be a first delivery whose events were taken.
async fn deliver(http: &reqwest::Client, url: &str, customers: Vec<Vec<String>>) {
    let queue = Arc::new(std::sync::Mutex::new(customers));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let queue = queue.clone();
        let http = http.clone();
        let url = url.to_owned();
        workers.spawn(async move {
            loop {
                let next = queue.lock().unwrap().pop();
                let Some(bodies) = next else { break };
                for body in bodies {
                    let header =
                        signature::sign(SECRET, chrono::Utc::now().timestamp(), body.as_bytes());
                    let response = http
                        .post(&url)
                        .header("Stripe-Signature", header)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                    let answer: Value = response.json().await.unwrap();
                    assert_eq!(answer["status"], "processed", "{answer}");
                    assert!(
                        answer["events"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .all(|e| e["result"] == "accepted"),
                        "{answer}"
                    );
                }
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }
}

fn webhooks(c: &mut Criterion) {
    let customers_per_round = if benchmarking() { 1_000 } else { 20 };
    let rig = rig();
    // Stripe's `created` moves on with the clock: customer n's three events
    // are three seconds after customer n - 1's. (With every customer at the
    // same three seconds, concurrent deliveries reached each partner out of
    // order, and every batch replayed partners' whole, growing histories:
    // that is the late-event path, which tests/stripe.rs covers.)
    let t = (chrono::Utc::now() - chrono::Duration::days(30)).timestamp();
    let round = Cell::new(0);
    let mut group = c.benchmark_group("stripe");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(if benchmarking() { 20 } else { 1 }))
        .throughput(Throughput::Elements((3 * customers_per_round) as u64));
    group.bench_function("webhook deliveries, 128 in flight", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let first = round.get() * customers_per_round;
                round.set(round.get() + 1);
                let customers: Vec<Vec<String>> = (first..first + customers_per_round)
                    .map(|n| customer_events(n, t + 3 * i64::try_from(n).unwrap()))
                    .collect();
                let started = Instant::now();
                rig.rt.block_on(deliver(&rig.http, &rig.url, customers));
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, webhooks);
criterion_main!(benches);
