//! The engine's config path: reading a 10,000-resource snapshot and applying a
//! 10,000-resource changeset, embedded and over loopback HTTP.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use partnerops::client::{Embedded, HttpWriter, Reader, Writer};
use partnerops::engine::Engine;
use partnerops::engine::access::Scope;
use partnerops::engine::changeset::{Change, Changeset};
use partnerops::spec::{Kind, Resource, Tag};

fn changeset(base_revision: u64, changes: Vec<Change>) -> Changeset {
    Changeset {
        base_revision,
        changes,
        author: "bench".to_owned(),
        message: None,
        git_commit: None,
    }
}

const N: usize = 10_000;

fn create_tags(base: u64) -> Changeset {
    changeset(
        base,
        (0..N)
            .map(|i| Change::Create {
                resource: Resource::Tag(Tag {
                    key: format!("bulk-{i:05}"),
                    name: Some(format!("Bulk {i}")),
                    description: Some("a tag made by the benchmark".to_owned()),
                    previously: Vec::new(),
                }),
            })
            .collect(),
    )
}

fn delete_tags(base: u64) -> Changeset {
    changeset(
        base,
        (0..N)
            .map(|i| Change::Delete {
                kind: Kind::Tag,
                key: format!("bulk-{i:05}"),
            })
            .collect(),
    )
}

/// Times applying 10,000 creates; the deletes that reset the state are not timed.
fn bench_apply(
    rt: &tokio::runtime::Runtime,
    client: &dyn Writer,
    program: &str,
    iters: u64,
) -> Duration {
    rt.block_on(async {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let base = client.snapshot(program).await.unwrap().revision;
            let create = create_tags(base);
            let started = Instant::now();
            client.apply(program, &create).await.unwrap();
            total += started.elapsed();
            client.apply(program, &delete_tags(base + 1)).await.unwrap();
        }
        total
    })
}

fn engine(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (embedded, http) = rt.block_on(async {
        let engine = Engine::open(&dir.path().join("engine.db")).await.unwrap();
        let token = engine.create_token(vec![Scope::Admin], None).await.unwrap();
        let config = partnerops::sample::config(N);
        let embedded = Embedded::new(engine.clone());
        let creates = config
            .resources()
            .map(|resource| Change::Create { resource })
            .collect();
        embedded
            .apply("sample", &changeset(0, creates))
            .await
            .unwrap();
        // The "bulk" program holds just itself between benchmark iterations.
        let program = partnerops::spec::Program {
            key: "bulk".into(),
            name: "Bulk".into(),
            currency: "USD".into(),
            timezone: "UTC".into(),
            payouts: partnerops::spec::Payouts::default(),
        };
        embedded
            .apply(
                "bulk",
                &changeset(
                    0,
                    vec![Change::Create {
                        resource: Resource::Program(program),
                    }],
                ),
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
        (embedded, HttpWriter::new(&url, Some(token)).unwrap())
    });

    let mut group = c.benchmark_group("engine");
    group.sample_size(20);
    group.bench_function("snapshot_10k/embedded", |b| {
        b.iter(|| rt.block_on(embedded.snapshot("sample")).unwrap());
    });
    group.bench_function("snapshot_10k/http", |b| {
        b.iter(|| rt.block_on(http.snapshot("sample")).unwrap());
    });
    group.sample_size(10);
    group.bench_function("changeset_10k_creates/embedded", |b| {
        b.iter_custom(|iters| bench_apply(&rt, &embedded, "bulk", iters));
    });
    group.bench_function("changeset_10k_creates/http", |b| {
        b.iter_custom(|iters| bench_apply(&rt, &http, "bulk", iters));
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
