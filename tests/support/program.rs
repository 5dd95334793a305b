//! A program on a fresh embedded engine, events as senders write them, and
//! reads of the ledger: what the ledger, refund and order tests share.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use partnerops::client::{Embedded, Reader, Writer};
use partnerops::engine::Engine;
use partnerops::engine::event::{BatchFormat, IngestReport};
use partnerops::store::record::LedgerLine;
use serde_json::json;

/// An engine on a fresh SQLite file; keep the directory alive with it.
pub async fn engine() -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("engine.db")).await.unwrap();
    (engine, dir)
}

/// Loads `yaml` as a config directory and applies it, as the CLI does;
/// returns the revision.
pub async fn apply(engine: &Engine, yaml: &str) -> u64 {
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
                &plan.changeset("tests".into(), None, None),
            )
            .await
            .unwrap();
    }
    client.snapshot(&config.program.key).await.unwrap().revision
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

pub fn id() -> String {
    format!("e{:06}", NEXT_ID.fetch_add(1, Ordering::SeqCst))
}

pub fn joined(at: &str, partner: &str, group: Option<&str>) -> String {
    let mut p = json!({ "key": partner });
    if let Some(g) = group {
        p["group"] = json!(g);
    }
    json!({ "id": id(), "type": "partner.joined", "at": at, "partner": p }).to_string()
}

pub fn updated(at: &str, partner: &str, group: Option<&str>) -> String {
    json!({
        "id": id(), "type": "partner.updated", "at": at,
        "partner": { "key": partner, "group": group }
    })
    .to_string()
}

pub fn active(at: &str, partner: &str) -> String {
    json!({ "id": id(), "type": "partner.active", "at": at, "partner": partner }).to_string()
}

pub fn signed_up(at: &str, customer: &str, partner: &str) -> String {
    json!({
        "id": id(), "type": "customer.signed_up", "at": at,
        "customer": customer, "partner": { "key": partner }
    })
    .to_string()
}

pub fn upsert(at: &str, customer: &str, product: &str, status: &str, sub: &str) -> String {
    json!({
        "id": id(), "type": "customer_product.upserted", "at": at,
        "customer": { "key": customer }, "product": product, "status": status,
        "external_subscription_key": sub
    })
    .to_string()
}

pub fn sale(at: &str, key: &str, customer: &str, amount: &str, sub: Option<&str>) -> String {
    let mut t = json!({ "key": key, "customer": customer, "amount": amount, "kind": "recurring" });
    if let Some(s) = sub {
        t["subscription_key"] = json!(s);
    }
    json!({ "id": id(), "type": "transaction.created", "at": at, "transaction": t }).to_string()
}

pub fn refund(at: &str, key: &str, transaction: &str, amount: &str) -> String {
    json!({
        "id": id(), "type": "transaction.refunded", "at": at,
        "refund": { "key": key, "transaction": transaction, "amount": amount }
    })
    .to_string()
}

/// Sends events as NDJSON; every one must be accepted.
pub async fn send(engine: &Engine, program: &str, events: &[String]) -> IngestReport {
    let report = ingest(engine, program, events).await;
    assert!(
        report.rejected.is_empty() && report.duplicates.is_empty(),
        "events refused: {:?} / duplicates {:?}",
        report.rejected,
        report.duplicates
    );
    report
}

pub async fn ingest(engine: &Engine, program: &str, events: &[String]) -> IngestReport {
    engine
        .ingest(program, &events.join("\n"), BatchFormat::Ndjson)
        .await
        .unwrap()
}

pub async fn lines(engine: &Engine, program: &str) -> Vec<LedgerLine> {
    engine.commissions(program, None).await.unwrap()
}

/// trigger → net (as a decimal) of one transaction's lines.
pub async fn net(engine: &Engine, program: &str, transaction: &str) -> BTreeMap<String, String> {
    let mut sums: BTreeMap<String, (i64, u8)> = BTreeMap::new();
    for l in lines(engine, program).await {
        if l.transaction == transaction {
            let e = sums.entry(l.trigger.clone()).or_insert((0, l.amount.exp()));
            e.0 += l.amount.minor();
        }
    }
    sums.into_iter()
        .map(|(k, (m, exp))| (k, partnerops::spec::Money::new(m, exp).to_string()))
        .collect()
}

/// Every (transaction, trigger) net, in minor units, all partners.
pub async fn nets(engine: &Engine, program: &str) -> BTreeMap<(String, String), i64> {
    let mut out = BTreeMap::new();
    for l in lines(engine, program).await {
        *out.entry((l.transaction, l.trigger)).or_default() += l.amount.minor();
    }
    out.retain(|_, v| *v != 0);
    out
}

pub fn map(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
