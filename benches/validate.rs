//! `validate` of a generated 10,000-resource config (target: under 100 ms).

use criterion::{Criterion, criterion_group, criterion_main};
use partnerops::{config, sample};

fn validate_10k(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let generated = sample::config(10_000);
    assert!(generated.len() >= 10_000, "{} resources", generated.len());
    sample::write_dir(&generated, dir.path()).unwrap();
    let loaded = config::load(dir.path()).expect("the sample is valid");
    assert_eq!(loaded, generated);

    let mut group = c.benchmark_group("validate");
    group.sample_size(20);
    group.bench_function("10k_resources", |b| {
        b.iter(|| config::load(dir.path()).expect("valid"));
    });
    group.finish();
}

criterion_group!(benches, validate_10k);
criterion_main!(benches);
