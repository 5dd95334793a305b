//! `plan --impact-window`: the what-if replay of a 30-day window of events
//! under a planned config (every commission trigger's rate moved by a
//! point), against the live config, in memory. The issue asks for 1M events
//! in under 10 s and under 500 MB.
//!
//! `cargo bench --bench impact` ingests 1M events of 10,000 partners (the
//! runtime bench's program: 50 automations, 100 triggers of 5 rules), all
//! dated in the last 30 days, then times the replay (criterion) and prints
//! one run's time and the process's peak RSS during it (VmHWM from
//! /proc/self/status, reset through /proc/self/clear_refs just before, so
//! the ingest's own peak does not count; what the ingest left allocated
//! does). A plan that changes no trigger or automation is timed too: it
//! asks for no replay. Under `cargo test` the sizes shrink.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use partnerops::client::{Embedded, Reader, Writer};
use partnerops::engine::Engine;
use partnerops::engine::event::BatchFormat;
use partnerops::engine::whatif::WhatIfQuery;
use partnerops::spec::money::Percent;
use partnerops::spec::{Commission, Config, Tag};
use partnerops::{plan, sample};

fn benchmarking() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// The process's peak resident set since the last reset, in MB.
fn peak_rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

fn rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// Resets VmHWM to the current RSS (Linux 4.0 and later).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Every trigger's rate one point higher.
fn raised(config: &Config) -> Config {
    let mut planned = config.clone();
    for t in &mut planned.commission_triggers {
        if let Commission::Percent(p) = t.commission {
            t.commission = Commission::Percent(
                Percent::from_basis_points(i64::from(p.basis_points()) + 100).expect("under 100%"),
            );
        }
    }
    planned
}

fn impact(c: &mut Criterion) {
    let (n, partners) = if benchmarking() {
        (1_000_000, 10_000)
    } else {
        (20_000, 200)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = sample::runtime_config(50, 100, 5);
    let program = config.program.key.clone();
    let engine = rt.block_on(async {
        let engine = Engine::open(&dir.path().join("engine.db")).await.unwrap();
        let embedded = Embedded::new(engine.clone());
        let p = plan::diff(&config, &embedded.snapshot(&program).await.unwrap());
        embedded
            .apply(&program, &p.changeset("bench".into(), None, None))
            .await
            .unwrap();
        // One second apart from 29 days ago: 1M seconds is 11.6 days.
        let start = chrono::Utc::now() - chrono::Duration::days(29);
        let events = sample::events(n, partners, start);
        let began = Instant::now();
        for chunk in events.chunks(5_000) {
            let report = engine
                .ingest(&program, &chunk.join("\n"), BatchFormat::Ndjson)
                .await
                .unwrap();
            assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        }
        eprintln!(
            "impact bench: ingested {n} events of {partners} partners in {:.1} s",
            began.elapsed().as_secs_f64()
        );
        engine
    });
    let planned = raised(&config);
    let query = WhatIfQuery {
        resources: planned.resources().collect(),
        window_days: 30,
        until: None,
        triggers: planned
            .commission_triggers
            .iter()
            .map(|t| t.key.clone())
            .collect(),
    };

    let before = rss_mb();
    reset_peak();
    let began = Instant::now();
    let w = rt.block_on(engine.what_if(&program, &query)).unwrap();
    let took = began.elapsed();
    let peak = peak_rss_mb();
    eprintln!(
        "impact bench: {} window entries of {} partners replayed twice in {:.2} s; \
         total {} -> {} ({}); peak RSS during the replay {} MB (RSS before it {} MB)",
        w.events,
        w.partners,
        took.as_secs_f64(),
        w.total.before,
        w.total.after,
        w.total.difference,
        peak.map_or("?".to_owned(), |m| m.to_string()),
        before.map_or("?".to_owned(), |m| m.to_string()),
    );
    assert!(w.total.difference.minor() > 0, "a raise costs something");

    let mut group = c.benchmark_group("impact");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(if benchmarking() { 60 } else { 1 }));
    group.bench_function(format!("what_if_{n}_events"), |b| {
        b.iter(|| rt.block_on(engine.what_if(&program, &query)).unwrap());
    });
    // A plan that adds a tag: no query, so no replay.
    let mut tag_only = config.clone();
    tag_only.tags.push(Tag {
        key: "zz-new".to_owned(),
        name: None,
        description: None,
        previously: Vec::new(),
    });
    tag_only.sort();
    let snapshot = rt
        .block_on(Embedded::new(engine.clone()).snapshot(&program))
        .unwrap();
    group.bench_function("plan_without_trigger_or_automation_changes", |b| {
        b.iter(|| {
            let p = plan::diff(&tag_only, &snapshot);
            assert!(p.what_if_query(&tag_only, 30).is_none());
        });
    });
    group.finish();
}

criterion_group!(benches, impact);
criterion_main!(benches);
