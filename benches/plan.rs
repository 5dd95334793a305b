//! plan and apply as the CLI runs them: load a 10,000-resource config directory,
//! read the engine's snapshot, diff; and applying 10,000 creates.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use partnerops::client::{Embedded, Reader, Writer};
use partnerops::engine::Engine;
use partnerops::{config, plan, sample};

fn plan_and_apply(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config");
    sample::write_dir(&sample::config(10_000), &config_dir).unwrap();

    let live = rt.block_on(async {
        let engine = Embedded::new(Engine::open(&dir.path().join("live.db")).await.unwrap());
        let cfg = config::load(&config_dir).unwrap();
        let p = plan::diff(&cfg, &engine.snapshot("sample").await.unwrap());
        engine
            .apply("sample", &p.changeset("bench".into(), None, None))
            .await
            .unwrap();
        engine
    });

    let mut group = c.benchmark_group("plan");
    group.sample_size(20);
    group.bench_function("no_changes_10k", |b| {
        b.iter(|| {
            let cfg = config::load(&config_dir).unwrap();
            let snapshot = rt.block_on(live.snapshot("sample")).unwrap();
            let p = plan::diff(&cfg, &snapshot);
            assert!(p.is_empty());
        });
    });
    group.sample_size(10);
    group.bench_function("apply_10k_creates", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let db = dir.path().join(format!("fresh-{i}-{}.db", rand_suffix()));
                let engine = rt.block_on(Engine::open(&db)).unwrap();
                let client = Embedded::new(engine);
                let started = Instant::now();
                let cfg = config::load(&config_dir).unwrap();
                rt.block_on(async {
                    let p = plan::diff(&cfg, &client.snapshot("sample").await.unwrap());
                    client
                        .apply("sample", &p.changeset("bench".into(), None, None))
                        .await
                        .unwrap();
                });
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

criterion_group!(benches, plan_and_apply);
criterion_main!(benches);
