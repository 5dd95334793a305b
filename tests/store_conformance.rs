//! One conformance suite for every store: the same program, events,
//! sweeps, payouts, tokens and erasures run on SQLite and on PostgreSQL,
//! every `Store` method reads back the same answer from both, and the
//! races the engine relies on the store for (concurrent changesets, the
//! same events sent twice at once, two payouts at once, a writer that dies
//! before committing) come out the same on both.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use partnerops::engine::Engine;
use partnerops::store::{Store, StoreOptions};
use support::program::{apply, ingest, joined, refund, send};
use support::scenario::{Batches, CONFIG, CONFIG_2, events, run_scenario, t};

/// A store to run the suite on, kept alive (its file or database) with it.
struct Backend {
    name: &'static str,
    db: PathBuf,
    _file: Option<tempfile::TempDir>,
    _database: Option<support::postgres::TestDb>,
}

impl Backend {
    fn sqlite() -> Backend {
        let dir = tempfile::tempdir().unwrap();
        Backend {
            name: "sqlite",
            db: dir.path().join("engine.db"),
            _file: Some(dir),
            _database: None,
        }
    }

    async fn postgres() -> Option<Backend> {
        let database = support::postgres::database().await?;
        Some(Backend {
            name: "postgres",
            db: PathBuf::from(&database.url),
            _file: None,
            _database: Some(database),
        })
    }

    /// Both stores; PostgreSQL only when a server answers (always in CI).
    async fn all() -> Vec<Backend> {
        let mut all = vec![Backend::sqlite()];
        all.extend(Backend::postgres().await);
        all
    }

    async fn store(&self) -> Arc<dyn Store> {
        partnerops::store::open(&self.db, &StoreOptions::default())
            .await
            .unwrap_or_else(|e| panic!("opening {}: {e}", self.name))
    }
}

#[tokio::test]
async fn every_store_reads_back_the_same_engine() {
    let batches = Batches {
        events: events(),
        late_join: joined("2025-06-10T08:00:00Z", "dee", None),
        late_refund: refund("2025-09-05T10:00:00Z", "r2", "t1", "99.00"),
    };
    let mut digests = Vec::new();
    for backend in Backend::all().await {
        let d = run_scenario(backend.store().await, &batches).await;
        digests.push((backend.name, d));
    }
    let (first, reference) = &digests[0];
    // A scenario that reads back nothing would agree trivially.
    assert!(reference.contains("partner: Some(Partner"), "{reference}");
    assert!(reference.contains("\"gold\""), "{reference}");
    for (name, d) in &digests[1..] {
        if d != reference {
            for (a, b) in reference.lines().zip(d.lines()) {
                if a != b {
                    panic!("{first} and {name} differ:\n{first}: {a}\n{name}: {b}");
                }
            }
            panic!("{first} and {name} differ in length");
        }
    }
}

/// Two engines (as two processes would) on one store.
async fn two_engines(backend: &Backend) -> (Engine, Engine) {
    (
        Engine::new(backend.store().await),
        Engine::new(backend.store().await),
    )
}

#[tokio::test]
async fn concurrent_changesets_one_wins_one_is_stale() {
    for backend in Backend::all().await {
        let (a, b) = two_engines(&backend).await;
        apply(&a, CONFIG).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yaml"), CONFIG_2).unwrap();
        let config = partnerops::config::load(dir.path()).unwrap();
        let before = a.snapshot("gk").await.unwrap();
        let changeset =
            partnerops::plan::diff(&config, &before).changeset("race".into(), None, None);
        let (ra, rb) = tokio::join!(a.apply("gk", &changeset), b.apply("gk", &changeset));
        let stale = [&ra, &rb]
            .iter()
            .filter(|r| matches!(r, Err(partnerops::error::Error::Stale { .. })))
            .count();
        assert_eq!(
            (usize::from(ra.is_ok()) + usize::from(rb.is_ok()), stale),
            (1, 1),
            "{}: {ra:?} / {rb:?}",
            backend.name
        );
        assert_eq!(
            a.snapshot("gk").await.unwrap().revision,
            2,
            "{}",
            backend.name
        );
    }
}

#[tokio::test]
async fn the_same_events_sent_twice_at_once_take_effect_once() {
    for backend in Backend::all().await {
        let (a, b) = two_engines(&backend).await;
        apply(&a, CONFIG).await;
        let batch = events();
        let (ra, rb) = tokio::join!(ingest(&a, "gk", &batch), ingest(&b, "gk", &batch));
        assert_eq!(ra.accepted + rb.accepted, batch.len(), "{}", backend.name);
        assert_eq!(
            ra.duplicates.len() + rb.duplicates.len(),
            batch.len(),
            "{}",
            backend.name
        );
        // Exactly the ledger of one sending.
        let single = Backend::sqlite();
        let reference = Engine::new(single.store().await);
        apply(&reference, CONFIG).await;
        send(&reference, "gk", &batch).await;
        let sum = |lines: Vec<partnerops::store::record::LedgerLine>| -> i64 {
            lines.iter().map(|l| l.amount.minor()).sum()
        };
        assert_eq!(
            sum(a.commissions("gk", None).await.unwrap()),
            sum(reference.commissions("gk", None).await.unwrap()),
            "{}",
            backend.name
        );
        assert_eq!(
            a.commissions("gk", None).await.unwrap().len(),
            reference.commissions("gk", None).await.unwrap().len()
        );
    }
}

#[tokio::test]
async fn two_payouts_at_once_pay_each_line_once() {
    for backend in Backend::all().await {
        let (a, b) = two_engines(&backend).await;
        apply(&a, CONFIG).await;
        send(&a, "gk", &events()).await;
        let as_of = t("2025-09-01T00:00:00Z");
        let (pa, pb) = tokio::join!(a.create_payout("gk", as_of), b.create_payout("gk", as_of));
        let (pa, pb) = (pa.unwrap(), pb.unwrap());
        assert_eq!(
            usize::from(pa.is_some()) + usize::from(pb.is_some()),
            1,
            "{}: {pa:?} / {pb:?}",
            backend.name
        );
        let lines = a.commissions("gk", None).await.unwrap();
        let payouts: BTreeSet<Option<u64>> = lines.iter().map(|l| l.payout).collect();
        assert!(
            payouts.contains(&Some(1)) && !payouts.contains(&Some(2)),
            "{}",
            backend.name
        );
        assert_eq!(a.payouts("gk").await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_writer_that_does_not_commit_leaves_nothing() {
    for backend in Backend::all().await {
        let store = backend.store().await;
        let engine = Engine::new(store.clone());
        apply(&engine, CONFIG).await;
        {
            let mut tx = store.runtime("gk").await.unwrap();
            let writes = partnerops::store::Writes {
                events: vec![partnerops::store::record::StoredEvent {
                    id: "lost".into(),
                    kind: "partner.joined",
                    at: t("2025-06-01T00:00:00Z"),
                    subject: Some("ghost".into()),
                    body: "{}".into(),
                }],
                ..Default::default()
            };
            tx.write(&writes).await.unwrap();
            // Dropped: rolled back, as a killed process's transaction is.
        }
        let mut tx = store.runtime("gk").await.unwrap();
        assert!(
            tx.seen_events(&["lost"]).await.unwrap().is_empty(),
            "{}",
            backend.name
        );
        drop(tx);
        // The program's lock went with the transaction: others write on.
        send(&engine, "gk", &events()[..2]).await;
    }
}

/// Webhooks out, method by method, the same on every store: messages
/// written with a unit of work (none from one rolled back), leases one
/// owner holds at a time, the queue in order, attempts recorded only by the
/// lease's owner, redelivery, failing an endpoint's queue, secrets rotated.
#[tokio::test]
async fn the_outbox_behaves_alike_on_every_store() {
    use partnerops::store::outbox::{Attempt, DeliveryQuery, OutboxMessage, Outcome};
    let now = t("2025-05-01T12:00:00Z");
    let mut results = Vec::new();
    for backend in Backend::all().await {
        let store = backend.store().await;
        let message = |id: &str, endpoint: &str| OutboxMessage {
            id: id.to_owned(),
            endpoint: endpoint.to_owned(),
            event_type: partnerops::spec::EventType::PartnerJoined,
            body: format!("{{\"n\": \"{id}\"}}"),
            created_at: now,
        };
        let mut tx = store.runtime("acme").await.unwrap();
        let writes = partnerops::store::Writes {
            outbox: vec![message("msg_lost", "crm")],
            ..Default::default()
        };
        tx.write(&writes).await.unwrap();
        drop(tx);
        let mut tx = store.runtime("acme").await.unwrap();
        let writes = partnerops::store::Writes {
            outbox: vec![
                message("msg_1", "crm"),
                message("msg_2", "crm"),
                message("msg_3", "crm"),
                message("msg_4", "old"),
            ],
            ..Default::default()
        };
        tx.write(&writes).await.unwrap();
        tx.commit().await.unwrap();
        let mut log = Vec::new();
        log.push(format!("{:?}", store.due_endpoints(now).await.unwrap()));
        let until = now + chrono::Duration::seconds(30);
        let (a, b) = tokio::join!(
            store.lease_endpoint("acme", "crm", "a", now, until),
            store.lease_endpoint("acme", "crm", "b", now, until)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a ^ b, "{}: one owner, {a} {b}", backend.name);
        let (owner, other) = if a { ("a", "b") } else { ("b", "a") };
        log.push(format!("{:?}", store.due_endpoints(now).await.unwrap()));
        let queued = store.queued("acme", "crm", 10).await.unwrap();
        log.push(format!(
            "{:?}",
            queued
                .iter()
                .map(|q| (&q.id, &q.body, q.attempts))
                .collect::<Vec<_>>()
        ));
        let attempts = [
            Attempt {
                seq: queued[0].seq,
                at: now,
                status: Some(200),
                error: None,
                outcome: Outcome::Delivered,
            },
            Attempt {
                seq: queued[1].seq,
                at: now,
                status: Some(500),
                error: Some("boom".into()),
                outcome: Outcome::RetryAt(now + chrono::Duration::seconds(5)),
            },
            Attempt {
                seq: queued[2].seq,
                at: now,
                status: None,
                error: Some("timeout".into()),
                outcome: Outcome::Failed,
            },
        ];
        assert!(
            !store
                .record_attempts("acme", "crm", other, &attempts, until)
                .await
                .unwrap()
        );
        assert!(
            store
                .record_attempts("acme", "crm", owner, &attempts, until)
                .await
                .unwrap()
        );
        store.release_endpoint("acme", "crm", owner).await.unwrap();
        log.push(format!(
            "failed: {}",
            store
                .fail_pending("acme", "old", "endpoint deleted", now)
                .await
                .unwrap()
        ));
        let redelivered = store.redeliver("acme", "msg_3", now).await.unwrap();
        log.push(format!("{redelivered:?}"));
        log.push(format!(
            "{:?}",
            store.redeliver("acme", "nope", now).await.unwrap()
        ));
        log.push(format!(
            "{:?}",
            store
                .queued("acme", "crm", 10)
                .await
                .unwrap()
                .iter()
                .map(|q| &q.id)
                .collect::<Vec<_>>()
        ));
        for query in [
            DeliveryQuery {
                limit: 10,
                with_body: true,
                ..DeliveryQuery::default()
            },
            DeliveryQuery {
                limit: 2,
                endpoint: Some("crm".into()),
                before: Some("msg_3".into()),
                ..DeliveryQuery::default()
            },
        ] {
            log.push(format!(
                "{:?}",
                store.deliveries("acme", &query).await.unwrap()
            ));
        }
        log.push(format!(
            "{:?}",
            store.endpoint_secrets("acme", "crm").await.unwrap()
        ));
        store
            .rotate_secret(
                "acme",
                "crm",
                "whsec_new",
                now,
                now + chrono::Duration::hours(24),
            )
            .await
            .unwrap();
        log.push(format!(
            "{:?}",
            store.endpoint_secrets("acme", "crm").await.unwrap()
        ));
        results.push((backend.name, log));
    }
    assert!(results[0].1.iter().any(|l| l.contains("msg_2")));
    for (name, log) in &results[1..] {
        for (a, b) in results[0].1.iter().zip(log) {
            assert_eq!(a, b, "sqlite and {name} differ");
        }
    }
}

/// The Stripe source's records, written twice (the second time updating)
/// and read back by every query, the same on every store.
#[tokio::test]
async fn stripe_records_behave_alike_on_every_store() {
    use partnerops::store::stripe::{
        ChargeRecord, InvoiceLineRecord, InvoiceRecord, StripeEventRecord, StripeWrites,
    };
    let at = t("2025-05-01T12:00:00Z");
    // A Stripe event is taken once; the records it left are updated later.
    let writes = |refunded: i64| StripeWrites {
        events: (refunded == 0)
            .then(|| StripeEventRecord {
                id: "evt_1".into(),
                kind: "invoice.paid".into(),
                created: at,
                events: "{\"id\":\"x\"}\n".into(),
                notes: vec!["a note".into()],
            })
            .into_iter()
            .collect(),
        invoices: vec![InvoiceRecord {
            id: "in_1".into(),
            customer: "cus_1".into(),
            currency: "USD".into(),
            lines: vec![InvoiceLineRecord {
                id: "il_1".into(),
                transaction: "in_1:il_1".into(),
                amount: 9900,
            }],
        }],
        payments: vec![
            ("pi_1".into(), "in_1".into()),
            ("ch_1".into(), "in_1".into()),
        ],
        charges: vec![ChargeRecord {
            id: "ch_1".into(),
            payment_intent: Some("pi_1".into()),
            invoice: None,
            amount: 9900,
            currency: "USD".into(),
            refunded,
            passed_on: refunded / 2,
            refunded_at: at,
        }],
    };
    let mut results = Vec::new();
    for backend in Backend::all().await {
        let store = backend.store().await;
        let engine = Engine::new(store.clone());
        apply(&engine, CONFIG).await;
        let stripe = store.stripe();
        let mut log = Vec::new();
        for refunded in [0, 500] {
            let mut tx = stripe.stripe_tx("gk").await.unwrap();
            tx.write(&writes(refunded)).await.unwrap();
            tx.commit().await.unwrap();
        }
        // A unit of work dropped before commit leaves nothing.
        let mut tx = stripe.stripe_tx("gk").await.unwrap();
        tx.write(&StripeWrites {
            payments: vec![("pi_lost".into(), "in_lost".into())],
            ..StripeWrites::default()
        })
        .await
        .unwrap();
        drop(tx);
        let mut tx = stripe.stripe_tx("gk").await.unwrap();
        log.push(format!("{}", tx.revision().await.unwrap()));
        log.push(format!(
            "{:?}",
            tx.recorded(&["evt_1", "evt_2"]).await.unwrap()
        ));
        log.push(format!(
            "{:?}",
            tx.payments(&["pi_1", "pi_lost"], &[]).await.unwrap()
        ));
        log.push(format!("{:?}", tx.payments(&[], &["in_1"]).await.unwrap()));
        log.push(format!(
            "{:?}",
            tx.invoices(&["in_1", "in_2"]).await.unwrap()
        ));
        log.push(format!(
            "{:?}",
            tx.charges(&["ch_1"], &[], &[]).await.unwrap()
        ));
        log.push(format!(
            "{:?}",
            tx.charges(&[], &["pi_1"], &[]).await.unwrap()
        ));
        log.push(format!(
            "{:?}",
            tx.charges(&[], &[], &["in_9"]).await.unwrap()
        ));
        drop(tx);
        results.push((backend.name, log));
    }
    assert!(
        results[0].1.iter().any(|l| l.contains("refunded: 500")),
        "{:?}",
        results[0].1
    );
    for (name, log) in &results[1..] {
        for (a, b) in results[0].1.iter().zip(log) {
            assert_eq!(a, b, "sqlite and {name} differ");
        }
    }
}

const CHILD_DB: &str = "PARTNEROPS_TEST_CONFORMANCE_CHILD_DB";

/// A changeset of 20,000 tags: long enough to be killed inside.
fn big_changeset() -> partnerops::engine::changeset::Changeset {
    use partnerops::engine::changeset::{Change, Changeset};
    use partnerops::spec::{Resource, Tag};
    Changeset {
        base_revision: 1,
        changes: (0..20_000)
            .map(|i| Change::Create {
                resource: Resource::Tag(Tag {
                    key: format!("bulk-{i:06}"),
                    name: None,
                    description: Some("x".repeat(200)),
                    previously: Vec::new(),
                }),
            })
            .collect(),
        author: "killed".to_owned(),
        message: None,
        git_commit: None,
    }
}

/// The killed writer's work, in a child process; a no-op as a normal test.
#[test]
fn killed_writer_child() {
    let Ok(db) = std::env::var(CHILD_DB) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let engine = Engine::open(std::path::Path::new(&db)).await.unwrap();
        engine.apply("gk", &big_changeset()).await.unwrap();
    });
}

/// A writer killed (SIGKILL) inside its transaction leaves nothing of it,
/// and holds nothing up: the next writer goes ahead at once.
#[tokio::test]
async fn a_killed_writer_leaves_nothing_and_blocks_no_one() {
    use partnerops::store::sqlite::{MARK_ROWS_WRITTEN_ENV, ROWS_WRITTEN_MARKER};
    use std::io::{BufRead, BufReader};
    for backend in Backend::all().await {
        let engine = Engine::new(backend.store().await);
        assert_eq!(apply(&engine, CONFIG).await, 1);
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "killed_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DB, &backend.db)
            .env(MARK_ROWS_WRITTEN_ENV, "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        loop {
            let line = lines.next().expect("the store marks written rows").unwrap();
            if line == ROWS_WRITTEN_MARKER {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let snapshot = engine.snapshot("gk").await.unwrap();
        assert_eq!(snapshot.revision, 1, "{}", backend.name);
        assert!(
            !snapshot
                .resources
                .iter()
                .any(|r| r.key().starts_with("bulk-")),
            "{}",
            backend.name
        );
        let next =
            tokio::time::timeout(std::time::Duration::from_secs(20), apply(&engine, CONFIG_2))
                .await
                .unwrap_or_else(|_| {
                    panic!("{}: the killed writer's lock outlived it", backend.name)
                });
        assert_eq!(next, 2);
    }
}
