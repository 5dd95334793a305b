//! The runtime under load, over loopback HTTP against a real server:
//! - events through the batch endpoint with 50 automations (issue: 20,000/s);
//! - transactions with 100 commission triggers of 5 rules each (10,000/s);
//! - refunds of those transactions, each reversing its lines (10,000/s);
//! - the daily sweep with the 10 daily checks of the Partnero playbook.
//!
//! Under `cargo test` (no `--bench`) the sizes shrink so the suite stays quick.

use std::cell::Cell;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use partnerops::client::{Embedded, HttpWriter, Reader, Writer};
use partnerops::engine::Engine;
use partnerops::engine::access::Scope;
use partnerops::{plan, sample};

fn benchmarking() -> bool {
    std::env::args().any(|a| a == "--bench")
}

struct Rig {
    rt: tokio::runtime::Runtime,
    http: HttpWriter,
    _dir: tempfile::TempDir,
}

/// A real server on 127.0.0.1:0 with `config` applied.
fn rig(config: &partnerops::spec::Config) -> Rig {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let http = rt.block_on(async {
        let engine = Engine::open(&dir.path().join("engine.db")).await.unwrap();
        let token = engine.create_token(vec![Scope::Admin], None).await.unwrap();
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(partnerops::server::serve(
            listener,
            partnerops::server::router(engine),
            std::future::pending(),
        ));
        HttpWriter::new(&url, Some(token)).unwrap()
    });
    Rig {
        rt,
        http,
        _dir: dir,
    }
}

fn send(rig: &Rig, program: &str, lines: &[String]) {
    let report = rig
        .rt
        .block_on(rig.http.send_events(program, lines.join("\n")))
        .unwrap();
    assert!(
        report.rejected.is_empty(),
        "{:?}",
        &report.rejected[..report.rejected.len().min(3)]
    );
    // Duplicates would be timed doing nothing.
    assert_eq!(
        report.accepted,
        lines.len(),
        "{:?}",
        &report.duplicates[..report.duplicates.len().min(3)]
    );
}

/// Times sending batch `round` (made outside the clock) for each iteration;
/// every round's events are new, so none is a duplicate. The count lives
/// outside: criterion calls a benchmark's function again after its warm-up.
fn time_batches(
    b: &mut criterion::Bencher,
    rig: &Rig,
    round: &Cell<usize>,
    mut make: impl FnMut(usize) -> Vec<String>,
) {
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let lines = make(round.get());
            round.set(round.get() + 1);
            let started = Instant::now();
            send(rig, "bench", &lines);
            total += started.elapsed();
        }
        total
    });
}

fn start() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

/// Events after the partners' joins, with ids and transaction keys unique to `round`.
fn events_round(partners: usize, batch: usize, round: usize) -> Vec<String> {
    // The generator's event n is id "e{n}": skip the joins and earlier rounds.
    let first = partners + round * batch;
    sample::events(first + batch, partners, start()).split_off(first)
}

fn ingest(c: &mut Criterion) {
    let (partners, batch) = if benchmarking() {
        (10_000, 10_000)
    } else {
        (200, 200)
    };
    let rig = rig(&sample::runtime_config(50, 0, 0));
    let joins = sample::events(partners, partners, start());
    send(&rig, "bench", &joins);

    let mut group = c.benchmark_group("runtime");
    group.sample_size(10);
    group.throughput(Throughput::Elements(batch as u64));
    let round = Cell::new(0);
    group.bench_function("ingest_batch_50_automations/http", |b| {
        time_batches(b, &rig, &round, |round| {
            events_round(partners, batch, round)
        });
    });
    group.finish();
}

fn transactions(c: &mut Criterion) {
    let (customers, batch) = if benchmarking() {
        (10_000, 10_000)
    } else {
        (200, 200)
    };
    let rig = rig(&sample::runtime_config(50, 100, 5));
    // Partners, each with one referred customer holding one product.
    let setup: Vec<String> = sample::events(customers * 3, customers, start())
        .into_iter()
        .filter(|e| !e.contains("\"partner.active\""))
        .collect();
    send(&rig, "bench", &setup);

    let mut group = c.benchmark_group("runtime");
    group.sample_size(10);
    group.throughput(Throughput::Elements(batch as u64));
    let round = Cell::new(0);
    group.bench_function("transactions_100_triggers_5_rules/http", |b| {
        time_batches(b, &rig, &round, |round| {
            sales_round(customers, batch, round)
        });
    });
    group.finish();
}

/// Sales of round `round`, `batch` of them over `customers`.
fn sales_round(customers: usize, batch: usize, round: usize) -> Vec<String> {
    let at = |i: usize| {
        (start()
            + chrono::Duration::seconds(i64::try_from(10_000_000 + round * batch + i).unwrap()))
        .to_rfc3339()
    };
    (0..batch)
        .map(|i| {
            let p = i % customers;
            format!(
                r#"{{"id":"t{round}-{i}","type":"transaction.created","at":"{}","transaction":{{"key":"tx-{round}-{i}","customer":"c-{p}-0","amount":"49.00","subscription_key":"s-{p}-0","kind":"recurring"}}}}"#,
                at(i)
            )
        })
        .collect()
}

fn refunds(c: &mut Criterion) {
    let (customers, batch) = if benchmarking() {
        (10_000, 10_000)
    } else {
        (200, 200)
    };
    let rig = rig(&sample::runtime_config(50, 100, 5));
    let setup: Vec<String> = sample::events(customers * 3, customers, start())
        .into_iter()
        .filter(|e| !e.contains("\"partner.active\""))
        .collect();
    send(&rig, "bench", &setup);

    let mut group = c.benchmark_group("runtime");
    group.sample_size(10);
    group.throughput(Throughput::Elements(batch as u64));
    let round = Cell::new(0);
    group.bench_function("refunds_of_100_trigger_sales/http", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let r = round.get();
                round.set(r + 1);
                // The sales (round 2r), outside the clock; then a partial
                // refund of each, dated in the next round's slot so every
                // event stays in order, which reverses its lines in proportion.
                send(&rig, "bench", &sales_round(customers, batch, 2 * r));
                let refunds: Vec<String> = (0..batch)
                    .map(|i| {
                        let at = start()
                            + chrono::Duration::seconds(
                                i64::try_from(10_000_000 + (2 * r + 1) * batch + i).unwrap(),
                            );
                        format!(
                            r#"{{"id":"r{r}-{i}","type":"transaction.refunded","at":"{}","refund":{{"key":"rf-{r}-{i}","transaction":"tx-{}-{i}","amount":"12.25"}}}}"#,
                            at.to_rfc3339(),
                            2 * r
                        )
                    })
                    .collect();
                let started = Instant::now();
                send(&rig, "bench", &refunds);
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();
}

fn sweep(c: &mut Criterion) {
    let partners: usize = if benchmarking() { 100_000 } else { 500 };
    let playbook =
        partnerops::config::load(std::path::Path::new("examples/partnero-playbook")).unwrap();
    assert_eq!(
        playbook
            .automations
            .iter()
            .filter(|a| a.when.is_daily_check())
            .count(),
        10
    );
    let rig = rig(&playbook);
    // Well before the clock: each iteration sweeps a day later, and an idle
    // machine runs more than a thousand of them (a sweep as of a day that
    // has not come yet is refused).
    let end: DateTime<Utc> = "2000-06-01T00:00:00Z".parse().unwrap();
    let step = chrono::Duration::days(730) / i32::try_from(partners).unwrap();
    let joins: Vec<String> = (0..partners)
        .map(|i| {
            let at = end - step * i32::try_from(partners - i).unwrap();
            format!(r#"{{"id":"j{i}","type":"partner.joined","at":"{}","partner":{{"key":"p{i:07}"}}}}"#, at.to_rfc3339())
        })
        .collect();
    for chunk in joins.chunks(10_000) {
        send(&rig, "playbook", chunk);
    }
    // The first sweep catches up two years of checks; what follows is daily.
    let mut day = end;
    rig.rt
        .block_on(rig.http.sweep(Some("playbook"), day))
        .unwrap();

    let mut group = c.benchmark_group("runtime");
    group.sample_size(10);
    group.throughput(Throughput::Elements(partners as u64));
    group.bench_function("daily_sweep_10_checks/http", |b| {
        b.iter(|| {
            day += chrono::Duration::days(1);
            rig.rt
                .block_on(rig.http.sweep(Some("playbook"), day))
                .unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, ingest, transactions, refunds, sweep);
criterion_main!(benches);
