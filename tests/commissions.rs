//! Commissions end to end: configs applied to an embedded engine, events sent,
//! the ledger checked. Product attribution (seed 004), every rule operator and
//! its edges, rounding, drip, history, explain, the partner view over HTTP with
//! partner tokens, and the CLI.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use partnerops::client::{Embedded, Reader, Writer};
use partnerops::engine::Engine;
use partnerops::engine::event::{BatchFormat, IngestReport};
use partnerops::engine::runtime::state::LedgerLine as CommissionRecord;
use partnerops::spec::ProductStatus;
use serde_json::{Value, json};
use support::server::TestServer;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// An engine on a fresh SQLite file; keep the directory alive with it.
async fn engine() -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("engine.db")).await.unwrap();
    (engine, dir)
}

/// Loads `yaml` as a config directory and applies it (plan + apply, as the
/// CLI does); returns the program's revision afterwards.
async fn apply(engine: &Engine, yaml: &str) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), yaml).unwrap();
    let config = partnerops::config::load(dir.path())
        .unwrap_or_else(|d| panic!("config does not load: {d:#?}\n{yaml}"));
    let client = Embedded::new(engine.clone());
    let before = client.snapshot(&config.program.key).await.unwrap();
    let plan = partnerops::plan::diff(&config, &before);
    if !plan.is_empty() {
        client
            .apply(
                &config.program.key,
                &plan.changeset("commission-tests".into(), None, None),
            )
            .await
            .unwrap();
    }
    client.snapshot(&config.program.key).await.unwrap().revision
}

fn program(key: &str, timezone: &str) -> String {
    format!("program: {{ key: {key}, name: {key}, currency: USD, timezone: {timezone} }}\n")
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

fn id() -> String {
    format!("evt-{}", NEXT_ID.fetch_add(1, Ordering::SeqCst))
}

fn joined(at: &str, partner: &str, group: Option<&str>) -> String {
    let mut p = json!({ "key": partner });
    if let Some(g) = group {
        p["group"] = json!(g);
    }
    json!({ "id": id(), "type": "partner.joined", "at": at, "partner": p }).to_string()
}

fn signed_up(at: &str, customer: &str, partner: &str) -> String {
    json!({
        "id": id(), "type": "customer.signed_up", "at": at,
        "customer": { "key": customer }, "partner": { "key": partner }
    })
    .to_string()
}

fn upsert(
    at: &str,
    customer: &str,
    product: &str,
    status: &str,
    sub: &str,
    partner: Option<&str>,
) -> String {
    let mut e = json!({
        "id": id(), "type": "customer_product.upserted", "at": at,
        "customer": { "key": customer }, "product": product, "status": status,
        "external_subscription_key": sub
    });
    if let Some(p) = partner {
        e["partner"] = json!({ "key": p });
    }
    e.to_string()
}

fn txn(
    at: &str,
    key: &str,
    customer: &str,
    amount: &str,
    sub: Option<&str>,
    kind: Option<&str>,
) -> String {
    let mut t = json!({ "key": key, "customer": customer, "amount": amount });
    if let Some(s) = sub {
        t["subscription_key"] = json!(s);
    }
    if let Some(k) = kind {
        t["kind"] = json!(k);
    }
    json!({ "id": id(), "type": "transaction.created", "at": at, "transaction": t }).to_string()
}

fn refund(at: &str, key: &str, transaction: &str, amount: &str) -> String {
    json!({
        "id": id(), "type": "transaction.refunded", "at": at,
        "refund": { "key": key, "transaction": transaction, "amount": amount }
    })
    .to_string()
}

/// Sends events as NDJSON; every one must be accepted.
async fn send(engine: &Engine, program: &str, events: &[String]) -> IngestReport {
    let report = engine
        .ingest(program, &events.join("\n"), BatchFormat::Ndjson)
        .await
        .unwrap();
    assert!(
        report.rejected.is_empty() && report.duplicates.is_empty(),
        "events refused: {:?} / duplicates {:?}",
        report.rejected,
        report.duplicates
    );
    assert_eq!(report.accepted, events.len());
    report
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn ledger(engine: &Engine, program: &str) -> Vec<CommissionRecord> {
    engine.commissions(program, None).await.unwrap()
}

/// The triggers that paid on one transaction, sorted.
async fn fired(engine: &Engine, program: &str, transaction: &str) -> BTreeSet<String> {
    ledger(engine, program)
        .await
        .into_iter()
        .filter(|c| c.transaction == transaction)
        .map(|c| c.trigger)
        .collect()
}

/// trigger → amount of each (undripped) commission on one transaction.
async fn paid(engine: &Engine, program: &str, transaction: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for c in ledger(engine, program).await {
        if c.transaction == transaction {
            assert_eq!(
                (c.installment, c.installments),
                (1, 1),
                "not dripped: {c:?}"
            );
            assert!(
                out.insert(c.trigger.clone(), c.amount.to_string())
                    .is_none(),
                "one commission per trigger and transaction: {c:?}"
            );
        }
    }
    out
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn map(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A flat-1 trigger with one rule, written as YAML flow.
fn rule_trigger(key: &str, rule: &str) -> String {
    format!("  - {{ key: {key}, commission: {{ flat: 1 }}, rules: [ {rule} ] }}\n")
}

// ---------------------------------------------------------------------------
// 1. The seed's own example
// ---------------------------------------------------------------------------

const SEED_CONFIG: &str = r#"
products:
  - { key: live-chat, name: Live Chat, price: 49 }
  - { key: knowledge-base, name: Knowledge Base, price: 79 }
  - { key: surveys, name: Surveys, price: 39 }
  - { key: inbox, name: Inbox, price: 99 }
commission_triggers:
  - key: live-chat-10
    description: Earn 10% for every Live Chat sale
    commission: { percent: 10 }
    rules:
      - product.name: { any_of: [Live Chat] }
      - product.status: { any_of: [active] }
  - key: knowledge-base-15
    description: Earn 15% for every Knowledge Base sale
    commission: { percent: 15 }
    rules:
      - product.name: { any_of: [Knowledge Base] }
      - product.status: { any_of: [active] }
  - key: surveys-10
    description: Earn 10% for every Surveys sale
    commission: { percent: 10 }
    rules:
      - product.name: { any_of: [Surveys] }
      - product.status: { any_of: [active] }
  - key: inbox-20
    description: Earn 20% for every Inbox sale
    commission: { percent: 20 }
    rules:
      - product.name: { any_of: [Inbox] }
      - product.status: { any_of: [active] }
"#;

#[tokio::test]
async fn seed_example_live_chat_and_inbox_pay_10_and_20_percent_to_the_referrer() {
    let (engine, _dir) = engine().await;
    let revision = apply(&engine, &(program("gigakick", "UTC") + SEED_CONFIG)).await;
    send(
        &engine,
        "gigakick",
        &[
            joined("2026-03-01T09:00:00Z", "pat-partner", None),
            signed_up("2026-03-02T09:00:00Z", "acme", "pat-partner"),
            upsert(
                "2026-03-03T10:00:00Z",
                "acme",
                "live-chat",
                "active",
                "sub_acme_chat",
                None,
            ),
            upsert(
                "2026-03-03T10:00:00Z",
                "acme",
                "inbox",
                "active",
                "sub_acme_inbox",
                None,
            ),
            txn(
                "2026-03-03T12:00:00Z",
                "t-chat",
                "acme",
                "49.00",
                Some("sub_acme_chat"),
                Some("recurring"),
            ),
            txn(
                "2026-03-03T12:00:00Z",
                "t-inbox",
                "acme",
                "99.00",
                Some("sub_acme_inbox"),
                Some("recurring"),
            ),
        ],
    )
    .await;

    let all = ledger(&engine, "gigakick").await;
    /// partner, transaction, trigger, amount, installment, of, revision, due.
    type Row<'a> = (
        &'a str,
        &'a str,
        &'a str,
        String,
        u32,
        u32,
        u64,
        DateTime<Utc>,
    );
    let got: Vec<Row> = all
        .iter()
        .map(|c| {
            (
                c.partner.as_str(),
                c.transaction.as_str(),
                c.trigger.as_str(),
                c.amount.to_string(),
                c.installment,
                c.installments,
                c.revision,
                c.due_at,
            )
        })
        .collect();
    let at = t("2026-03-03T12:00:00Z");
    assert_eq!(
        got,
        vec![
            (
                "pat-partner",
                "t-chat",
                "live-chat-10",
                "4.90".to_owned(),
                1,
                1,
                revision,
                at
            ),
            (
                "pat-partner",
                "t-inbox",
                "inbox-20",
                "19.80".to_owned(),
                1,
                1,
                revision,
                at
            ),
        ]
    );
    assert_eq!(all[0].amount.minor(), 490);
    assert_eq!(all[1].amount.minor(), 1980);

    // The partner sees both products and both commissions in their dashboard.
    let view = engine
        .partner_view("gigakick", "pat-partner")
        .await
        .unwrap();
    assert_eq!(view.customers.len(), 1);
    assert_eq!(view.customers[0].key, "acme");
    let products: BTreeSet<(String, ProductStatus, String)> = view.customers[0]
        .products
        .iter()
        .map(|p| {
            (
                p.product.clone(),
                p.status,
                p.amount.map(|a| a.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        products,
        BTreeSet::from([
            (
                "Inbox".to_owned(),
                ProductStatus::Active,
                "99.00".to_owned()
            ),
            (
                "Live Chat".to_owned(),
                ProductStatus::Active,
                "49.00".to_owned()
            ),
        ])
    );
    let commissions: BTreeSet<(String, String)> = view
        .commissions
        .iter()
        .map(|c| (c.offer.clone(), c.amount.to_string()))
        .collect();
    assert_eq!(
        commissions,
        BTreeSet::from([
            (
                "Earn 10% for every Live Chat sale".to_owned(),
                "4.90".to_owned()
            ),
            (
                "Earn 20% for every Inbox sale".to_owned(),
                "19.80".to_owned()
            ),
        ])
    );
}

// ---------------------------------------------------------------------------
// 2. Subscription keys match exactly, case included
// ---------------------------------------------------------------------------

#[tokio::test]
async fn subscription_keys_are_case_sensitive_and_explain_suggests_the_near_key() {
    let (engine, _dir) = engine().await;
    let config = program("cases", "UTC")
        + r#"
products:
  - { key: chat, name: Chat }
  - { key: inbox, name: Inbox }
commission_triggers:
  - { key: chat-10, description: Chat 10%, commission: { percent: 10 }, rules: [ { product.key: { any_of: [chat] } } ] }
  - { key: not-inbox, commission: { flat: 1 }, rules: [ { product.key: { none_of: [inbox] } } ] }
  - { key: not-churned, commission: { flat: 2 }, rules: [ { product.status: { none_of: [churned] } } ] }
  - { key: every-sale, description: Earn 3 on every sale, commission: { flat: 3 } }
"#;
    apply(&engine, &config).await;
    send(
        &engine,
        "cases",
        &[
            joined("2026-04-01T09:00:00Z", "pia", None),
            signed_up("2026-04-01T10:00:00Z", "cust", "pia"),
            upsert(
                "2026-04-02T10:00:00Z",
                "cust",
                "chat",
                "active",
                "sub_x",
                None,
            ),
            txn(
                "2026-04-02T12:00:00Z",
                "t-upper",
                "cust",
                "50.00",
                Some("SUB_X"),
                None,
            ),
            txn(
                "2026-04-02T13:00:00Z",
                "t-lower",
                "cust",
                "50.00",
                Some("sub_x"),
                None,
            ),
        ],
    )
    .await;

    // SUB_X matches nothing: no product rule holds (not even none_of), but the
    // trigger without product rules still pays the referring partner.
    assert_eq!(
        paid(&engine, "cases", "t-upper").await,
        map(&[("every-sale", "3.00")])
    );
    assert_eq!(
        paid(&engine, "cases", "t-lower").await,
        map(&[
            ("chat-10", "5.00"),
            ("every-sale", "3.00"),
            ("not-churned", "2.00"),
            ("not-inbox", "1.00"),
        ])
    );
    assert!(
        ledger(&engine, "cases")
            .await
            .iter()
            .all(|c| c.partner == "pia")
    );

    let e = engine
        .explain_transaction("cases", "t-upper")
        .await
        .unwrap();
    assert!(e.product.is_none());
    assert_eq!(e.transaction.product, None);
    assert!(
        e.product_match
            .contains("subscription_key `SUB_X` matched no product"),
        "{}",
        e.product_match
    );
    assert!(
        e.product_match.contains("did you mean `sub_x`?"),
        "{}",
        e.product_match
    );
    let by_key: BTreeMap<&str, _> = e.triggers.iter().map(|t| (t.trigger.as_str(), t)).collect();
    assert_eq!(by_key.len(), 4);
    for product_trigger in ["chat-10", "not-inbox", "not-churned"] {
        let tr = by_key[product_trigger];
        assert!(tr.enabled && !tr.fires, "{tr:?}");
        assert_eq!(tr.amount, None);
        assert_eq!(tr.rules.len(), 1);
        assert!(!tr.rules[0].holds);
        assert!(
            tr.rules[0].reason.contains("no product matched"),
            "{}",
            tr.rules[0].reason
        );
    }
    let every = by_key["every-sale"];
    assert!(every.fires && every.rules.is_empty());
    assert_eq!(every.amount.unwrap().to_string(), "3.00");
    assert_eq!(e.commissions.len(), 1);
    assert_eq!(e.commissions[0].trigger, "every-sale");

    let ok = engine
        .explain_transaction("cases", "t-lower")
        .await
        .unwrap();
    assert_eq!(ok.transaction.product.as_deref(), Some("chat"));
    assert_eq!(
        ok.product
            .as_ref()
            .map(|p| p.external_subscription_key.as_str()),
        Some("sub_x")
    );
    assert!(!ok.product_match.contains("did you mean"));
    assert!(ok.triggers.iter().all(|t| t.fires), "{:#?}", ok.triggers);
}

// ---------------------------------------------------------------------------
// 3. Status changes
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_churn_upsert_stops_the_active_only_trigger() {
    let (engine, _dir) = engine().await;
    let config = program("churn", "UTC")
        + r#"
products:
  - { key: inbox, name: Inbox, price: 99 }
commission_triggers:
  - key: active-inbox-20
    commission: { percent: 20 }
    rules:
      - product.key: { any_of: [inbox] }
      - product.status: { any_of: [active] }
  - { key: trial-watch, commission: { flat: 2 }, rules: [ { product.status: { any_of: [trial] } } ] }
  - { key: churn-watch, commission: { flat: 1 }, rules: [ { product.status: { any_of: [churned] } } ] }
"#;
    apply(&engine, &config).await;
    send(
        &engine,
        "churn",
        &[
            joined("2026-04-01T08:00:00Z", "pam", None),
            signed_up("2026-04-01T09:00:00Z", "cust", "pam"),
            upsert(
                "2026-04-01T10:00:00Z",
                "cust",
                "inbox",
                "trial",
                "sub_inbox",
                None,
            ),
            txn(
                "2026-04-02T12:00:00Z",
                "t-trial",
                "cust",
                "0.00",
                Some("sub_inbox"),
                None,
            ),
        ],
    )
    .await;
    assert_eq!(
        fired(&engine, "churn", "t-trial").await,
        set(&["trial-watch"])
    );

    send(
        &engine,
        "churn",
        &[
            upsert(
                "2026-04-10T10:00:00Z",
                "cust",
                "inbox",
                "active",
                "sub_inbox",
                None,
            ),
            txn(
                "2026-04-11T12:00:00Z",
                "t-active",
                "cust",
                "99.00",
                Some("sub_inbox"),
                Some("recurring"),
            ),
        ],
    )
    .await;
    assert_eq!(
        paid(&engine, "churn", "t-active").await,
        map(&[("active-inbox-20", "19.80")])
    );

    // One batch, listed out of order: the churn (May 10th) and a transaction
    // from the day before it. Events apply in time order, so the transaction
    // still sees the product active.
    send(
        &engine,
        "churn",
        &[
            upsert(
                "2026-05-10T10:00:00Z",
                "cust",
                "inbox",
                "churned",
                "sub_inbox",
                None,
            ),
            txn(
                "2026-05-09T12:00:00Z",
                "t-before-churn",
                "cust",
                "99.00",
                Some("sub_inbox"),
                Some("recurring"),
            ),
        ],
    )
    .await;
    assert_eq!(
        paid(&engine, "churn", "t-before-churn").await,
        map(&[("active-inbox-20", "19.80")])
    );
    send(
        &engine,
        "churn",
        &[txn(
            "2026-05-11T12:00:00Z",
            "t-after-churn",
            "cust",
            "99.00",
            Some("sub_inbox"),
            Some("recurring"),
        )],
    )
    .await;
    assert_eq!(
        paid(&engine, "churn", "t-after-churn").await,
        map(&[("churn-watch", "1.00")]),
        "a churned product no longer matches product.status any_of [active]"
    );
    // The earlier commission stays.
    assert_eq!(
        paid(&engine, "churn", "t-active").await,
        map(&[("active-inbox-20", "19.80")])
    );
    // A late transaction, in a batch of its own after the churn, dated before
    // it: judged by the status at its time, as if it had come in order.
    send(
        &engine,
        "churn",
        &[txn(
            "2026-05-08T12:00:00Z",
            "t-late",
            "cust",
            "99.00",
            Some("sub_inbox"),
            Some("recurring"),
        )],
    )
    .await;
    assert_eq!(
        paid(&engine, "churn", "t-late").await,
        map(&[("active-inbox-20", "19.80")])
    );
    // Explaining a transaction paid while the product was active still says
    // it fired, though the product has churned since.
    let e = engine
        .explain_transaction("churn", "t-active")
        .await
        .unwrap();
    let active = e
        .triggers
        .iter()
        .find(|t| t.trigger == "active-inbox-20")
        .unwrap();
    assert!(active.fires, "{active:?}");
    assert!(
        active.rules[1].reason.contains("`active`"),
        "{}",
        active.rules[1].reason
    );
    assert!(
        e.product_match.contains("status active"),
        "{}",
        e.product_match
    );

    let e = engine
        .explain_transaction("churn", "t-after-churn")
        .await
        .unwrap();
    let active = e
        .triggers
        .iter()
        .find(|t| t.trigger == "active-inbox-20")
        .unwrap();
    assert!(!active.fires);
    assert!(active.rules[0].holds, "the key still matches");
    assert!(!active.rules[1].holds);
    assert!(
        active.rules[1].reason.contains("churned"),
        "{}",
        active.rules[1].reason
    );

    // The partner sees the product as churned, purchased when it was created.
    let view = engine.partner_view("churn", "pam").await.unwrap();
    let p = &view.customers[0].products[0];
    assert_eq!(p.status, ProductStatus::Churned);
    assert_eq!(p.purchased_at, t("2026-04-01T10:00:00Z"));
    assert_eq!(p.amount.unwrap().to_string(), "99.00");
}

// ---------------------------------------------------------------------------
// 4. Every rule operator and its edges
// ---------------------------------------------------------------------------

#[tokio::test]
async fn product_key_name_and_status_any_of_and_none_of() {
    let (engine, _dir) = engine().await;
    let config = program("prod", "UTC")
        + "products:\n  - { key: inbox, name: Inbox }\n  - { key: chat, name: Live Chat }\n  - { key: kb, name: Knowledge Base }\ncommission_triggers:\n"
        + &rule_trigger("key-any", "{ product.key: { any_of: [inbox, chat] } }")
        + &rule_trigger("key-none", "{ product.key: { none_of: [inbox] } }")
        + &rule_trigger("name-any", "{ product.name: { any_of: [Inbox] } }")
        + &rule_trigger(
            "name-none",
            "{ product.name: { none_of: [Inbox, Live Chat] } }",
        )
        + &rule_trigger(
            "status-any",
            "{ product.status: { any_of: [trial, churned] } }",
        )
        + &rule_trigger("status-none", "{ product.status: { none_of: [trial] } }");
    apply(&engine, &config).await;
    let at = "2026-05-01T10:00:00Z";
    send(
        &engine,
        "prod",
        &[
            joined("2026-05-01T08:00:00Z", "pia", None),
            signed_up("2026-05-01T09:00:00Z", "cust", "pia"),
            upsert(at, "cust", "inbox", "active", "s-inbox", None),
            upsert(at, "cust", "chat", "active", "s-chat", None),
            upsert(at, "cust", "kb", "trial", "s-kb", None),
            txn(
                "2026-05-01T11:00:00Z",
                "t-inbox",
                "cust",
                "10.00",
                Some("s-inbox"),
                None,
            ),
            txn(
                "2026-05-01T11:00:00Z",
                "t-chat",
                "cust",
                "10.00",
                Some("s-chat"),
                None,
            ),
            txn(
                "2026-05-01T11:00:00Z",
                "t-kb",
                "cust",
                "10.00",
                Some("s-kb"),
                None,
            ),
            txn(
                "2026-05-01T11:00:00Z",
                "t-none",
                "cust",
                "10.00",
                None,
                None,
            ),
        ],
    )
    .await;
    assert_eq!(
        fired(&engine, "prod", "t-inbox").await,
        set(&["key-any", "name-any", "status-none"])
    );
    assert_eq!(
        fired(&engine, "prod", "t-chat").await,
        set(&["key-any", "key-none", "status-none"])
    );
    assert_eq!(
        fired(&engine, "prod", "t-kb").await,
        set(&["key-none", "name-none", "status-any"])
    );
    assert_eq!(
        fired(&engine, "prod", "t-none").await,
        set(&[]),
        "product rules never hold without a matched product"
    );
}

#[tokio::test]
async fn product_created_rolling_days_edges() {
    let (engine, _dir) = engine().await;
    let config = program("rolling", "Europe/Berlin")
        + "products:\n  - { key: inbox, name: Inbox }\ncommission_triggers:\n"
        + &rule_trigger(
            "last-1",
            "{ product.created: { within: { rolling_days: 1 } } }",
        )
        + &rule_trigger(
            "last-7",
            "{ product.created: { within: { rolling_days: 7 } } }",
        );
    apply(&engine, &config).await;
    let mut events = vec![
        joined("2026-03-01T08:00:00Z", "pia", None),
        signed_up("2026-03-01T09:00:00Z", "cust", "pia"),
        upsert(
            "2026-03-01T12:00:00Z",
            "cust",
            "inbox",
            "active",
            "s1",
            None,
        ),
    ];
    let cases = [
        (
            "r-same-instant",
            "2026-03-01T12:00:00Z",
            &["last-1", "last-7"][..],
        ),
        (
            "r-1d-minus-1m",
            "2026-03-02T11:59:00Z",
            &["last-1", "last-7"][..],
        ),
        ("r-1d-plus-1m", "2026-03-02T12:01:00Z", &["last-7"][..]),
        ("r-7d-minus-1m", "2026-03-08T11:59:00Z", &["last-7"][..]),
        ("r-7d-plus-1m", "2026-03-08T12:01:00Z", &[][..]),
        ("r-30d", "2026-03-31T12:00:00Z", &[][..]),
    ];
    for (key, at, _) in &cases {
        events.push(txn(at, key, "cust", "10.00", Some("s1"), None));
    }
    send(&engine, "rolling", &events).await;
    for (key, _, expected) in &cases {
        assert_eq!(
            fired(&engine, "rolling", key).await,
            set(expected),
            "transaction {key}"
        );
    }
}

const CALENDAR_TRIGGERS: &str = r#"
products:
  - { key: inbox, name: Inbox }
commission_triggers:
  - { key: cur-day, commission: { flat: 1 }, rules: [ { product.created: { within: current_calendar_day } } ] }
  - { key: prev-day, commission: { flat: 1 }, rules: [ { product.created: { within: previous_calendar_day } } ] }
  - { key: cur-month, commission: { flat: 1 }, rules: [ { product.created: { within: current_calendar_month } } ] }
  - { key: prev-month, commission: { flat: 1 }, rules: [ { product.created: { within: previous_calendar_month } } ] }
"#;

/// Sends a product created at `created` and one transaction per case, and
/// checks which calendar-window triggers fire.
async fn calendar_cases(
    engine: &Engine,
    program: &str,
    created: &str,
    cases: &[(&str, &str, &[&str])],
) {
    let mut events = vec![
        joined("2026-01-01T00:00:00Z", "pia", None),
        signed_up("2026-01-01T00:30:00Z", "cust", "pia"),
        upsert(created, "cust", "inbox", "active", "s1", None),
    ];
    for (key, at, _) in cases {
        events.push(txn(at, key, "cust", "10.00", Some("s1"), None));
    }
    send(engine, program, &events).await;
    for (key, at, expected) in cases {
        assert_eq!(
            fired(engine, program, key).await,
            set(expected),
            "{program}: product created {created}, transaction {key} at {at}"
        );
    }
}

#[tokio::test]
async fn product_created_calendar_windows_use_the_program_time_zone() {
    let (engine, _dir) = engine().await;
    apply(
        &engine,
        &(program("berlin", "Europe/Berlin") + CALENDAR_TRIGGERS),
    )
    .await;
    apply(&engine, &(program("utc-twin", "UTC") + CALENDAR_TRIGGERS)).await;
    apply(
        &engine,
        &(program("newyork", "America/New_York") + CALENDAR_TRIGGERS),
    )
    .await;

    // 23:30 UTC on March 31st is 01:30 on April 1st in Berlin (CEST).
    calendar_cases(
        &engine,
        "berlin",
        "2026-03-31T23:30:00Z",
        &[
            (
                "b-apr1-morning",
                "2026-04-01T08:00:00Z",
                &["cur-day", "cur-month"],
            ),
            (
                "b-apr1-2359",
                "2026-04-01T21:59:00Z",
                &["cur-day", "cur-month"],
            ),
            (
                "b-apr2-0001",
                "2026-04-01T22:01:00Z",
                &["prev-day", "cur-month"],
            ),
            (
                "b-apr2-2359",
                "2026-04-02T21:59:00Z",
                &["prev-day", "cur-month"],
            ),
            ("b-apr3-0001", "2026-04-02T22:01:00Z", &["cur-month"]),
            ("b-apr30-2359", "2026-04-30T21:59:00Z", &["cur-month"]),
            ("b-may1-0030", "2026-04-30T22:30:00Z", &["prev-month"]),
            ("b-may31-2359", "2026-05-31T21:59:00Z", &["prev-month"]),
            ("b-jun1-0001", "2026-05-31T22:01:00Z", &[]),
        ],
    )
    .await;

    // The same instants in UTC: the product is from March 31st.
    calendar_cases(
        &engine,
        "utc-twin",
        "2026-03-31T23:30:00Z",
        &[
            (
                "u-apr1-morning",
                "2026-04-01T08:00:00Z",
                &["prev-day", "prev-month"],
            ),
            (
                "u-mar31-2359",
                "2026-03-31T23:59:00Z",
                &["cur-day", "cur-month"],
            ),
            ("u-apr30-2230", "2026-04-30T22:30:00Z", &["prev-month"]),
            ("u-may1-0001", "2026-05-01T00:01:00Z", &[]),
        ],
    )
    .await;

    // 03:00 UTC on January 1st is 22:00 on December 31st in New York (EST).
    calendar_cases(
        &engine,
        "newyork",
        "2026-01-01T03:00:00Z",
        &[
            (
                "n-dec31-2359",
                "2026-01-01T04:59:00Z",
                &["cur-day", "cur-month"],
            ),
            (
                "n-jan1-0001",
                "2026-01-01T05:01:00Z",
                &["prev-day", "prev-month"],
            ),
            (
                "n-jan1-2359",
                "2026-01-02T04:59:00Z",
                &["prev-day", "prev-month"],
            ),
            ("n-jan2-0001", "2026-01-02T05:01:00Z", &["prev-month"]),
            ("n-jan31-2359", "2026-02-01T04:59:00Z", &["prev-month"]),
            ("n-feb1-0001", "2026-02-01T05:01:00Z", &[]),
        ],
    )
    .await;
}

/// Groups, tags and partners shared by the partner-rule and eligibility tests.
const PARTNER_RULES: &str = r#"
groups:
  - { key: resellers, name: Resellers }
  - { key: affiliates, name: Affiliates }
tags:
  - { key: new }
  - { key: lead }
  - { key: pro }
automations:
  - { key: welcome, when: partner_joined, then: [ { add_tag: new } ] }
  - { key: first-lead, when: first_signup, then: [ { add_tag: lead }, { remove_tag: new } ] }
  - { key: pro, when: { milestone: { metric: signups, at_least: 2 } }, then: [ { add_tag: pro } ] }
products:
  - { key: inbox, name: Inbox }
commission_triggers:
  - { key: grp-any, description: Offer grp-any, commission: { flat: 1 }, rules: [ { partner.group: { any_of: [resellers] } } ] }
  - { key: grp-all, description: Offer grp-all, commission: { flat: 1 }, rules: [ { partner.group: { all_of: [resellers] } } ] }
  - { key: grp-all-two, description: Offer grp-all-two, commission: { flat: 1 }, rules: [ { partner.group: { all_of: [resellers, affiliates] } } ] }
  - { key: grp-none, description: Offer grp-none, commission: { flat: 1 }, rules: [ { partner.group: { none_of: [resellers] } } ] }
  - { key: tag-any, description: Offer tag-any, commission: { flat: 1 }, rules: [ { partner.tag: { any_of: [pro, new] } } ] }
  - { key: tag-all, description: Offer tag-all, commission: { flat: 1 }, rules: [ { partner.tag: { all_of: [lead, pro] } } ] }
  - { key: tag-none, description: Offer tag-none, commission: { flat: 1 }, rules: [ { partner.tag: { none_of: [pro] } } ] }
  - { key: everyone, description: Offer everyone, commission: { flat: 1 }, rules: [ { product.status: { any_of: [active] } } ] }
  - key: mixed
    description: Offer mixed
    commission: { flat: 1 }
    rules:
      - partner.group: { any_of: [affiliates] }
      - transaction.amount: { gt: 1000 }
  - { key: disabled, description: Offer disabled, commission: { flat: 1 }, enabled: false }
"#;

/// rita (resellers; lead, pro), abe (affiliates; lead), nora (no group; lead),
/// newt (affiliates; new) who sold a product to abe's customer.
async fn partner_rules_setup() -> (Engine, tempfile::TempDir) {
    let (engine, dir) = engine().await;
    apply(&engine, &(program("rules", "UTC") + PARTNER_RULES)).await;
    send(
        &engine,
        "rules",
        &[
            joined("2026-06-01T08:00:00Z", "rita", Some("resellers")),
            joined("2026-06-01T08:00:00Z", "abe", Some("affiliates")),
            joined("2026-06-01T08:00:00Z", "nora", None),
            joined("2026-06-01T08:00:00Z", "newt", Some("affiliates")),
            signed_up("2026-06-02T08:00:00Z", "c-r1", "rita"),
            signed_up("2026-06-02T09:00:00Z", "c-r2", "rita"),
            signed_up("2026-06-02T08:00:00Z", "c-a", "abe"),
            signed_up("2026-06-02T08:00:00Z", "c-n", "nora"),
            upsert(
                "2026-06-03T08:00:00Z",
                "c-a",
                "inbox",
                "active",
                "s-newt",
                Some("newt"),
            ),
        ],
    )
    .await;
    for (partner, tags) in [
        ("rita", &["lead", "pro"][..]),
        ("abe", &["lead"][..]),
        ("nora", &["lead"][..]),
        ("newt", &["new"][..]),
    ] {
        let p = engine.partner("rules", partner).await.unwrap();
        assert_eq!(p.partner.tags, set(tags), "setup: tags of {partner}");
    }
    (engine, dir)
}

#[tokio::test]
async fn partner_group_and_tag_any_of_all_of_none_of() {
    let (engine, _dir) = partner_rules_setup().await;
    send(
        &engine,
        "rules",
        &[
            txn(
                "2026-06-04T08:00:00Z",
                "t-rita",
                "c-r1",
                "10.00",
                None,
                None,
            ),
            txn(
                "2026-06-04T08:00:00Z",
                "t-abe",
                "c-a",
                "1500.00",
                None,
                None,
            ),
            txn("2026-06-04T08:00:00Z", "t-nora", "c-n", "10.00", None, None),
            txn(
                "2026-06-04T08:00:00Z",
                "t-newt",
                "c-a",
                "10.00",
                Some("s-newt"),
                None,
            ),
        ],
    )
    .await;
    assert_eq!(
        fired(&engine, "rules", "t-rita").await,
        set(&["grp-any", "grp-all", "tag-any", "tag-all"])
    );
    assert_eq!(
        fired(&engine, "rules", "t-abe").await,
        set(&["grp-none", "tag-none", "mixed"])
    );
    assert_eq!(
        fired(&engine, "rules", "t-nora").await,
        set(&["grp-none", "tag-none"]),
        "a partner without a group: any_of/all_of fail, none_of holds"
    );
    assert_eq!(
        fired(&engine, "rules", "t-newt").await,
        set(&["grp-none", "tag-any", "tag-none", "everyone"])
    );
    let l = ledger(&engine, "rules").await;
    assert!(
        l.iter()
            .all(|c| c.trigger != "disabled" && c.trigger != "grp-all-two")
    );
    assert!(
        l.iter()
            .filter(|c| c.transaction == "t-newt")
            .all(|c| c.partner == "newt"),
        "rules look at the attributed (selling) partner"
    );

    // abe becomes a pro reseller afterwards; explain still judges t-abe by
    // the group and tags abe had then, and agrees with the ledger.
    send(
        &engine,
        "rules",
        &[
            signed_up("2026-06-05T08:00:00Z", "c-a2", "abe"),
            json!({ "id": id(), "type": "partner.updated", "at": "2026-06-05T09:00:00Z",
                    "partner": { "key": "abe", "group": "resellers" } })
            .to_string(),
        ],
    )
    .await;
    let abe = engine.partner("rules", "abe").await.unwrap().partner;
    assert_eq!(
        (abe.group.as_deref(), abe.tags.contains("pro")),
        (Some("resellers"), true)
    );
    let e = engine.explain_transaction("rules", "t-abe").await.unwrap();
    let explained: BTreeSet<String> = e
        .triggers
        .iter()
        .filter(|t| t.fires)
        .map(|t| t.trigger.clone())
        .collect();
    assert_eq!(explained, fired(&engine, "rules", "t-abe").await);
    let none = e.triggers.iter().find(|t| t.trigger == "tag-none").unwrap();
    assert_eq!(
        none.rules[0].reason, "partner tags [lead], rule none_of [pro]",
        "the tags abe had then"
    );
}

#[tokio::test]
async fn transaction_amount_gt_gte_lt_lte() {
    let (engine, _dir) = engine().await;
    let config = program("amounts", "UTC")
        + "commission_triggers:\n"
        + &rule_trigger("gt-100", "{ transaction.amount: { gt: 100 } }")
        + &rule_trigger("gte-100", "{ transaction.amount: { gte: 100 } }")
        + &rule_trigger("lt-100", "{ transaction.amount: { lt: 100 } }")
        + &rule_trigger("lte-100", "{ transaction.amount: { lte: 100 } }")
        + &rule_trigger("range", "{ transaction.amount: { gt: 10, lte: 20.5 } }");
    apply(&engine, &config).await;
    let cases = [
        ("a-99.99", "99.99", &["lt-100", "lte-100"][..]),
        ("a-100", "100.00", &["gte-100", "lte-100"][..]),
        ("a-100.01", "100.01", &["gt-100", "gte-100"][..]),
        ("a-10", "10.00", &["lt-100", "lte-100"][..]),
        ("a-10.01", "10.01", &["lt-100", "lte-100", "range"][..]),
        ("a-20.50", "20.50", &["lt-100", "lte-100", "range"][..]),
        ("a-20.51", "20.51", &["lt-100", "lte-100"][..]),
        ("a-zero", "0", &["lt-100", "lte-100"][..]),
    ];
    let mut events = vec![
        joined("2026-02-01T08:00:00Z", "pia", None),
        signed_up("2026-02-01T09:00:00Z", "cust", "pia"),
    ];
    for (key, amount, _) in &cases {
        events.push(txn("2026-02-02T10:00:00Z", key, "cust", amount, None, None));
    }
    send(&engine, "amounts", &events).await;
    for (key, _, expected) in &cases {
        assert_eq!(fired(&engine, "amounts", key).await, set(expected), "{key}");
    }
}

#[tokio::test]
async fn customer_age_days_bounds() {
    let (engine, _dir) = engine().await;
    let config = program("ages", "UTC")
        + "commission_triggers:\n"
        + &rule_trigger("gt-30", "{ customer.age_days: { gt: 30 } }")
        + &rule_trigger("gte-30", "{ customer.age_days: { gte: 30 } }")
        + &rule_trigger("lt-30", "{ customer.age_days: { lt: 30 } }")
        + &rule_trigger("lte-30", "{ customer.age_days: { lte: 30 } }")
        + &rule_trigger("exactly-30", "{ customer.age_days: { gte: 30, lt: 31 } }");
    apply(&engine, &config).await;
    // Signed up on February 1st at 10:00; whole days since then count.
    let cases = [
        ("age-0", "2026-02-01T10:00:00Z", &["lt-30", "lte-30"][..]),
        ("age-29", "2026-03-03T09:59:00Z", &["lt-30", "lte-30"][..]),
        (
            "age-30",
            "2026-03-03T10:00:00Z",
            &["gte-30", "lte-30", "exactly-30"][..],
        ),
        (
            "age-30-late",
            "2026-03-04T09:59:00Z",
            &["gte-30", "lte-30", "exactly-30"][..],
        ),
        ("age-31", "2026-03-04T10:00:00Z", &["gt-30", "gte-30"][..]),
    ];
    let mut events = vec![
        joined("2026-02-01T08:00:00Z", "pia", None),
        signed_up("2026-02-01T10:00:00Z", "cust", "pia"),
    ];
    for (key, at, _) in &cases {
        events.push(txn(at, key, "cust", "10.00", None, None));
    }
    send(&engine, "ages", &events).await;
    for (key, at, expected) in &cases {
        assert_eq!(
            fired(&engine, "ages", key).await,
            set(expected),
            "{key} at {at}"
        );
    }
    let e = engine.explain_transaction("ages", "age-31").await.unwrap();
    let gt = e.triggers.iter().find(|t| t.trigger == "gt-30").unwrap();
    assert!(
        gt.rules[0].reason.contains("customer age 31 days"),
        "{}",
        gt.rules[0].reason
    );
}

#[tokio::test]
async fn transaction_kind_any_of_with_absent_kind_as_one_time() {
    let (engine, _dir) = engine().await;
    let config = program("kinds", "UTC")
        + "commission_triggers:\n"
        + &rule_trigger("one-time", "{ transaction.kind: { any_of: [one_time] } }")
        + &rule_trigger("recurring", "{ transaction.kind: { any_of: [recurring] } }")
        + &rule_trigger(
            "manual-or-recurring",
            "{ transaction.kind: { any_of: [manual, recurring] } }",
        );
    apply(&engine, &config).await;
    send(
        &engine,
        "kinds",
        &[
            joined("2026-02-01T08:00:00Z", "pia", None),
            signed_up("2026-02-01T09:00:00Z", "cust", "pia"),
            txn(
                "2026-02-02T10:00:00Z",
                "k-absent",
                "cust",
                "10.00",
                None,
                None,
            ),
            txn(
                "2026-02-02T10:00:00Z",
                "k-one",
                "cust",
                "10.00",
                None,
                Some("one_time"),
            ),
            txn(
                "2026-02-02T10:00:00Z",
                "k-rec",
                "cust",
                "10.00",
                None,
                Some("recurring"),
            ),
            txn(
                "2026-02-02T10:00:00Z",
                "k-man",
                "cust",
                "10.00",
                None,
                Some("manual"),
            ),
        ],
    )
    .await;
    assert_eq!(
        fired(&engine, "kinds", "k-absent").await,
        set(&["one-time"])
    );
    assert_eq!(fired(&engine, "kinds", "k-one").await, set(&["one-time"]));
    assert_eq!(
        fired(&engine, "kinds", "k-rec").await,
        set(&["recurring", "manual-or-recurring"])
    );
    assert_eq!(
        fired(&engine, "kinds", "k-man").await,
        set(&["manual-or-recurring"])
    );
    let e = engine
        .explain_transaction("kinds", "k-absent")
        .await
        .unwrap();
    assert_eq!(
        e.transaction.kind,
        partnerops::spec::TransactionKind::OneTime
    );
}

// ---------------------------------------------------------------------------
// 5. Amounts: rounding, flat, drip, disabled triggers
// ---------------------------------------------------------------------------

#[tokio::test]
async fn percent_rounds_half_away_from_zero_flat_is_fixed_disabled_never_fires() {
    let (engine, _dir) = engine().await;
    let config = program("money", "UTC")
        + r#"
commission_triggers:
  - { key: p10, commission: { percent: 10 } }
  - { key: p12-5, commission: { percent: 12.5 } }
  - { key: flat, commission: { flat: 2.50 }, rules: [ { transaction.amount: { gt: 0 } } ] }
  - { key: off, commission: { flat: 100 }, enabled: false }
"#;
    apply(&engine, &config).await;
    // amount, 10%, 12.5%
    let cases = [
        ("0.05", "0.01", "0.01"),
        ("0.99", "0.10", "0.12"),
        ("0.04", "0.00", "0.01"),
        ("0.15", "0.02", "0.02"),
        ("0.25", "0.03", "0.03"),
        ("49.00", "4.90", "6.13"),
        ("99.00", "9.90", "12.38"),
        ("0.00", "0.00", "0.00"),
    ];
    let mut events = vec![
        joined("2026-02-01T08:00:00Z", "pia", None),
        signed_up("2026-02-01T09:00:00Z", "cust", "pia"),
    ];
    for (amount, _, _) in &cases {
        events.push(txn(
            "2026-02-02T10:00:00Z",
            &format!("m{amount}"),
            "cust",
            amount,
            None,
            None,
        ));
    }
    send(&engine, "money", &events).await;
    for (amount, ten, twelve) in &cases {
        let mut expected = vec![("p10", *ten), ("p12-5", *twelve)];
        if *amount != "0.00" {
            expected.push(("flat", "2.50"));
        }
        assert_eq!(
            paid(&engine, "money", &format!("m{amount}")).await,
            map(&expected),
            "transaction of {amount}"
        );
    }
    assert!(
        ledger(&engine, "money")
            .await
            .iter()
            .all(|c| c.trigger != "off")
    );
    let e = engine.explain_transaction("money", "m0.99").await.unwrap();
    let off = e.triggers.iter().find(|t| t.trigger == "off").unwrap();
    assert!(!off.enabled && !off.fires && off.amount.is_none());
    let p = e.triggers.iter().find(|t| t.trigger == "p12-5").unwrap();
    assert_eq!(p.amount.unwrap().to_string(), "0.12");
}

/// A refund is no sale: it takes back in proportion what the sale paid
/// (flat amounts too), and removes no tag; a negative `transaction.created`
/// is refused, naming `transaction.refunded`; a zero transaction still earns
/// a flat amount.
#[tokio::test]
async fn a_refund_takes_commissions_back_and_is_no_sale() {
    let (engine, _dir) = engine().await;
    let config = program("refund", "UTC")
        + r#"
tags: [ { key: seller }, { key: earning }, { key: buyer } ]
automations:
  - { key: first-sale, when: first_sale, then: [ { add_tag: seller } ] }
  - { key: first-commission, when: first_commission, then: [ { add_tag: earning } ] }
  - { key: each-sale, when: { sale: {} }, then: [ { tag_customer: buyer } ] }
commission_triggers:
  - { key: p20, commission: { percent: 20 } }
  - { key: bonus, commission: { flat: 25 } }
"#;
    apply(&engine, &config).await;
    let report = engine
        .ingest(
            "refund",
            &txn("2026-02-02T09:00:00Z", "neg", "cust", "-99.00", None, None),
            BatchFormat::Ndjson,
        )
        .await
        .unwrap();
    let reason = report.rejected[0].reason.as_deref().unwrap();
    assert!(reason.contains("transaction.refunded"), "{reason}");
    send(
        &engine,
        "refund",
        &[
            joined("2026-02-01T08:00:00Z", "pia", None),
            signed_up("2026-02-01T09:00:00Z", "cust", "pia"),
            txn("2026-02-02T11:00:00Z", "z1", "cust", "0", None, None),
        ],
    )
    .await;
    assert_eq!(
        paid(&engine, "refund", "z1").await,
        map(&[("p20", "0.00"), ("bonus", "25.00")])
    );
    // The zero transaction's flat bonus is a first commission; it is no sale.
    let pia = engine.partner("refund", "pia").await.unwrap().partner;
    assert_eq!(
        pia.tags.iter().map(String::as_str).collect::<Vec<_>>(),
        ["earning"]
    );
    assert_eq!(pia.stats.customers, 0);
    send(
        &engine,
        "refund",
        &[txn(
            "2026-02-03T10:00:00Z",
            "s1",
            "cust",
            "99.00",
            None,
            None,
        )],
    )
    .await;
    assert_eq!(
        paid(&engine, "refund", "s1").await,
        map(&[("p20", "19.80"), ("bonus", "25.00")])
    );
    send(
        &engine,
        "refund",
        &[refund("2026-02-04T10:00:00Z", "rf1", "s1", "99.00")],
    )
    .await;
    let net = |lines: Vec<CommissionRecord>| -> BTreeMap<String, i64> {
        let mut m = BTreeMap::new();
        for l in lines.into_iter().filter(|l| l.transaction == "s1") {
            *m.entry(l.trigger).or_default() += l.amount.minor();
        }
        m
    };
    assert_eq!(
        net(ledger(&engine, "refund").await),
        BTreeMap::from([("bonus".to_owned(), 0), ("p20".to_owned(), 0)])
    );
    // Refunds never remove a tag; revenue goes back down; the customer
    // still bought.
    let pia = engine.partner("refund", "pia").await.unwrap().partner;
    assert_eq!(
        pia.tags.iter().map(String::as_str).collect::<Vec<_>>(),
        ["earning", "seller"]
    );
    assert_eq!(pia.stats.customers, 1);
    assert_eq!(pia.stats.revenue.to_string(), "0.00");
}

/// Events at the same instant read the same in any order: the signup and the
/// product before the purchase, in one batch or split over two.
#[tokio::test]
async fn events_at_one_instant_apply_in_the_order_they_happen() {
    let config = program("same", "UTC")
        + r#"
products: [ { key: chat, name: Chat } ]
commission_triggers:
  - { key: chat-10, commission: { percent: 10 }, rules: [ { product.key: { any_of: [chat] } }, { product.created: { within: { rolling_days: 7 } } } ] }
"#;
    let at = "2026-02-01T00:00:00Z";
    let lines = [
        txn(at, "x1", "c1", "100.00", Some("S1"), None),
        upsert(at, "c1", "chat", "active", "S1", None),
        signed_up(at, "c1", "pa"),
        joined(at, "pa", None),
    ];
    let (engine, _dir) = engine().await;
    apply(&engine, &config).await;
    send(&engine, "same", &lines).await;
    assert_eq!(
        paid(&engine, "same", "x1").await,
        map(&[("chat-10", "10.00")])
    );

    // A sale dated a moment before its product's record, in one batch.
    let (late, _late_dir) = self::engine().await;
    apply(&late, &config).await;
    send(
        &late,
        "same",
        &[
            joined("2026-02-01T00:00:00Z", "pa", None),
            signed_up("2026-02-01T00:00:00Z", "c1", "pa"),
            txn(
                "2026-02-01T10:00:00Z",
                "x2",
                "c1",
                "50.00",
                Some("S2"),
                None,
            ),
            upsert("2026-02-01T10:00:05Z", "c1", "chat", "active", "S2", None),
        ],
    )
    .await;
    assert_eq!(paid(&late, "same", "x2").await, map(&[("chat-10", "5.00")]));
}

/// A product record changed later in the batch (another product, another
/// seller) does not reach back to a sale before the change: the batch pays
/// what the same events pay sent one at a time.
#[tokio::test]
async fn a_later_product_change_in_the_batch_does_not_reach_back() {
    let config = program("later", "UTC")
        + r#"
products: [ { key: chat, name: Chat }, { key: inbox, name: Inbox } ]
commission_triggers:
  - { key: chat-10, commission: { percent: 10 }, rules: [ { product.key: { any_of: [chat] } } ] }
  - { key: inbox-20, commission: { percent: 20 }, rules: [ { product.key: { any_of: [inbox] } } ] }
"#;
    let events = [
        joined("2026-06-01T00:00:00Z", "pa", None),
        joined("2026-06-01T00:00:00Z", "pb", None),
        signed_up("2026-06-01T01:00:00Z", "c1", "pa"),
        upsert("2026-06-02T00:00:00Z", "c1", "chat", "active", "S1", None),
        txn(
            "2026-06-10T00:00:00Z",
            "x1",
            "c1",
            "100.00",
            Some("S1"),
            None,
        ),
        upsert(
            "2026-06-20T00:00:00Z",
            "c1",
            "inbox",
            "active",
            "S1",
            Some("pb"),
        ),
        txn(
            "2026-06-25T00:00:00Z",
            "x2",
            "c1",
            "100.00",
            Some("S1"),
            None,
        ),
    ];
    let (together, _a) = engine().await;
    apply(&together, &config).await;
    send(&together, "later", &events).await;
    let (apart, _b) = engine().await;
    apply(&apart, &config).await;
    for e in &events {
        send(&apart, "later", std::slice::from_ref(e)).await;
    }
    for engine in [&together, &apart] {
        let ledger: Vec<(String, String, String)> = ledger(engine, "later")
            .await
            .into_iter()
            .map(|c| (c.transaction, c.partner, c.trigger))
            .collect();
        assert_eq!(
            ledger,
            [
                ("x1".to_owned(), "pa".to_owned(), "chat-10".to_owned()),
                ("x2".to_owned(), "pb".to_owned(), "inbox-20".to_owned()),
            ]
        );
    }
}

/// Another customer's transaction naming a customer's subscription key
/// matches nothing, and its amount shows nowhere in that customer's products.
#[tokio::test]
async fn the_partner_view_shows_only_the_customers_own_amounts() {
    let (engine, _dir) = engine().await;
    apply(
        &engine,
        &(program("own", "UTC") + "products: [ { key: inbox, name: Inbox, price: 99 } ]\n"),
    )
    .await;
    send(
        &engine,
        "own",
        &[
            joined("2026-06-01T00:00:00Z", "carol", None),
            joined("2026-06-01T00:00:00Z", "bob", None),
            signed_up("2026-06-01T01:00:00Z", "c-carol", "carol"),
            signed_up("2026-06-01T01:00:00Z", "c-bob", "bob"),
            upsert(
                "2026-06-02T00:00:00Z",
                "c-carol",
                "inbox",
                "active",
                "sub_X",
                None,
            ),
            txn(
                "2026-06-03T00:00:00Z",
                "t1",
                "c-carol",
                "99.00",
                Some("sub_X"),
                None,
            ),
            txn(
                "2026-06-04T00:00:00Z",
                "t2",
                "c-bob",
                "12345.67",
                Some("sub_X"),
                None,
            ),
        ],
    )
    .await;
    let view = engine.partner_view("own", "carol").await.unwrap();
    let amounts: Vec<String> = view.customers[0]
        .products
        .iter()
        .map(|p| p.amount.unwrap().to_string())
        .collect();
    assert_eq!(amounts, ["99.00"]);
}

/// Two sales at one instant settle the same whatever order their lines come
/// in: the first crosses the milestone whose tag the other's bonus needs.
#[tokio::test]
async fn sales_at_one_instant_settle_the_same_in_any_order() {
    let config = program("tie", "UTC")
        + r#"
tags: [ { key: gold } ]
automations:
  - { key: gold-tier, when: { milestone: { metric: revenue, at_least: 100 } }, then: [ { add_tag: gold } ] }
commission_triggers:
  - { key: gold-bonus, commission: { flat: 30 }, rules: [ { partner.tag: { any_of: [gold] } } ] }
"#;
    let setup = [
        joined("2026-06-01T00:00:00Z", "pa", None),
        signed_up("2026-06-01T01:00:00Z", "c1", "pa"),
    ];
    let sales = [
        json!({"id": "sale-a", "type": "transaction.created", "at": "2026-06-02T00:00:00Z",
               "transaction": {"key": "ta", "customer": "c1", "amount": "100.00"}})
        .to_string(),
        json!({"id": "sale-b", "type": "transaction.created", "at": "2026-06-02T00:00:00Z",
               "transaction": {"key": "tb", "customer": "c1", "amount": "100.00"}})
        .to_string(),
    ];
    let mut results = Vec::new();
    for order in [[0, 1], [1, 0]] {
        let (engine, _dir) = engine().await;
        apply(&engine, &config).await;
        let mut batch = setup.to_vec();
        batch.extend(order.iter().map(|&i| sales[i].clone()));
        send(&engine, "tie", &batch).await;
        results.push((
            fired(&engine, "tie", "ta").await,
            fired(&engine, "tie", "tb").await,
        ));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0], (set(&[]), set(&["gold-bonus"])));
}

/// Due dates read in the program's time zone, where month ends clamp: a sale
/// late on 31 January in New York is due 28 February there, not 1 March.
#[tokio::test]
async fn due_dates_read_in_the_program_time_zone() {
    let (engine, _dir) = engine().await;
    apply(
        &engine,
        &(program("ny", "America/New_York")
            + "commission_triggers:\n  - { key: p10, commission: { percent: 10 }, drip: { installments: 2 } }\n"),
    )
    .await;
    send(
        &engine,
        "ny",
        &[
            joined("2026-01-01T00:00:00Z", "pia", None),
            signed_up("2026-01-02T00:00:00Z", "c1", "pia"),
            txn("2026-02-01T04:30:00Z", "t1", "c1", "100.00", None, None),
        ],
    )
    .await;
    let due: Vec<String> = ledger(&engine, "ny")
        .await
        .iter()
        .map(|c| c.due_on.unwrap().to_string())
        .collect();
    assert_eq!(due, ["2026-01-31", "2026-02-28"]);
}

/// (amount, due_at, installment, installments) of one trigger on one transaction./// (amount, due_at, installment, installments) of one trigger on one transaction.
async fn drip_of(
    engine: &Engine,
    program: &str,
    transaction: &str,
    trigger: &str,
) -> Vec<(String, DateTime<Utc>, u32, u32)> {
    ledger(engine, program)
        .await
        .into_iter()
        .filter(|c| c.transaction == transaction && c.trigger == trigger)
        .map(|c| {
            (
                c.amount.to_string(),
                c.due_at,
                c.installment,
                c.installments,
            )
        })
        .collect()
}

#[tokio::test]
async fn drip_puts_odd_cents_first_and_clamps_month_ends() {
    let (engine, _dir) = engine().await;
    let config = program("drip", "UTC")
        + r#"
commission_triggers:
  - { key: drip-flat, commission: { flat: 10 }, drip: { installments: 3 }, rules: [ { transaction.amount: { gt: 0 } } ] }
  - { key: drip-tiny, commission: { flat: 0.05 }, drip: { installments: 4 }, rules: [ { transaction.amount: { gt: 0 } } ] }
  - { key: drip-pct, commission: { percent: 10 }, drip: { installments: 3 } }
  - { key: drip-one, commission: { percent: 10 }, drip: { installments: 1 }, rules: [ { transaction.amount: { gt: 0 } } ] }
"#;
    let revision = apply(&engine, &config).await;
    send(
        &engine,
        "drip",
        &[
            joined("2026-01-01T08:00:00Z", "pia", None),
            signed_up("2026-01-01T09:00:00Z", "cust", "pia"),
            txn(
                "2026-01-31T15:00:00Z",
                "d-jan31",
                "cust",
                "100.01",
                None,
                None,
            ),
            txn(
                "2026-05-31T09:00:00Z",
                "d-may31",
                "cust",
                "100.01",
                None,
                None,
            ),
            refund("2026-06-01T09:00:00Z", "r-may31", "d-may31", "100.01"),
        ],
    )
    .await;
    let s = |a: &str, at: &str, i: u32, n: u32| (a.to_owned(), t(at), i, n);
    assert_eq!(
        drip_of(&engine, "drip", "d-jan31", "drip-flat").await,
        vec![
            s("3.34", "2026-01-31T15:00:00Z", 1, 3),
            s("3.33", "2026-02-28T15:00:00Z", 2, 3),
            s("3.33", "2026-03-31T15:00:00Z", 3, 3),
        ]
    );
    assert_eq!(
        drip_of(&engine, "drip", "d-jan31", "drip-tiny").await,
        vec![
            s("0.02", "2026-01-31T15:00:00Z", 1, 4),
            s("0.01", "2026-02-28T15:00:00Z", 2, 4),
            s("0.01", "2026-03-31T15:00:00Z", 3, 4),
            s("0.01", "2026-04-30T15:00:00Z", 4, 4),
        ]
    );
    // 10% of 100.01 is 10.00.
    assert_eq!(
        drip_of(&engine, "drip", "d-jan31", "drip-pct").await,
        vec![
            s("3.34", "2026-01-31T15:00:00Z", 1, 3),
            s("3.33", "2026-02-28T15:00:00Z", 2, 3),
            s("3.33", "2026-03-31T15:00:00Z", 3, 3),
        ]
    );
    assert_eq!(
        drip_of(&engine, "drip", "d-jan31", "drip-one").await,
        vec![s("10.00", "2026-01-31T15:00:00Z", 1, 1)]
    );
    // May 31 → June 30; a full refund takes back each installment on its
    // own due date (none was paid), so each nets exactly zero.
    assert_eq!(
        drip_of(&engine, "drip", "d-may31", "drip-pct").await,
        vec![
            s("3.34", "2026-05-31T09:00:00Z", 1, 3),
            s("3.33", "2026-06-30T09:00:00Z", 2, 3),
            s("3.33", "2026-07-31T09:00:00Z", 3, 3),
            s("-3.34", "2026-05-31T09:00:00Z", 1, 3),
            s("-3.33", "2026-06-30T09:00:00Z", 2, 3),
            s("-3.33", "2026-07-31T09:00:00Z", 3, 3),
        ]
    );
    assert!(
        ledger(&engine, "drip")
            .await
            .iter()
            .all(|c| c.revision == revision)
    );
    // The ledger is in the order lines were written.
    let ids: Vec<u64> = ledger(&engine, "drip").await.iter().map(|c| c.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[tokio::test]
async fn drip_due_dates_are_computed_in_the_program_time_zone() {
    let (engine, _dir) = engine().await;
    let config = program("drip-berlin", "Europe/Berlin")
        + "commission_triggers:\n  - { key: drip, commission: { flat: 10 }, drip: { installments: 3 } }\n";
    apply(&engine, &config).await;
    // 23:30 UTC on January 30th is 00:30 on January 31st in Berlin: the next
    // installments fall on the last day of February and March 31st, Berlin time
    // (CET, then CEST from March 29th).
    send(
        &engine,
        "drip-berlin",
        &[
            joined("2026-01-01T08:00:00Z", "pia", None),
            signed_up("2026-01-01T09:00:00Z", "cust", "pia"),
            txn(
                "2026-01-30T23:30:00Z",
                "d-berlin",
                "cust",
                "1.00",
                None,
                None,
            ),
        ],
    )
    .await;
    let s = |a: &str, at: &str, i: u32| (a.to_owned(), t(at), i, 3);
    assert_eq!(
        drip_of(&engine, "drip-berlin", "d-berlin", "drip").await,
        vec![
            s("3.34", "2026-01-30T23:30:00Z", 1),
            s("3.33", "2026-02-27T23:30:00Z", 2),
            s("3.33", "2026-03-30T22:30:00Z", 3),
        ]
    );
}

/// Installments k months after a local time that does not exist (spring
/// forward) or exists twice (fall back) in the program's time zone still fall
/// due on that local date, k months later, never at the transaction time.
#[tokio::test]
async fn drip_installment_landing_in_a_dst_gap_or_overlap_is_still_due_k_months_later() {
    let (engine, _dir) = engine().await;
    let config = program("drip-dst", "Europe/Berlin")
        + "commission_triggers:\n  - { key: drip, commission: { flat: 10 }, drip: { installments: 3 } }\n";
    apply(&engine, &config).await;
    send(
        &engine,
        "drip-dst",
        &[
            joined("2026-01-01T08:00:00Z", "pia", None),
            signed_up("2026-01-01T09:00:00Z", "cust", "pia"),
            // 02:30 CET on January 29th; + 2 months is 02:30 on March 29th,
            // which Berlin skips (clocks go from 02:00 to 03:00).
            txn("2026-01-29T01:30:00Z", "d-gap", "cust", "1.00", None, None),
            // 02:30 CEST on August 25th; + 2 months is 02:30 on October 25th,
            // which Berlin has twice (clocks go from 03:00 back to 02:00).
            txn(
                "2026-08-25T00:30:00Z",
                "d-overlap",
                "cust",
                "1.00",
                None,
                None,
            ),
        ],
    )
    .await;
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    let mut got = Vec::new();
    for key in ["d-gap", "d-overlap"] {
        let mut v = drip_of(&engine, "drip-dst", key, "drip").await;
        v.sort_by_key(|(_, _, i, _)| *i);
        for (_, due, i, _) in v {
            got.push((key, i, due.with_timezone(&berlin).date_naive()));
        }
    }
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    assert_eq!(
        got,
        vec![
            ("d-gap", 1, d(2026, 1, 29)),
            ("d-gap", 2, d(2026, 2, 28)),
            ("d-gap", 3, d(2026, 3, 29)),
            ("d-overlap", 1, d(2026, 8, 25)),
            ("d-overlap", 2, d(2026, 9, 25)),
            ("d-overlap", 3, d(2026, 10, 25)),
        ],
        "(transaction, installment, due date in Berlin): the third installments fall on \
         a local time Berlin skips / has twice, and must still be due two months later, \
         not at the transaction time"
    );
}

// ---------------------------------------------------------------------------
// 6. Attribution
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_product_with_a_partner_is_attributed_to_that_partner_not_the_referrer() {
    let (engine, _dir) = engine().await;
    let config = program("attr", "UTC")
        + r#"
groups:
  - { key: resellers }
  - { key: affiliates }
products:
  - { key: chat, name: Live Chat }
  - { key: inbox, name: Inbox }
commission_triggers:
  - { key: all-10, commission: { percent: 10 } }
  - { key: no-resellers, commission: { flat: 1 }, rules: [ { partner.group: { none_of: [resellers] } } ] }
"#;
    apply(&engine, &config).await;
    send(
        &engine,
        "attr",
        &[
            joined("2026-03-01T08:00:00Z", "alice", Some("resellers")),
            joined("2026-03-01T08:00:00Z", "bob", Some("affiliates")),
            signed_up("2026-03-02T08:00:00Z", "acme", "alice"),
            upsert(
                "2026-03-03T08:00:00Z",
                "acme",
                "chat",
                "active",
                "s-chat",
                None,
            ),
            upsert(
                "2026-03-03T08:00:00Z",
                "acme",
                "inbox",
                "active",
                "s-inbox",
                Some("bob"),
            ),
            // Never referred: bought through bob's product only.
            upsert(
                "2026-03-03T08:00:00Z",
                "orphan",
                "inbox",
                "active",
                "s-orphan",
                Some("bob"),
            ),
            // Neither referred nor sold by a partner.
            upsert(
                "2026-03-03T08:00:00Z",
                "lonely",
                "chat",
                "active",
                "s-lonely",
                None,
            ),
            txn(
                "2026-03-04T08:00:00Z",
                "t-chat",
                "acme",
                "49.00",
                Some("s-chat"),
                None,
            ),
            txn(
                "2026-03-04T08:00:00Z",
                "t-inbox",
                "acme",
                "99.00",
                Some("s-inbox"),
                None,
            ),
            txn(
                "2026-03-04T08:00:00Z",
                "t-plain",
                "acme",
                "20.00",
                None,
                None,
            ),
            txn(
                "2026-03-04T08:00:00Z",
                "t-orphan",
                "orphan",
                "10.00",
                Some("s-orphan"),
                None,
            ),
            txn(
                "2026-03-04T08:00:00Z",
                "t-lonely",
                "lonely",
                "10.00",
                Some("s-lonely"),
                None,
            ),
        ],
    )
    .await;
    let rows: BTreeSet<(String, String, String, String)> = ledger(&engine, "attr")
        .await
        .into_iter()
        .map(|c| (c.transaction, c.trigger, c.partner, c.amount.to_string()))
        .collect();
    let r = |a: &str, b: &str, c: &str, d: &str| {
        (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned())
    };
    assert_eq!(
        rows,
        BTreeSet::from([
            r("t-chat", "all-10", "alice", "4.90"),
            r("t-inbox", "all-10", "bob", "9.90"),
            r("t-inbox", "no-resellers", "bob", "1.00"),
            r("t-plain", "all-10", "alice", "2.00"),
            r("t-orphan", "all-10", "bob", "1.00"),
            r("t-orphan", "no-resellers", "bob", "1.00"),
        ])
    );
    assert_eq!(
        engine.commissions("attr", Some("bob")).await.unwrap().len(),
        4
    );

    let inbox = engine.explain_transaction("attr", "t-inbox").await.unwrap();
    assert_eq!(inbox.transaction.partner.as_deref(), Some("bob"));
    assert!(
        inbox.attribution.contains("`bob`") && inbox.attribution.contains("sold the product"),
        "{}",
        inbox.attribution
    );
    let chat = engine.explain_transaction("attr", "t-chat").await.unwrap();
    assert_eq!(chat.transaction.partner.as_deref(), Some("alice"));
    assert!(
        chat.attribution.contains("referred the customer"),
        "{}",
        chat.attribution
    );
    let lonely = engine
        .explain_transaction("attr", "t-lonely")
        .await
        .unwrap();
    assert_eq!(lonely.transaction.partner, None);
    assert!(
        lonely.attribution.contains("no partner"),
        "{}",
        lonely.attribution
    );
    assert!(lonely.triggers.iter().all(|t| !t.fires));
    assert!(lonely.commissions.is_empty());

    // bob sees acme (he sold it a product) and orphan; alice sees acme.
    let bob = engine.partner_view("attr", "bob").await.unwrap();
    assert_eq!(
        bob.customers
            .iter()
            .map(|c| c.key.as_str())
            .collect::<Vec<_>>(),
        ["acme", "orphan"]
    );
    let alice = engine.partner_view("attr", "alice").await.unwrap();
    assert_eq!(
        alice
            .customers
            .iter()
            .map(|c| c.key.as_str())
            .collect::<Vec<_>>(),
        ["acme"]
    );
}

// ---------------------------------------------------------------------------
// 7. History
// ---------------------------------------------------------------------------

fn history_config(percent: &str, extra: &str) -> String {
    program("hist", "UTC")
        + &format!(
            r#"
products:
  - {{ key: inbox, name: Inbox, price: 99 }}
commission_triggers:
  - key: inbox
    description: Earn {percent}% for every Inbox sale
    commission: {{ percent: {percent} }}
    rules: [ {{ product.key: {{ any_of: [inbox] }} }} ]
{extra}"#
        )
}

#[tokio::test]
async fn a_later_config_change_never_rewrites_existing_commissions() {
    let (engine, _dir) = engine().await;
    let r1 = apply(&engine, &history_config("20", "")).await;
    let first_t1 = txn(
        "2026-03-05T12:00:00Z",
        "t1",
        "acme",
        "99.00",
        Some("s-inbox"),
        None,
    );
    send(
        &engine,
        "hist",
        &[
            joined("2026-03-01T08:00:00Z", "pia", None),
            signed_up("2026-03-02T08:00:00Z", "acme", "pia"),
            upsert(
                "2026-03-03T08:00:00Z",
                "acme",
                "inbox",
                "active",
                "s-inbox",
                None,
            ),
            first_t1.clone(),
        ],
    )
    .await;
    let before = ledger(&engine, "hist").await;
    assert_eq!(before.len(), 1);
    assert_eq!(
        (
            before[0].amount.to_string(),
            before[0].revision,
            before[0].trigger.as_str()
        ),
        ("19.80".to_owned(), r1, "inbox")
    );

    let r2 = apply(&engine, &history_config("25", "")).await;
    assert!(r2 > r1);
    send(
        &engine,
        "hist",
        &[txn(
            "2026-04-05T12:00:00Z",
            "t2",
            "acme",
            "99.00",
            Some("s-inbox"),
            None,
        )],
    )
    .await;
    let after = ledger(&engine, "hist").await;
    assert_eq!(after.len(), 2);
    assert_eq!(after[0], before[0], "t1's commission is untouched");
    assert_eq!(
        (
            after[1].transaction.as_str(),
            after[1].amount.to_string(),
            after[1].revision
        ),
        ("t2", "24.75".to_owned(), r2)
    );

    // Replace the trigger and disable a new one: old commissions stay as they were.
    let r3 = apply(
        &engine,
        &(program("hist", "UTC")
            + r#"
products:
  - { key: inbox, name: Inbox, price: 99 }
commission_triggers:
  - { key: inbox-30, description: Earn 30% now, commission: { percent: 30 } }
  - { key: paused, commission: { flat: 5 }, enabled: false }
"#),
    )
    .await;
    assert!(r3 > r2);
    send(
        &engine,
        "hist",
        &[txn(
            "2026-05-05T12:00:00Z",
            "t3",
            "acme",
            "99.00",
            Some("s-inbox"),
            None,
        )],
    )
    .await;
    let last = ledger(&engine, "hist").await;
    assert_eq!(last.len(), 3);
    assert_eq!(&last[..2], &after[..], "t1 and t2 are untouched");
    assert_eq!(
        (
            last[2].trigger.as_str(),
            last[2].amount.to_string(),
            last[2].revision
        ),
        ("inbox-30", "29.70".to_owned(), r3)
    );

    // Explain judges the transaction under the revision it was computed
    // under, so its verdicts agree with what was recorded then.
    let e = engine.explain_transaction("hist", "t1").await.unwrap();
    assert_eq!(e.transaction.revision, r1);
    assert_eq!((e.revision, e.current_revision), (r1, r3));
    assert_eq!(e.commissions, before);
    let fired: Vec<&str> = e
        .triggers
        .iter()
        .filter(|t| t.fires)
        .map(|t| t.trigger.as_str())
        .collect();
    let recorded: Vec<&str> = before.iter().map(|c| c.trigger.as_str()).collect();
    assert_eq!(fired, recorded);
    assert!(e.triggers.iter().all(|t| t.trigger != "inbox-30"));

    // Resending the same event is a duplicate; a new event for the same
    // transaction is refused. Neither adds a commission.
    let again = engine
        .ingest("hist", &first_t1, BatchFormat::Ndjson)
        .await
        .unwrap();
    assert_eq!((again.accepted, again.duplicates.len()), (0, 1));
    let other_id = txn(
        "2026-03-05T12:00:00Z",
        "t1",
        "acme",
        "99.00",
        Some("s-inbox"),
        None,
    );
    let refused = engine
        .ingest("hist", &other_id, BatchFormat::Ndjson)
        .await
        .unwrap();
    assert_eq!((refused.accepted, refused.rejected.len()), (0, 1));
    assert_eq!(ledger(&engine, "hist").await, last);

    // The partner still sees the old commissions.
    let view = engine.partner_view("hist", "pia").await.unwrap();
    let amounts: Vec<String> = view
        .commissions
        .iter()
        .map(|c| c.amount.to_string())
        .collect();
    assert_eq!(amounts, ["19.80", "24.75", "29.70"]);
}

// ---------------------------------------------------------------------------
// 8. Eligibility: which offers a partner sees
// ---------------------------------------------------------------------------

#[tokio::test]
async fn offers_follow_partner_group_and_tag_rules() {
    let (engine, _dir) = partner_rules_setup().await;
    let offers = |v: partnerops::engine::view::PartnerView| -> BTreeSet<String> {
        v.offers.into_iter().collect()
    };
    let o =
        |keys: &[&str]| -> BTreeSet<String> { keys.iter().map(|k| format!("Offer {k}")).collect() };
    assert_eq!(
        offers(engine.partner_view("rules", "rita").await.unwrap()),
        o(&["grp-any", "grp-all", "tag-any", "tag-all", "everyone"]),
        "rita: resellers, tags lead + pro"
    );
    assert_eq!(
        offers(engine.partner_view("rules", "abe").await.unwrap()),
        o(&["grp-none", "tag-none", "everyone", "mixed"]),
        "abe: affiliates, tag lead"
    );
    assert_eq!(
        offers(engine.partner_view("rules", "nora").await.unwrap()),
        o(&["grp-none", "tag-none", "everyone"]),
        "nora: no group, tag lead"
    );
    assert_eq!(
        offers(engine.partner_view("rules", "newt").await.unwrap()),
        o(&["grp-none", "tag-any", "tag-none", "everyone", "mixed"]),
        "newt: affiliates, tag new"
    );

    // A partner gaining a tag gains the offers that need it.
    send(
        &engine,
        "rules",
        &[signed_up("2026-06-05T08:00:00Z", "c-a2", "abe")],
    )
    .await;
    assert_eq!(
        offers(engine.partner_view("rules", "abe").await.unwrap()),
        o(&["grp-none", "tag-any", "tag-all", "everyone", "mixed"]),
        "abe after a second signup: tags lead + pro"
    );
}

// ---------------------------------------------------------------------------
// 9. The partner view over HTTP, partner tokens, first_commission
// ---------------------------------------------------------------------------

const HTTP_CONFIG: &str = r#"
groups:
  - { key: resellers, name: Resellers }
  - { key: affiliates, name: Affiliates }
tags:
  - { key: earning }
automations:
  - { key: first-earnings, when: first_commission, then: [ { add_tag: earning } ] }
products:
  - { key: live-chat, name: Live Chat, price: 49 }
  - { key: knowledge-base, name: Knowledge Base, price: 79 }
  - { key: inbox, name: Inbox, price: 99 }
commission_triggers:
  - key: live-chat-10
    name: internal chat name
    description: Earn 10% for every Live Chat sale
    commission: { percent: 10 }
    rules: [ { product.key: { any_of: [live-chat] } } ]
  - key: inbox-20
    name: internal inbox name
    description: Earn 20% for every Inbox sale
    commission: { percent: 20 }
    rules:
      - product.key: { any_of: [inbox] }
      - product.status: { any_of: [active] }
  - key: resellers-bonus
    description: Resellers earn 7.77 per sale
    commission: { flat: 7.77 }
    rules: [ { partner.group: { any_of: [resellers] } } ]
  - key: affiliates-bonus
    description: Affiliates earn 1.11 on sales over 50
    commission: { flat: 1.11 }
    rules:
      - partner.group: { any_of: [affiliates] }
      - transaction.amount: { gt: 50 }
"#;

async fn get(url: &str, token: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn partner_view_over_http_with_partner_tokens() {
    let mut server = TestServer::start().await;
    let engine = server.engine.clone();
    apply(&engine, &(program("gigakick", "UTC") + HTTP_CONFIG)).await;
    send(
        &engine,
        "gigakick",
        &[
            joined("2026-06-01T08:00:00Z", "alice-agency", Some("resellers")),
            joined("2026-06-01T08:00:00Z", "bob-blog", Some("affiliates")),
            joined("2026-06-01T08:00:00Z", "carol-creator", Some("affiliates")),
            signed_up("2026-06-02T08:00:00Z", "acme", "alice-agency"),
            signed_up("2026-06-02T08:00:00Z", "hooli", "bob-blog"),
            signed_up("2026-06-02T08:00:00Z", "umbrella", "carol-creator"),
            upsert(
                "2026-06-03T08:00:00Z",
                "acme",
                "live-chat",
                "active",
                "s-acme-chat",
                None,
            ),
            upsert(
                "2026-06-03T09:00:00Z",
                "acme",
                "inbox",
                "active",
                "s-acme-inbox",
                Some("bob-blog"),
            ),
            upsert(
                "2026-06-03T10:00:00Z",
                "acme",
                "knowledge-base",
                "trial",
                "s-acme-kb",
                None,
            ),
            upsert(
                "2026-06-03T08:00:00Z",
                "hooli",
                "live-chat",
                "active",
                "s-hooli-chat",
                None,
            ),
            upsert(
                "2026-06-03T08:00:00Z",
                "umbrella",
                "live-chat",
                "active",
                "s-umb-chat",
                None,
            ),
            txn(
                "2026-06-04T08:00:00Z",
                "t1",
                "acme",
                "49.00",
                Some("s-acme-chat"),
                None,
            ),
            txn(
                "2026-06-04T08:00:00Z",
                "t2",
                "acme",
                "99.00",
                Some("s-acme-inbox"),
                None,
            ),
            txn(
                "2026-06-04T08:00:00Z",
                "t3",
                "hooli",
                "31.00",
                Some("s-hooli-chat"),
                None,
            ),
            // carol: a zero commission is not "above zero".
            txn(
                "2026-06-04T08:00:00Z",
                "t4",
                "umbrella",
                "0",
                Some("s-umb-chat"),
                None,
            ),
            txn(
                "2026-06-05T08:00:00Z",
                "t5",
                "umbrella",
                "0.04",
                Some("s-umb-chat"),
                None,
            ),
        ],
    )
    .await;
    assert_eq!(
        paid(&engine, "gigakick", "t1").await,
        map(&[("live-chat-10", "4.90"), ("resellers-bonus", "7.77")])
    );
    assert_eq!(
        paid(&engine, "gigakick", "t2").await,
        map(&[("inbox-20", "19.80"), ("affiliates-bonus", "1.11")])
    );
    assert_eq!(
        paid(&engine, "gigakick", "t4").await,
        map(&[("live-chat-10", "0.00")])
    );
    assert_eq!(
        paid(&engine, "gigakick", "t5").await,
        map(&[("live-chat-10", "0.00")])
    );

    // first_commission: on the first commission above zero.
    let tags = |key: &'static str| {
        let engine = engine.clone();
        async move { engine.partner("gigakick", key).await.unwrap().partner.tags }
    };
    assert_eq!(tags("alice-agency").await, set(&["earning"]));
    assert_eq!(tags("bob-blog").await, set(&["earning"]));
    assert_eq!(
        tags("carol-creator").await,
        set(&[]),
        "a zero commission does not fire first_commission"
    );
    send(
        &engine,
        "gigakick",
        &[txn(
            "2026-06-06T08:00:00Z",
            "t6",
            "umbrella",
            "0.05",
            Some("s-umb-chat"),
            None,
        )],
    )
    .await;
    assert_eq!(
        paid(&engine, "gigakick", "t6").await,
        map(&[("live-chat-10", "0.01")])
    );
    assert_eq!(tags("carol-creator").await, set(&["earning"]));
    let history = engine
        .partner("gigakick", "carol-creator")
        .await
        .unwrap()
        .tag_history;
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].cause.as_str(), history[0].at),
        ("first-earnings", t("2026-06-06T08:00:00Z"))
    );

    let base = format!("{}/v1/programs/gigakick", server.url);
    let alice = server.token(&["partner:alice-agency"]).await;
    let bob = server.token(&["partner:bob-blog"]).await;

    // alice: her customer acme with every product, incl. bob's Inbox, without bob.
    let (status, body) = get(&format!("{base}/me"), &alice).await;
    assert_eq!(status, 200, "{body}");
    let view: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(view["partner"], "alice-agency");
    assert_eq!(view["customers"].as_array().unwrap().len(), 1);
    assert_eq!(view["customers"][0]["key"], "acme");
    let products: BTreeSet<(String, String, String, String)> = view["customers"][0]["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let fields: BTreeSet<&str> =
                p.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                fields,
                BTreeSet::from(["product", "status", "amount", "purchased_at"]),
                "a product says nothing about who sold it: {p}"
            );
            (
                p["product"].as_str().unwrap().to_owned(),
                p["status"].as_str().unwrap().to_owned(),
                p["amount"].as_str().unwrap().to_owned(),
                p["purchased_at"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let purchased = |at: &str| {
        serde_json::to_value(t(at))
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    };
    let row = |a: &str, b: &str, c: &str, d: &str| {
        (a.to_owned(), b.to_owned(), c.to_owned(), purchased(d))
    };
    assert_eq!(
        products,
        BTreeSet::from([
            row("Live Chat", "active", "49.00", "2026-06-03T08:00:00Z"),
            row("Inbox", "active", "99.00", "2026-06-03T09:00:00Z"),
            row("Knowledge Base", "trial", "79.00", "2026-06-03T10:00:00Z"),
        ])
    );
    let amounts: BTreeSet<&str> = view["commissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, BTreeSet::from(["4.90", "7.77"]));
    let offers: BTreeSet<&str> = view["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert_eq!(
        offers,
        BTreeSet::from([
            "Earn 10% for every Live Chat sale",
            "Earn 20% for every Inbox sale",
            "Resellers earn 7.77 per sale",
        ])
    );
    for secret in [
        "bob-blog",
        "carol-creator",
        "19.80",
        "1.11",
        "3.10",
        "0.01",
        "internal",
        "inbox-20",
        "hooli",
        "umbrella",
    ] {
        assert!(
            !body.contains(secret),
            "alice's view leaks `{secret}`: {body}"
        );
    }
    // The same view embedded, serialized.
    let embedded = serde_json::to_string(
        &engine
            .partner_view("gigakick", "alice-agency")
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        !embedded.contains("bob-blog") && !embedded.contains("19.80"),
        "{embedded}"
    );

    // bob: acme (he sold it Inbox) and hooli; alice's Live Chat shows, alice does not.
    let (status, body) = get(&format!("{base}/me"), &bob).await;
    assert_eq!(status, 200, "{body}");
    let view: Value = serde_json::from_str(&body).unwrap();
    let customers: Vec<&str> = view["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(customers, ["acme", "hooli"]);
    let acme_products: BTreeSet<&str> = view["customers"][0]["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["product"].as_str().unwrap())
        .collect();
    assert_eq!(
        acme_products,
        BTreeSet::from(["Live Chat", "Inbox", "Knowledge Base"])
    );
    let amounts: BTreeSet<&str> = view["commissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, BTreeSet::from(["19.80", "1.11", "3.10"]));
    for secret in [
        "alice-agency",
        "carol-creator",
        "4.90",
        "7.77",
        "Resellers earn",
    ] {
        assert!(
            !body.contains(secret),
            "bob's view leaks `{secret}`: {body}"
        );
    }

    // Own view by path: allowed. Everything else: 403.
    let (status, _) = get(&format!("{base}/partners/alice-agency/view"), &alice).await;
    assert_eq!(status, 200);
    for path in [
        "/partners",
        "/commissions",
        "/commissions?partner=alice-agency",
        "/partners/bob-blog/view",
        "/partners/bob-blog",
        "/partners/alice-agency",
        "/transactions/t1/explain",
        "/transactions/t2/explain",
    ] {
        let (status, body) = get(&format!("{base}{path}"), &alice).await;
        assert_eq!(status, 403, "GET {path} with a partner token: {body}");
        assert!(!body.contains("bob-blog"), "{path}: {body}");
    }
    // A partner key names a partner of one program: alice's token does not
    // reach another program, nor does another program's alice reach this one.
    let (status, body) = get(&format!("{}/v1/programs/other/me", server.url), &alice).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("reaches program `gigakick` only"), "{body}");
    apply(
        &server.engine,
        "program: { key: other, name: Other, currency: USD }\n",
    )
    .await;
    let other_alice = server
        .token_for(Some("other"), &["partner:alice-agency"])
        .await;
    let (status, body) = get(&format!("{base}/me"), &other_alice).await;
    assert_eq!(status, 403, "{body}");
    assert!(!body.contains("acme"), "{body}");
    let (status, body) = get(&format!("{}/v1/programs", server.url), &other_alice).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("\"other\"") && !body.contains("gigakick"),
        "{body}"
    );
    // /me needs a partner token.
    let (status, _) = get(&format!("{base}/me"), &server.admin).await;
    assert_eq!(status, 403);
    let reader = server.token(&["data:read"]).await;
    let (status, _) = get(&format!("{base}/partners/bob-blog/view"), &reader).await;
    assert_eq!(status, 200);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// 10. The CLI
// ---------------------------------------------------------------------------

fn partnerops(args: &[&str], db: &Path) -> std::process::Output {
    let out = assert_cmd::Command::cargo_bin("partnerops")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("PARTNEROPS_ENGINE")
        .env_remove("PARTNEROPS_TOKEN")
        .env_remove("PARTNEROPS_DB")
        .env("NO_COLOR", "1")
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "partnerops {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

#[test]
fn cli_apply_send_commissions_json_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("engine.db");
    partnerops(&["apply", "examples/gigakick", "--yes"], &db);
    partnerops(&["events", "send", "examples/gigakick/events.ndjson"], &db);

    let out = partnerops(&["commissions", "--format", "json"], &db);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    });
    let list = list.as_array().expect("a JSON array");
    assert!(!list.is_empty());
    for c in list {
        for field in ["partner", "transaction", "trigger", "amount", "due_at"] {
            assert!(c[field].is_string(), "{field} in {c}");
        }
        let amount = c["amount"].as_str().unwrap();
        let (whole, cents) = amount.trim_start_matches('-').split_once('.').unwrap();
        assert!(
            !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && cents.len() == 2
                && cents.bytes().all(|b| b.is_ascii_digit()),
            "amount {amount}"
        );
        DateTime::parse_from_rfc3339(c["due_at"].as_str().unwrap()).unwrap();
    }
    let find = |transaction: &str| -> Vec<(String, String, String)> {
        list.iter()
            .filter(|c| c["transaction"] == transaction)
            .map(|c| {
                (
                    c["partner"].as_str().unwrap().to_owned(),
                    c["trigger"].as_str().unwrap().to_owned(),
                    c["amount"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    // acme-co (alice-agency, a reseller): Live Chat 10% and Inbox 20%.
    assert_eq!(
        find("txn-0001"),
        [(
            "alice-agency".to_owned(),
            "live-chat-10".to_owned(),
            "4.90".to_owned()
        )]
    );
    assert_eq!(
        find("txn-0007"),
        [(
            "alice-agency".to_owned(),
            "inbox-20".to_owned(),
            "19.80".to_owned()
        )]
    );
    // umbrella's transaction says sub_umbrella_kb, its product SUB_Umbrella_KB.
    assert!(find("txn-0031").is_empty(), "{:?}", find("txn-0031"));

    let out = partnerops(&["explain", "transaction", "txn-0031"], &db);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("did you mean"), "{text}");
    assert!(text.contains("SUB_Umbrella_KB"), "{text}");
}
