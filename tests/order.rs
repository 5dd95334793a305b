//! Same events, same result (issue 12): late, out-of-order and re-batched
//! events end where the events in time order end. Each bullet of the issue
//! end to end, then a property test over random event sets and configs.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use partnerops::client::{HttpWriter, Reader};
use partnerops::engine::Engine;
use partnerops::store::record::{Cause, LineKind};
use proptest::prelude::*;
use support::program::*;
use support::server::TestServer;

/// Inbox at 20% while active, a $25 bonus on Inbox for affiliates only.
const PROGRAM: &str = r#"
program: { key: o, name: Order, currency: USD, timezone: UTC }
groups: [ { key: resellers }, { key: affiliates } ]
tags: [ { key: seller }, { key: quiet }, { key: gold } ]
products: [ { key: inbox, name: Inbox } ]
automations:
  - { key: first-sale, when: first_sale, then: [ { add_tag: seller } ] }
  - { key: gold, when: { milestone: { metric: revenue, at_least: 150 } }, then: [ { add_tag: gold } ] }
commission_triggers:
  - key: inbox-20
    commission: { percent: 20 }
    rules: [ { product.key: { any_of: [inbox] } }, { product.status: { any_of: [active] } } ]
  - key: affiliate-bonus
    commission: { flat: 25 }
    rules: [ { product.key: { any_of: [inbox] } }, { partner.group: { any_of: [affiliates] } } ]
  - key: gold-extra
    commission: { percent: 5 }
    rules: [ { partner.tag: { any_of: [gold] } } ]
"#;

async fn program() -> (Engine, tempfile::TempDir) {
    let (engine, dir) = engine().await;
    apply(&engine, PROGRAM).await;
    (engine, dir)
}

#[tokio::test]
async fn a_sale_before_its_signup_waits_and_is_attributed_when_the_signup_arrives() {
    let (engine, _dir) = program().await;
    send(
        &engine,
        "o",
        &[
            joined("2026-03-01T08:00:00Z", "rita", Some("resellers")),
            upsert("2026-03-02T10:00:00Z", "acme", "inbox", "active", "sub"),
        ],
    )
    .await;
    let report = send(
        &engine,
        "o",
        &[sale(
            "2026-03-03T10:00:00Z",
            "t1",
            "acme",
            "99.00",
            Some("sub"),
        )],
    )
    .await;
    assert_eq!(report.waiting.signup, 1, "{report:?}");
    let waiting = engine
        .waiting_transactions("o", true, false, None, 10)
        .await
        .unwrap();
    assert_eq!(waiting.transactions[0].key, "t1");
    assert!(lines(&engine, "o").await.is_empty());
    // The signup, dated before the sale, arrives in a later request.
    send(
        &engine,
        "o",
        &[signed_up("2026-03-02T09:00:00Z", "acme", "rita")],
    )
    .await;
    assert_eq!(net(&engine, "o", "t1").await, map(&[("inbox-20", "19.80")]));
    assert!(
        engine
            .waiting_transactions("o", true, false, None, 10)
            .await
            .unwrap()
            .transactions
            .is_empty()
    );
    let rita = engine.partner("o", "rita").await.unwrap();
    assert_eq!(rita.partner.stats.revenue.to_string(), "99.00");
    assert!(rita.partner.tags.contains("seller"));
}

#[tokio::test]
async fn a_product_record_after_its_sale_matches_it() {
    let (engine, _dir) = program().await;
    let report = send(
        &engine,
        "o",
        &[
            joined("2026-03-01T08:00:00Z", "rita", Some("resellers")),
            signed_up("2026-03-01T09:00:00Z", "acme", "rita"),
            sale("2026-03-03T10:00:00Z", "t1", "acme", "99.00", Some("sub")),
        ],
    )
    .await;
    assert_eq!(report.waiting.product, 1);
    assert_eq!(
        engine
            .waiting_transactions("o", false, true, None, 10)
            .await
            .unwrap()
            .transactions[0]
            .key,
        "t1"
    );
    // No product matched: the product rules held for nothing.
    assert!(net(&engine, "o", "t1").await.is_empty());
    let report = send(
        &engine,
        "o",
        &[upsert(
            "2026-03-02T10:00:00Z",
            "acme",
            "inbox",
            "active",
            "sub",
        )],
    )
    .await;
    assert_eq!(report.replayed, 1);
    assert_eq!(net(&engine, "o", "t1").await, map(&[("inbox-20", "19.80")]));
    let e = engine.explain_transaction("o", "t1").await.unwrap();
    assert_eq!(e.transaction.product.as_deref(), Some("inbox"));
}

#[tokio::test]
async fn a_purchase_before_the_referral_signup_is_never_that_referrals() {
    for split in [false, true] {
        let (engine, _dir) = program().await;
        let events = [
            joined("2026-03-01T08:00:00Z", "rita", Some("resellers")),
            upsert("2026-03-01T09:00:00Z", "acme", "inbox", "active", "sub"),
            sale("2026-03-02T10:00:00Z", "t1", "acme", "99.00", Some("sub")),
            signed_up("2026-03-05T09:00:00Z", "acme", "rita"),
        ];
        if split {
            // The signup first, the purchase dated before it after.
            send(
                &engine,
                "o",
                &[events[0].clone(), events[1].clone(), events[3].clone()],
            )
            .await;
            send(&engine, "o", &[events[2].clone()]).await;
        } else {
            send(&engine, "o", &events).await;
        }
        assert!(net(&engine, "o", "t1").await.is_empty(), "split: {split}");
        let t = engine.explain_transaction("o", "t1").await.unwrap();
        assert_eq!(t.transaction.partner, None, "split: {split}");
    }
}

#[tokio::test]
async fn a_repeated_join_does_not_change_the_group_an_earlier_sale_is_paid_under() {
    let (engine, _dir) = program().await;
    send(
        &engine,
        "o",
        &[
            joined("2026-01-01T08:00:00Z", "rita", Some("resellers")),
            signed_up("2026-01-02T09:00:00Z", "acme", "rita"),
            upsert("2026-01-02T10:00:00Z", "acme", "inbox", "active", "sub"),
            sale("2026-01-15T10:00:00Z", "jan", "acme", "99.00", Some("sub")),
            // Joined again in March, now an affiliate: in the same request.
            joined("2026-03-01T08:00:00Z", "rita", Some("affiliates")),
            sale("2026-03-15T10:00:00Z", "mar", "acme", "99.00", Some("sub")),
        ],
    )
    .await;
    assert_eq!(
        net(&engine, "o", "jan").await,
        map(&[("inbox-20", "19.80")])
    );
    assert_eq!(
        net(&engine, "o", "mar").await,
        map(&[("affiliate-bonus", "25.00"), ("inbox-20", "19.80")])
    );
}

#[tokio::test]
async fn rules_see_the_group_and_tags_at_the_transactions_time() {
    let (engine, _dir) = program().await;
    send(
        &engine,
        "o",
        &[
            joined("2026-01-01T08:00:00Z", "ann", Some("affiliates")),
            signed_up("2026-01-02T09:00:00Z", "acme", "ann"),
            upsert("2026-01-02T10:00:00Z", "acme", "inbox", "active", "sub"),
            updated("2026-02-01T08:00:00Z", "ann", Some("resellers")),
            // Revenue 200 crosses the gold milestone on Feb 10.
            sale("2026-02-10T10:00:00Z", "big", "acme", "200.00", Some("sub")),
        ],
    )
    .await;
    assert_eq!(
        net(&engine, "o", "big").await,
        map(&[("inbox-20", "40.00")])
    );
    // A January sale arrives late: ann was an affiliate and not gold then.
    let report = send(
        &engine,
        "o",
        &[sale(
            "2026-01-20T10:00:00Z",
            "jan",
            "acme",
            "10.00",
            Some("sub"),
        )],
    )
    .await;
    assert_eq!(report.replayed, 1);
    assert_eq!(
        net(&engine, "o", "jan").await,
        map(&[("affiliate-bonus", "25.00"), ("inbox-20", "2.00")])
    );
    // The January sale made revenue 210 by February; the big sale's facts
    // are unchanged, so nothing else moved.
    assert_eq!(
        net(&engine, "o", "big").await,
        map(&[("inbox-20", "40.00")])
    );
    let e = engine.explain_transaction("o", "jan").await.unwrap();
    assert_eq!(
        e.transaction.seen.partner_group.as_deref(),
        Some("affiliates")
    );
}

#[tokio::test]
async fn an_older_update_never_overrides_a_newer_one() {
    let (engine, _dir) = program().await;
    send(
        &engine,
        "o",
        &[
            joined("2026-01-01T08:00:00Z", "ann", Some("affiliates")),
            updated("2026-03-01T08:00:00Z", "ann", Some("resellers")),
        ],
    )
    .await;
    send(
        &engine,
        "o",
        &[updated("2026-02-01T08:00:00Z", "ann", Some("affiliates"))],
    )
    .await;
    let ann = engine.partner("o", "ann").await.unwrap().partner;
    assert_eq!(ann.group.as_deref(), Some("resellers"));
}

/// A late event that changes what a paid line earned adds an adjustment
/// line and corrects tags, recorded with the late event as the cause.
#[tokio::test]
async fn corrections_are_appended_with_the_late_event_as_cause() {
    let (engine, _dir) = program().await;
    send(
        &engine,
        "o",
        &[
            joined("2026-01-01T08:00:00Z", "ann", Some("affiliates")),
            signed_up("2026-01-02T09:00:00Z", "acme", "ann"),
            upsert("2026-01-02T10:00:00Z", "acme", "inbox", "active", "sub"),
            sale("2026-01-10T10:00:00Z", "t1", "acme", "100.00", Some("sub")),
            sale("2026-01-20T10:00:00Z", "t2", "acme", "100.00", Some("sub")),
        ],
    )
    .await;
    // Gold from t2 on: t2 saw no gold (tags are read before the sale's
    // automations fire).
    assert_eq!(
        net(&engine, "o", "t2").await,
        map(&[("affiliate-bonus", "25.00"), ("inbox-20", "20.00")])
    );
    engine
        .create_payout("o", chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    // A sale dated before both arrives late: gold comes one sale earlier,
    // so t2 earns the gold extra after all.
    send(
        &engine,
        "o",
        &[sale(
            "2026-01-05T10:00:00Z",
            "t0",
            "acme",
            "100.00",
            Some("sub"),
        )],
    )
    .await;
    assert_eq!(
        net(&engine, "o", "t2").await,
        map(&[
            ("affiliate-bonus", "25.00"),
            ("gold-extra", "5.00"),
            ("inbox-20", "20.00")
        ])
    );
    let all = lines(&engine, "o").await;
    let adjustment = all
        .iter()
        .find(|l| l.transaction == "t2" && l.trigger == "gold-extra")
        .unwrap();
    // A trigger that paid nothing before gets its first line, a commission;
    // paid lines are untouched.
    assert_eq!(adjustment.kind, LineKind::Commission);
    assert!(all.iter().filter(|l| l.payout.is_some()).count() >= 4);
    // Tags were right already (gold reached either way); the tag history
    // of a correction names the late event.
    send(
        &engine,
        "o",
        &[
            joined("2026-01-01T08:00:00Z", "bea", Some("affiliates")),
            signed_up("2026-01-02T09:00:00Z", "hooli", "bea"),
            upsert("2026-01-02T10:00:00Z", "hooli", "inbox", "active", "sub-h"),
            sale(
                "2026-01-10T10:00:00Z",
                "h1",
                "hooli",
                "200.00",
                Some("sub-h"),
            ),
        ],
    )
    .await;
    assert!(
        engine
            .partner("o", "bea")
            .await
            .unwrap()
            .partner
            .tags
            .contains("gold")
    );
    // A refund dated before the sale crossed the milestone: revenue never
    // reached 150 in time order... it did (200 - 100 = 100 after): the
    // milestone fired at the sale and stays; refunds never remove tags.
    send(
        &engine,
        "o",
        &[refund("2026-01-11T10:00:00Z", "rh1", "h1", "100.00")],
    )
    .await;
    assert!(
        engine
            .partner("o", "bea")
            .await
            .unwrap()
            .partner
            .tags
            .contains("gold")
    );
    // The sale itself came in for a product the customer had churned:
    // a late churn dated before it takes the Inbox rate back, as an
    // adjustment, and says why.
    let report = send(
        &engine,
        "o",
        &[upsert(
            "2026-01-09T10:00:00Z",
            "hooli",
            "inbox",
            "churned",
            "sub-h",
        )],
    )
    .await;
    assert_eq!(report.replayed, 1);
    let h1: Vec<_> = lines(&engine, "o")
        .await
        .into_iter()
        .filter(|l| l.transaction == "h1" && l.trigger == "inbox-20")
        .collect();
    assert_eq!(h1.last().unwrap().kind, LineKind::Adjustment);
    assert_eq!(
        net(&engine, "o", "h1").await.get("inbox-20").unwrap(),
        "0.00"
    );
    assert!(h1.last().unwrap().cause.is_some());
    // Tags moved by a late event say so.
    send(
        &engine,
        "o",
        &[
            joined("2026-01-01T08:00:00Z", "cid", Some("affiliates")),
            signed_up("2026-01-02T09:00:00Z", "initech", "cid"),
            upsert(
                "2026-01-02T10:00:00Z",
                "initech",
                "inbox",
                "active",
                "sub-i",
            ),
            sale(
                "2026-01-10T10:00:00Z",
                "i1",
                "initech",
                "10.00",
                Some("sub-i"),
            ),
        ],
    )
    .await;
    assert!(
        engine
            .partner("o", "cid")
            .await
            .unwrap()
            .partner
            .tags
            .contains("seller")
    );
    let late = sale(
        "2026-01-03T10:00:00Z",
        "i0",
        "initech",
        "500.00",
        Some("sub-i"),
    );
    let late_id = serde_json::from_str::<serde_json::Value>(&late).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    send(&engine, "o", &[late]).await;
    let cid = engine.partner("o", "cid").await.unwrap();
    assert!(cid.partner.tags.contains("gold"));
    let correction = cid.tag_history.iter().find(|c| c.tag == "gold").unwrap();
    assert_eq!(correction.cause_kind, Cause::Correction);
    assert_eq!(correction.cause, format!("late event {late_id}"));
}

/// `partner` and `customer` may be `K` or `{key: K}`; the waiting lists
/// over HTTP match the embedded engine's.
#[tokio::test]
async fn references_as_keys_and_waiting_transactions_over_http() {
    let mut server = TestServer::start().await;
    apply(&server.engine, PROGRAM).await;
    let events = [
        r#"{"id":"k1","type":"partner.joined","at":"2026-03-01T08:00:00Z","partner":"rita"}"#,
        r#"{"id":"k2","type":"customer.signed_up","at":"2026-03-01T09:00:00Z","customer":"acme","partner":"rita"}"#,
        r#"{"id":"k3","type":"transaction.created","at":"2026-03-02T10:00:00Z","transaction":{"key":"t1","customer":{"key":"acme"},"amount":"10","subscription_key":"nope"}}"#,
        r#"{"id":"k4","type":"transaction.created","at":"2026-03-02T10:00:00Z","transaction":{"key":"t2","customer":"walk-in","amount":"10"}}"#,
    ]
    .map(str::to_owned);
    let report = send(&server.engine, "o", &events).await;
    assert_eq!((report.waiting.signup, report.waiting.product), (1, 1));
    let rita = server.engine.partner("o", "rita").await.unwrap().partner;
    assert_eq!(rita.stats.signups, 1);
    let http = HttpWriter::new(&server.url, Some(server.token(&["data:read"]).await)).unwrap();
    let keys = |page: partnerops::engine::ledger::listing::TransactionPage| {
        page.transactions
            .into_iter()
            .map(|t| t.key)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(
            http.waiting_transactions("o", true, false, None, 10)
                .await
                .unwrap()
        ),
        ["t2"]
    );
    assert_eq!(
        keys(
            http.waiting_transactions("o", false, true, None, 10)
                .await
                .unwrap()
        ),
        ["t1"]
    );
    assert_eq!(
        keys(
            http.waiting_transactions("o", false, false, None, 10)
                .await
                .unwrap()
        ),
        ["t1", "t2"]
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------
// The property: one time-sorted batch, and random splits sent in random
// order, end in the same state.

/// A random program: automations of each kind and commission triggers with
/// product, partner and amount rules, over fixed keys.
fn config() -> impl Strategy<Value = String> {
    let automation = prop_oneof![
        Just("{ when: first_signup, then: [ { add_tag: t1 } ] }"),
        Just("{ when: first_sale, then: [ { add_tag: t2 }, { remove_tag: t1 } ] }"),
        Just("{ when: first_commission, then: [ { add_tag: t3 } ] }"),
        Just(
            "{ when: { milestone: { metric: revenue, at_least: 100 } }, then: [ { add_tag: t4 } ] }"
        ),
        Just(
            "{ when: { milestone: { metric: signups, at_least: 2 } }, then: [ { add_tag: t5 } ] }"
        ),
        Just(
            "{ when: { milestone: { metric: customers, at_least: 2 } }, then: [ { add_tag: t1 } ] }"
        ),
        Just("{ when: { milestone: { metric: sales, at_least: 3 } }, then: [ { add_tag: t2 } ] }"),
        Just("{ when: { sale: {} }, then: [ { add_tag: t3 }, { tag_customer: t5 } ] }"),
        Just("{ when: { inactive: { days: 10 } }, then: [ { add_tag: t4 } ] }"),
        Just(
            "{ when: { anniversary: { days: 20 } }, then: [ { add_tag: t5 }, { remove_tag: t3 } ] }"
        ),
        Just("{ when: { no_referrals: { days: 15 } }, then: [ { remove_tag: t4 } ] }"),
    ];
    let rule = prop_oneof![
        Just("{ product.key: { any_of: [p1] } }"),
        Just("{ product.status: { any_of: [active] } }"),
        Just("{ product.created: { within: { rolling_days: 10 } } }"),
        Just("{ partner.group: { any_of: [g1] } }"),
        Just("{ partner.tag: { any_of: [t4] } }"),
        Just("{ partner.tag: { none_of: [t2] } }"),
        Just("{ transaction.amount: { gte: 50 } }"),
        Just("{ customer.age_days: { lt: 5 } }"),
    ];
    let commission = prop_oneof![
        Just("{ percent: 12.5 }"),
        Just("{ percent: 20 }"),
        Just("{ flat: 7.77 }"),
    ];
    let trigger = (
        commission,
        prop::option::of(2u32..4),
        prop::collection::vec(rule, 0..3),
    );
    (
        prop::collection::vec(automation, 0..5),
        prop::collection::vec(trigger, 1..4),
    )
        .prop_map(|(automations, triggers)| {
            let mut yaml = String::from(
                "program: { key: o, name: O, currency: USD, timezone: UTC }\n\
                 groups: [ { key: g1 }, { key: g2 } ]\n\
                 tags: [ { key: t1 }, { key: t2 }, { key: t3 }, { key: t4 }, { key: t5 } ]\n\
                 products: [ { key: p1, name: P1 }, { key: p2, name: P2 } ]\n",
            );
            if !automations.is_empty() {
                yaml.push_str("automations:\n");
                for (i, a) in automations.iter().enumerate() {
                    yaml.push_str(&format!("  - {{ key: a{i}, {} \n", &a[2..]));
                }
            }
            yaml.push_str("commission_triggers:\n");
            for (i, (commission, drip, rules)) in triggers.iter().enumerate() {
                yaml.push_str(&format!("  - key: c{i}\n    commission: {commission}\n"));
                if let Some(n) = drip {
                    yaml.push_str(&format!("    drip: {{ installments: {n} }}\n"));
                }
                if !rules.is_empty() {
                    yaml.push_str(&format!("    rules: [ {} ]\n", rules.join(", ")));
                }
            }
            yaml
        })
}

/// Times on a small grid, so ties at one instant happen.
fn at(day: u32, hour: u32) -> String {
    format!("2026-03-{:02}T{:02}:00:00Z", day + 1, hour % 24)
}

#[derive(Debug, Clone)]
enum Gen {
    Join(usize, u8, u32),
    Update(usize, u8, u32),
    Active(usize, u32),
    Signup(usize, usize, u32),
    Product(usize, usize, u8, u8, Option<usize>, u32),
    Sale(usize, Option<usize>, u32, u32),
    Refund(usize, u32, u32),
}

fn gens() -> impl Strategy<Value = Vec<Gen>> {
    let time = 0u32..(28 * 24);
    let g = prop_oneof![
        2 => (0usize..3, 0u8..3, time.clone()).prop_map(|(p, g, t)| Gen::Join(p, g, t)),
        1 => (0usize..3, 0u8..3, time.clone()).prop_map(|(p, g, t)| Gen::Update(p, g, t)),
        2 => (0usize..3, time.clone()).prop_map(|(p, t)| Gen::Active(p, t)),
        3 => (0usize..4, 0usize..3, time.clone()).prop_map(|(c, p, t)| Gen::Signup(c, p, t)),
        3 => (0usize..4, 0usize..2, 0u8..2, 0u8..3, prop::option::weighted(0.2, 0usize..3), time.clone())
            .prop_map(|(c, k, prod, st, p, t)| Gen::Product(c, k, prod, st, p, t)),
        4 => (0usize..4, prop::option::weighted(0.8, 0usize..2), 0u32..30_000, time.clone())
            .prop_map(|(c, k, amount, t)| Gen::Sale(c, k, amount, t)),
        2 => (0usize..40, 1u32..100, time).prop_map(|(s, pct, t)| Gen::Refund(s, pct, t)),
    ];
    prop::collection::vec(g, 1..50)
}

/// The events of a generated set: refunds name earlier-generated sales,
/// never more than is left of them.
fn events(gens: &[Gen]) -> Vec<String> {
    let mut out = Vec::new();
    let mut sales: Vec<(String, u32, u32)> = Vec::new(); // key, amount, refunded
    let when = |t: u32| at(t / 24, t % 24);
    let group = |g: u8| match g {
        0 => None,
        1 => Some("g1"),
        _ => Some("g2"),
    };
    for (i, g) in gens.iter().enumerate() {
        match *g {
            Gen::Join(p, g, t) => out.push(joined(&when(t), &format!("p{p}"), group(g))),
            Gen::Update(p, g, t) => out.push(updated(&when(t), &format!("p{p}"), group(g))),
            Gen::Active(p, t) => out.push(active(&when(t), &format!("p{p}"))),
            Gen::Signup(c, p, t) => {
                out.push(signed_up(&when(t), &format!("c{c}"), &format!("p{p}")))
            }
            Gen::Product(c, k, prod, st, seller, t) => {
                let status = ["active", "trial", "churned"][usize::from(st)];
                let mut e: serde_json::Value = serde_json::from_str(&upsert(
                    &when(t),
                    &format!("c{c}"),
                    if prod == 0 { "p1" } else { "p2" },
                    status,
                    &format!("s-{c}-{k}"),
                ))
                .unwrap();
                if let Some(p) = seller {
                    e["partner"] = serde_json::json!(format!("p{p}"));
                }
                out.push(e.to_string());
            }
            Gen::Sale(c, k, amount, t) => {
                let key = format!("x{i}");
                let cents = amount;
                out.push(sale(
                    &when(t),
                    &key,
                    &format!("c{c}"),
                    &format!("{}.{:02}", cents / 100, cents % 100),
                    k.map(|k| format!("s-{c}-{k}")).as_deref(),
                ));
                sales.push((key, cents, 0));
            }
            Gen::Refund(s, pct, t) => {
                if sales.is_empty() {
                    continue;
                }
                let n = sales.len();
                let (key, amount, refunded) = &mut sales[s % n];
                let left = *amount - *refunded;
                let cents = (left * pct / 100).min(left);
                if cents == 0 {
                    continue;
                }
                *refunded += cents;
                out.push(refund(
                    &when(t),
                    &format!("r{i}"),
                    key,
                    &format!("{}.{:02}", cents / 100, cents % 100),
                ));
            }
        }
    }
    out
}

/// What must agree: each partner's tags, group and stats, each customer's
/// referrer, each transaction's partner, each (transaction, trigger) net,
/// and the products report's commissions per (product, partner).
#[derive(Debug, PartialEq, Eq)]
struct State {
    partners: BTreeMap<String, (BTreeSet<String>, Option<String>, String)>,
    customers: BTreeMap<String, Option<String>>,
    transactions: BTreeMap<String, Option<String>>,
    nets: BTreeMap<(String, String), i64>,
    products: Vec<(Option<String>, Option<String>, String)>,
}

async fn state(engine: &Engine, events: &[String]) -> State {
    let mut partners = BTreeMap::new();
    for p in engine.partners("o", None, None, 100).await.unwrap() {
        let s = &p.stats;
        let stats = format!(
            "signups {} customers {} sales {} revenue {} activity {} referral {}",
            s.signups, s.customers, s.sales, s.revenue, s.last_activity_at, s.last_referral_at
        );
        partners.insert(p.key.clone(), (p.tags.clone(), p.group.clone(), stats));
    }
    let mut customers = BTreeMap::new();
    let mut transactions = BTreeMap::new();
    for e in events {
        let v: serde_json::Value = serde_json::from_str(e).unwrap();
        if let Some(c) = v["customer"].as_str().or(v["customer"]["key"].as_str())
            && let Ok(d) = engine.customer("o", c).await
        {
            customers.insert(c.to_owned(), d.partner);
        }
        if let Some(t) = v["transaction"]["key"].as_str()
            && let Ok(x) = engine.explain_transaction("o", t).await
        {
            transactions.insert(t.to_owned(), x.transaction.partner);
        }
    }
    let nets = nets(engine, "o").await;
    // The report sums the net each transaction keeps on its row, added to
    // as lines are written (late events' adjustments included): it must be
    // the ledger's own sum, whatever the batches.
    let report = engine.product_report("o", None, None, true).await.unwrap();
    assert_eq!(
        report
            .rows
            .iter()
            .map(|r| r.commissions.minor())
            .sum::<i128>(),
        nets.values().map(|n| i128::from(*n)).sum::<i128>(),
        "products report against the ledger"
    );
    let products = report
        .rows
        .iter()
        .map(|r| {
            (
                r.product.clone(),
                r.partner.clone(),
                r.commissions.to_string(),
            )
        })
        .collect();
    State {
        partners,
        customers,
        transactions,
        nets,
        products,
    }
}

/// Sends `events` in time order in one batch, and in random splits in a
/// random order; both engines must end alike.
async fn same_result(config: &str, events: Vec<String>, cuts: Vec<usize>, order: Vec<usize>) {
    let (sorted, _d1) = engine().await;
    apply(&sorted, config).await;
    let mut by_time = events.clone();
    by_time.sort_by_key(|e| {
        let v: serde_json::Value = serde_json::from_str(e).unwrap();
        v["at"].as_str().unwrap().to_owned()
    });
    ingest(&sorted, "o", &by_time).await;

    let (split, _d2) = engine().await;
    apply(&split, config).await;
    let mut shuffled: Vec<String> = order
        .iter()
        .map(|i| events[i % events.len()].clone())
        .collect();
    // Every event once: the shuffle may repeat; duplicates are no-ops, and
    // the originals go last so every event is sent.
    shuffled.extend(events.iter().cloned());
    let mut batches: Vec<Vec<String>> = Vec::new();
    let mut rest = shuffled.as_slice();
    for cut in cuts {
        if rest.is_empty() {
            break;
        }
        let n = (cut % rest.len()).max(1);
        batches.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    if !rest.is_empty() {
        batches.push(rest.to_vec());
    }
    for b in &batches {
        ingest(&split, "o", b).await;
    }
    let (a, b) = (state(&sorted, &events).await, state(&split, &events).await);
    assert_eq!(a, b, "config:\n{config}\nevents:\n{}", events.join("\n"));
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_same_events_in_any_batches_and_order_end_alike(
        config in config(),
        gens in gens(),
        cuts in prop::collection::vec(1usize..10, 0..8),
        order in prop::collection::vec(0usize..1000, 0..40),
    ) {
        let events = events(&gens);
        prop_assume!(!events.is_empty());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(same_result(&config, events, cuts, order));
    }
}
