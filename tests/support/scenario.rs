//! The conformance suite's scenario: a program, its events, sweeps, a
//! payout, tokens and an erasure, and a digest of every read of the store,
//! so two stores (or one store and its copy) can be compared.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use partnerops::engine::Engine;
use partnerops::engine::access::{Scope, TokenRecord};
use partnerops::store::outbox::DeliveryQuery;
use partnerops::store::record::{PlanWindow, Subject};
use partnerops::store::{LineFilter, PartnerQuery, PartnerSort, PayoutRule, Store};

use super::program::{apply, ingest, joined, refund, sale, send, signed_up, upsert};

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The scenario's batches, made once so both stores get the same ids.
pub const CONFIG: &str = r#"
program: { key: gk, name: GigaKick, currency: USD, timezone: UTC, payouts: { hold_days: 30, minimum: 40 } }
groups: [ { key: resellers }, { key: affiliates } ]
tags: [ { key: vip }, { key: two-sales }, { key: veteran }, { key: buyer } ]
products:
  - { key: inbox, name: Inbox, price: 99 }
  - { key: live-chat, name: Live Chat, price: 49 }
automations:
  - { key: vip-tier, when: { milestone: { metric: revenue, at_least: 150 } }, then: [ { add_tag: vip } ] }
  - { key: second-sale, when: { milestone: { metric: sales, at_least: 2 } }, then: [ { add_tag: two-sales } ] }
  - { key: month-one, when: { anniversary: { days: 30 } }, then: [ { add_tag: veteran } ] }
commission_triggers:
  - key: inbox-20
    commission: { percent: 20 }
    rules: [ { product.name: { any_of: [Inbox] } }, { product.status: { any_of: [active] } } ]
  - key: chat-10
    commission: { percent: 10 }
    rules: [ { product.key: { any_of: [live-chat] } }, { partner.tag: { none_of: [vip] } } ]
  - key: chat-vip-25
    commission: { percent: 25 }
    rules: [ { product.key: { any_of: [live-chat] } }, { partner.tag: { any_of: [vip] } } ]
"#;

/// The same program after a second changeset: a tag renamed, one deleted.
pub const CONFIG_2: &str = r#"
program: { key: gk, name: GigaKick, currency: USD, timezone: UTC, payouts: { hold_days: 30, minimum: 40 } }
groups: [ { key: resellers }, { key: affiliates } ]
tags: [ { key: gold, previously: [vip] }, { key: two-sales }, { key: veteran } ]
products:
  - { key: inbox, name: Inbox, price: 99 }
  - { key: live-chat, name: Live Chat, price: 49 }
automations:
  - { key: vip-tier, when: { milestone: { metric: revenue, at_least: 150 } }, then: [ { add_tag: gold } ] }
  - { key: second-sale, when: { milestone: { metric: sales, at_least: 2 } }, then: [ { add_tag: two-sales } ] }
  - { key: month-one, when: { anniversary: { days: 30 } }, then: [ { add_tag: veteran } ] }
commission_triggers:
  - key: inbox-20
    commission: { percent: 20 }
    rules: [ { product.name: { any_of: [Inbox] } }, { product.status: { any_of: [active] } } ]
  - key: chat-10
    commission: { percent: 10 }
    rules: [ { product.key: { any_of: [live-chat] } }, { partner.tag: { none_of: [gold] } } ]
  - key: chat-vip-25
    commission: { percent: 25 }
    rules: [ { product.key: { any_of: [live-chat] } }, { partner.tag: { any_of: [gold] } } ]
"#;

/// Events of three partners, their customers, sales (one out of order,
/// one refunded) and a sale waiting for its customer's product.
pub fn events() -> Vec<String> {
    vec![
        joined("2025-06-01T08:00:00Z", "bob", Some("affiliates")),
        joined("2025-06-01T08:30:00Z", "cara", Some("resellers")),
        joined("2025-06-01T08:45:00Z", "Zed", None),
        signed_up("2025-06-01T09:00:00Z", "acme", "bob"),
        signed_up("2025-06-01T09:10:00Z", "tiny", "cara"),
        upsert(
            "2025-06-01T10:00:00Z",
            "acme",
            "inbox",
            "active",
            "sub-inbox",
        ),
        upsert(
            "2025-06-01T10:00:00Z",
            "acme",
            "live-chat",
            "active",
            "sub-chat",
        ),
        upsert(
            "2025-06-01T10:05:00Z",
            "tiny",
            "live-chat",
            "active",
            "sub-tiny",
        ),
        sale(
            "2025-06-02T10:00:00Z",
            "t1",
            "acme",
            "99.00",
            Some("sub-inbox"),
        ),
        sale(
            "2025-06-02T11:00:00Z",
            "t2",
            "acme",
            "49.00",
            Some("sub-chat"),
        ),
        sale(
            "2025-06-02T12:00:00Z",
            "t3",
            "tiny",
            "10.00",
            Some("sub-tiny"),
        ),
        // Earlier than t1..t3: a replay of acme's partner.
        sale(
            "2025-06-01T23:00:00Z",
            "t0",
            "acme",
            "99.00",
            Some("sub-inbox"),
        ),
        sale(
            "2025-06-03T09:00:00Z",
            "t4",
            "walk-in",
            "20.00",
            Some("sub-unknown"),
        ),
        refund("2025-06-05T10:00:00Z", "r1", "t2", "9.00"),
    ]
}

/// Every read of the store, as text; times the store stamps with the
/// clock (applied, created) are blanked, the rest must match exactly.
pub async fn digest(store: &dyn Store) -> String {
    let p = "gk";
    let mut out = String::new();
    macro_rules! put {
        ($name:expr, $value:expr) => {
            writeln!(out, "{}: {:?}", $name, $value.unwrap()).unwrap()
        };
    }
    put!("programs", store.programs().await);
    put!("snapshot", store.snapshot(p).await);
    put!("snapshot of none", store.snapshot("none").await);
    put!("minor_units", store.minor_units(p).await);
    put!("changesets", store.changesets(p).await);
    put!("changeset 1", store.changeset(p, 1).await);
    put!("changeset 9", store.changeset(p, 9).await);
    put!(
        "changesets_page",
        store.changesets_page(p, Some(2), 5).await
    );
    let tags = ["vip", "gold", "two-sales", "veteran", "buyer"].map(String::from);
    put!("tag_holders", store.tag_holders(p, &tags).await);
    put!(
        "customer_tag_holders",
        store.customer_tag_holders(p, &tags).await
    );
    let products = ["inbox", "live-chat"].map(String::from);
    put!("product_holders", store.product_holders(p, &products).await);
    put!("partners_page", store.partners_page(p, None, 100).await);
    put!(
        "partners_page after",
        store.partners_page(p, Some("Zed"), 1).await
    );
    put!(
        "partners_with_tag",
        store.partners_with_tag(p, "two-sales", None, 10).await
    );
    put!(
        "partners_with_tag after",
        store.partners_with_tag(p, "", Some("bob"), 10).await
    );
    put!("partner", store.partner(p, "bob").await);
    put!("partner none", store.partner(p, "nobody").await);
    put!(
        "tag_history",
        store.tag_history(p, Subject::Partner, "bob").await
    );
    let page = store
        .tag_history_page(p, Subject::Partner, "bob", None, 2)
        .await
        .unwrap();
    writeln!(
        out,
        "tag_history_page: {:?}",
        page.iter().map(|(_, c)| c).collect::<Vec<_>>()
    )
    .unwrap();
    if let Some((after, _)) = page.first() {
        let rest = store
            .tag_history_page(p, Subject::Partner, "bob", Some(after), 10)
            .await
            .unwrap();
        writeln!(
            out,
            "tag_history_page 2: {:?}",
            rest.iter().map(|(_, c)| c).collect::<Vec<_>>()
        )
        .unwrap();
    }
    put!("transaction", store.transaction(p, "t1").await);
    put!(
        "waiting",
        store.waiting_transactions(p, true, true, None, 100).await
    );
    put!("refunds", store.refunds(p, "t2").await);
    put!("lines", store.lines(p, &LineFilter::default()).await);
    put!(
        "lines of bob, unpaid, a page",
        store
            .lines(
                p,
                &LineFilter {
                    partner: Some("bob".into()),
                    unpaid: true,
                    after: Some(1),
                    limit: Some(3),
                    ..LineFilter::default()
                }
            )
            .await
    );
    put!(
        "lines of payout 1",
        store
            .lines(
                p,
                &LineFilter {
                    payout: Some(1),
                    ..LineFilter::default()
                }
            )
            .await
    );
    put!("customer", store.customer(p, "acme").await);
    put!("customers_of", store.customers_of(p, "bob").await);
    put!(
        "customer_product",
        store.customer_product(p, "sub-inbox").await
    );
    put!("products_of", store.products_of(p, "acme").await);
    put!(
        "last_amount",
        store.last_amount(p, "acme", "sub-inbox").await
    );
    let rule = PayoutRule {
        as_of: t("2025-09-01T00:00:00Z"),
        hold_days: 30,
        minimum: 4000,
    };
    put!("payout_plan", store.payout_plan(p, rule, None).await);
    // A page of each side: the counts and totals stay those of the whole
    // plan.
    put!(
        "payout_plan window",
        store
            .payout_plan(
                p,
                PayoutRule { minimum: 1, ..rule },
                Some(PlanWindow {
                    paid_from: 1,
                    carried_from: 0,
                    limit: 1
                })
            )
            .await
    );
    put!("payouts", store.payouts(p).await);
    put!("payout 1", store.payout(p, 1).await);
    put!(
        "product_report",
        store.product_report(p, None, None, true).await
    );
    put!(
        "product_report window",
        store
            .product_report(
                p,
                Some(t("2025-06-02T00:00:00Z")),
                Some(t("2025-06-03T00:00:00Z")),
                false
            )
            .await
    );
    // The report's commissions are the net each transaction keeps on its
    // row as lines are written (a sale, its refunds, a late event's
    // adjustments, a clawback): in all they are every line of the ledger.
    let report = store.product_report(p, None, None, false).await.unwrap();
    let lines = store.lines(p, &LineFilter::default()).await.unwrap();
    assert!(!lines.is_empty());
    assert_eq!(
        report.iter().map(|r| r.commissions).sum::<i128>(),
        lines
            .iter()
            .map(|l| i128::from(l.amount.minor()))
            .sum::<i128>(),
        "products report against the ledger"
    );
    // The dashboard's reads.
    for (sort, descending) in [
        (PartnerSort::Revenue, true),
        (PartnerSort::Signups, false),
        (PartnerSort::LastActivity, true),
    ] {
        let query = PartnerQuery {
            sort,
            descending,
            limit: 2,
            offset: 1,
            ..PartnerQuery::default()
        };
        put!(
            format!("partners_sorted {sort:?}"),
            store.partners_sorted(p, &query).await
        );
    }
    let tagged = PartnerQuery {
        tag: Some("gold".to_owned()),
        limit: 10,
        ..PartnerQuery::default()
    };
    put!(
        "partners_sorted gold",
        store.partners_sorted(p, &tagged).await
    );
    put!("monthly_totals", store.monthly_totals(p).await);
    put!(
        "line_totals",
        store
            .line_totals(p, &LineFilter::default(), t("2025-08-01T00:00:00Z"))
            .await
    );
    put!(
        "partner_transactions",
        store.partner_transactions(p, "bob", 10).await
    );
    // What the what-if replay reads, through a read-only transaction.
    let mut reader = store.runtime_reader(p).await.unwrap();
    put!("reader revision", reader.revision().await);
    put!("reader history of bob", reader.history("bob").await);
    drop(reader);
    put!("tokens_page", store.tokens_page(None, None, 10).await);
    put!(
        "tokens_page of gk",
        store.tokens_page(Some(p), Some("tok-a"), 10).await
    );
    put!("token_by_hash", store.token_by_hash("hash-b").await);
    put!("token_by_id", store.token_by_id("tok-a").await);
    put!("erasures", store.erasures(p, "cara").await);
    put!("stripe secret", store.stripe().stripe_secret(p).await);
    let deliveries = store
        .deliveries(
            p,
            &DeliveryQuery {
                endpoint: None,
                status: None,
                before: None,
                limit: 100,
                with_body: false,
            },
        )
        .await
        .unwrap();
    writeln!(out, "deliveries: {}", deliveries.len()).unwrap();
    blank_clock_times(&out)
}

/// Replaces every RFC 3339 time of today (the clock's stamps; the
/// scenario's own times are in 2025) with `<now>`.
fn blank_clock_times(text: &str) -> String {
    let today = Utc::now().format("%Y-%m-%dT").to_string();
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(&today) {
        out.push_str(&rest[..i]);
        out.push_str("<now>");
        let tail = &rest[i..];
        let end = tail.find('Z').map_or(tail.len(), |z| z + 1);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

pub fn token(id: &str, hash: &str, program: Option<&str>) -> TokenRecord {
    TokenRecord {
        id: id.into(),
        hash: hash.into(),
        scopes: vec![Scope::DataRead, Scope::EventsWrite],
        program: program.map(str::to_owned),
        created_at: t("2025-01-01T00:00:00Z"),
        expires_at: Some(t("2030-01-01T00:00:00Z")),
        revoked_at: None,
        last_used_at: None,
    }
}

/// The whole scenario on one store, through the engine and the trait.
pub struct Batches {
    pub events: Vec<String>,
    pub late_join: String,
    pub late_refund: String,
}

pub async fn run_scenario(store: Arc<dyn Store>, batches: &Batches) -> String {
    let engine = Engine::new(store.clone());
    assert_eq!(apply(&engine, CONFIG).await, 1);
    let evs = &batches.events;
    send(&engine, "gk", evs).await;
    // The same ids again: duplicates, no effect.
    let again = ingest(&engine, "gk", &evs[..3]).await;
    assert_eq!(again.duplicates.len(), 3);
    // A bad event: refused with its reason, the rest taken.
    let mixed = ingest(
        &engine,
        "gk",
        &[
            "{\"id\": \"bad\", \"type\": \"partner.joined\"}".to_owned(),
            batches.late_join.clone(),
        ],
    )
    .await;
    assert_eq!((mixed.accepted, mixed.rejected.len()), (1, 1));
    // The daily checks: Zed, bob and cara turn 30 days old.
    let swept = engine.sweep("gk", t("2025-07-02T00:00:00Z")).await.unwrap();
    assert!(swept.fired >= 3, "{swept:?}");
    assert_eq!(
        engine
            .sweep("gk", t("2025-07-03T00:00:00Z"))
            .await
            .unwrap()
            .fired,
        0
    );
    // A payout of what is due by September.
    let paid = engine
        .create_payout("gk", t("2025-09-01T00:00:00Z"))
        .await
        .unwrap();
    assert!(paid.is_some());
    // A later refund of a paid sale: a clawback.
    send(&engine, "gk", std::slice::from_ref(&batches.late_refund)).await;
    // The second changeset renames vip to gold and deletes buyer.
    assert_eq!(apply(&engine, CONFIG_2).await, 2);
    // A stale changeset is refused and writes nothing.
    let stale = store
        .commit(partnerops::store::Commit {
            program: "gk",
            changeset: &partnerops::engine::changeset::Changeset {
                base_revision: 1,
                changes: Vec::new(),
                author: "late".into(),
                message: None,
                git_commit: None,
            },
            delta: &Default::default(),
            minor_units: None,
            daily_checks_changed: false,
            backfill: false,
            token: None,
        })
        .await;
    assert!(
        matches!(
            stale,
            Err(partnerops::error::Error::Stale {
                base: 1,
                current: 2
            })
        ),
        "{stale:?}"
    );
    // Tokens, kept as given, revoked and touched.
    store
        .insert_token(&token("tok-a", "hash-a", None))
        .await
        .unwrap();
    store
        .insert_token(&token("tok-b", "hash-b", Some("gk")))
        .await
        .unwrap();
    store
        .insert_token(&token("tok-c", "hash-c", Some("gk")))
        .await
        .unwrap();
    assert!(
        store
            .revoke_token("tok-c", t("2025-02-01T00:00:00Z"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_token("tok-c", t("2025-02-02T00:00:00Z"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_token("nope", t("2025-02-02T00:00:00Z"))
            .await
            .unwrap()
    );
    store
        .touch_token("tok-b", t("2025-03-01T00:00:00Z"))
        .await
        .unwrap();
    // An erasure: name and email go from the row and the stored events.
    let erased = store
        .erase_partner("gk", "cara", t("2025-10-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(erased.partner, "cara");
    store
        .stripe()
        .set_stripe_secret("gk", "whsec_test")
        .await
        .unwrap();
    store.ready().await.unwrap();
    digest(store.as_ref()).await
}
