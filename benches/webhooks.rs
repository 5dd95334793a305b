//! Webhooks out under load:
//! - dispatch: messages sent to one loopback receiver, one after the other
//!   as an endpoint's order requires (issue: at least 1,000/s);
//! - what writing the outbox costs event ingestion: the same batches with
//!   and without an endpoint subscribed to every message type (issue: under
//!   10% more), for tag-heavy events (50 automations) and for sales (100
//!   commission triggers).
//!
//! Under `cargo test` (no `--bench`) the sizes shrink so the suite stays quick.

#[path = "../tests/support/receiver.rs"]
#[allow(dead_code)]
mod receiver;

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use partnerops::client::{Embedded, Reader, Writer};
use partnerops::engine::Engine;
use partnerops::engine::event::BatchFormat;
use partnerops::engine::outbox::dispatch::{DispatchOptions, Dispatcher, SystemClock};
use partnerops::spec::{Config, EventType, Webhook};
use partnerops::{plan, sample};
use receiver::{Mode, Receiver};

fn benchmarking() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn start() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

struct Rig {
    rt: tokio::runtime::Runtime,
    engine: Engine,
    _dir: tempfile::TempDir,
}

/// An embedded engine with `config` applied.
fn rig(config: &Config) -> Rig {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = rt.block_on(async {
        let engine = Engine::open(&dir.path().join("engine.db")).await.unwrap();
        let embedded = Embedded::new(engine.clone());
        let p = plan::diff(
            config,
            &embedded.snapshot(&config.program.key).await.unwrap(),
        );
        embedded
            .apply(
                &config.program.key,
                &p.changeset("bench".into(), None, None),
            )
            .await
            .unwrap();
        engine
    });
    Rig {
        rt,
        engine,
        _dir: dir,
    }
}

/// `config` with an endpoint subscribed to every message type it may subscribe to.
fn with_endpoint(mut config: Config, url: &str) -> Config {
    config.webhooks = vec![Webhook {
        key: "crm".to_owned(),
        url: url.to_owned(),
        events: EventType::ALL
            .into_iter()
            .filter(|e| *e != EventType::AutomationFired)
            .collect(),
        description: None,
        previously: Vec::new(),
    }];
    config
}

fn ingest(rig: &Rig, lines: &[String]) {
    let report = rig
        .rt
        .block_on(
            rig.engine
                .ingest("bench", &lines.join("\n"), BatchFormat::Ndjson),
        )
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", &report.rejected[..1]);
    assert_eq!(report.accepted, lines.len());
}

fn dispatch(c: &mut Criterion) {
    let batch = if benchmarking() { 2_500 } else { 50 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // The receiver serves on this runtime's threads: it lives to the end.
    let receiver = rt.block_on(Receiver::start(Mode::Up));
    let mut config = with_endpoint(sample::runtime_config(50, 0, 0), &receiver.url);
    // One message per join.
    config.webhooks[0].events = vec![EventType::PartnerJoined];
    let rig = rig(&config);
    let dispatcher = Dispatcher::with_clock(
        rig.engine.clone(),
        DispatchOptions {
            allow_private: true,
            ..DispatchOptions::default()
        },
        Arc::new(SystemClock),
    )
    .unwrap();
    let joins = |round: usize| -> Vec<String> {
        (0..batch)
            .map(|i| {
                format!(
                    r#"{{"id":"r{round}-{i}","type":"partner.joined","at":"2026-01-01T00:00:00Z","partner":{{"key":"r{round}-p{i}"}}}}"#
                )
            })
            .collect()
    };
    let mut group = c.benchmark_group("webhooks");
    group.sample_size(10);
    group.throughput(Throughput::Elements(batch as u64));
    let round = Cell::new(0);
    group.bench_function("dispatch_one_endpoint/loopback", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                ingest(&rig, &joins(round.get()));
                round.set(round.get() + 1);
                receiver.clear();
                let started = Instant::now();
                let report = rig.rt.block_on(dispatcher.pass()).unwrap();
                total += started.elapsed();
                assert_eq!(report.delivered, batch as u64);
                assert_eq!(receiver.count(), batch);
            }
            total
        });
    });
    group.finish();
    drop(rt);
}

/// Times the same rounds of events on `rigs` (made outside the clock), in
/// turn, so both see the machine in the same state.
fn compare(
    c: &mut Criterion,
    name: &str,
    rigs: [(&str, &Rig); 2],
    batch: usize,
    make: &dyn Fn(usize) -> Vec<String>,
) {
    let mut group = c.benchmark_group("webhooks");
    group.sample_size(10);
    group.throughput(Throughput::Elements(batch as u64));
    for (label, rig) in rigs {
        let round = Cell::new(PAIRED);
        group.bench_function(format!("{name}/{label}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let lines = make(round.get());
                    round.set(round.get() + 1);
                    let started = Instant::now();
                    ingest(rig, &lines);
                    total += started.elapsed();
                }
                total
            });
        });
    }
    group.finish();
}

/// The overhead of the outbox as the machine sees it now: the same rounds
/// on both rigs one after the other, so a load that comes and goes (other
/// builds on a shared machine) weighs on both alike. Prints the median of
/// the per-round ratios.
/// Rounds [`paired`] takes; criterion's start after them.
const PAIRED: usize = 15;

fn paired(name: &str, plain: &Rig, hooked: &Rig, make: &dyn Fn(usize) -> Vec<String>) {
    if !benchmarking() {
        return;
    }
    let mut ratios = Vec::new();
    let (mut without, mut with) = (Duration::ZERO, Duration::ZERO);
    for round in 0..PAIRED {
        let lines = make(round);
        let started = Instant::now();
        ingest(plain, &lines);
        let a = started.elapsed();
        let started = Instant::now();
        ingest(hooked, &lines);
        let b = started.elapsed();
        without += a;
        with += b;
        ratios.push(b.as_secs_f64() / a.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    eprintln!(
        "{name}: the outbox adds {:+.1}% (median of {PAIRED} paired rounds; {:+.1}% in total: {:.2} s without, {:.2} s with)",
        (ratios[ratios.len() / 2] - 1.0) * 100.0,
        (with.as_secs_f64() / without.as_secs_f64() - 1.0) * 100.0,
        without.as_secs_f64(),
        with.as_secs_f64(),
    );
}

fn outbox_cost(c: &mut Criterion) {
    let (partners, batch) = if benchmarking() {
        (10_000, 10_000)
    } else {
        (200, 200)
    };
    // Tag-heavy: 50 automations.
    let plain = rig(&sample::runtime_config(50, 0, 0));
    let hooked = rig(&with_endpoint(
        sample::runtime_config(50, 0, 0),
        "https://hooks.example.com/partnerops",
    ));
    let joins = sample::events(partners, partners, start());
    for r in [&plain, &hooked] {
        ingest(r, &joins);
    }
    let events_round = |round: usize| {
        let first = partners + round * batch;
        sample::events(first + batch, partners, start()).split_off(first)
    };
    paired("ingest_50_automations", &plain, &hooked, &events_round);
    compare(
        c,
        "ingest_50_automations",
        [("without_endpoint", &plain), ("with_endpoint", &hooked)],
        batch,
        &events_round,
    );

    // Sales: 100 commission triggers, a commission per sale.
    let plain = rig(&sample::runtime_config(50, 100, 5));
    let hooked = rig(&with_endpoint(
        sample::runtime_config(50, 100, 5),
        "https://hooks.example.com/partnerops",
    ));
    let setup: Vec<String> = sample::events(partners * 3, partners, start())
        .into_iter()
        .filter(|e| !e.contains("\"partner.active\""))
        .collect();
    for r in [&plain, &hooked] {
        ingest(r, &setup);
    }
    let sales = |round: usize| -> Vec<String> {
        let at = |i: usize| {
            (start()
                + chrono::Duration::seconds(i64::try_from(10_000_000 + round * batch + i).unwrap()))
            .to_rfc3339()
        };
        (0..batch)
            .map(|i| {
                let p = i % partners;
                format!(
                    r#"{{"id":"t{round}-{i}","type":"transaction.created","at":"{}","transaction":{{"key":"tx-{round}-{i}","customer":"c-{p}-0","amount":"49.00","subscription_key":"s-{p}-0","kind":"recurring"}}}}"#,
                    at(i)
                )
            })
            .collect()
    };
    paired("transactions_100_triggers", &plain, &hooked, &sales);
    compare(
        c,
        "transactions_100_triggers",
        [("without_endpoint", &plain), ("with_endpoint", &hooked)],
        batch,
        &sales,
    );
}

criterion_group!(benches, dispatch, outbox_cost);
criterion_main!(benches);
