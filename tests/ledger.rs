//! The ledger end to end (issue 11): refunds tied to their sale and priced by
//! it, the commission lifecycle and payouts, currencies' minor units, the
//! sales metric, reports, and product records kept per product.

mod support;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use partnerops::client::{HttpWriter, Reader, Writer};
use partnerops::engine::Engine;
use partnerops::store::record::{LineKind, LineStatus, PlanWindow};
use support::program::*;
use support::server::TestServer;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// PartnerStack's GigaKick (seed 004): Inbox at 20% while active, a $25
/// launch bonus for an active Inbox started this month (not for resellers),
/// Live Chat at 10%; a VIP tier by revenue pays 25% instead of 10%.
const GIGAKICK: &str = r#"
program: { key: gk, name: GigaKick, currency: USD, timezone: UTC, payouts: { hold_days: 30, minimum: 40 } }
groups: [ { key: resellers }, { key: affiliates } ]
tags: [ { key: vip }, { key: two-sales } ]
products:
  - { key: inbox, name: Inbox, price: 99 }
  - { key: live-chat, name: Live Chat, price: 49 }
automations:
  - { key: vip-tier, when: { milestone: { metric: revenue, at_least: 150 } }, then: [ { add_tag: vip } ] }
  - { key: second-sale, when: { milestone: { metric: sales, at_least: 2 } }, then: [ { add_tag: two-sales } ] }
commission_triggers:
  - key: inbox-20
    commission: { percent: 20 }
    rules: [ { product.name: { any_of: [Inbox] } }, { product.status: { any_of: [active] } } ]
  - key: inbox-launch-bonus
    description: Earn $25 for every active Inbox started this month
    commission: { flat: 25 }
    rules:
      - { product.key: { any_of: [inbox] } }
      - { product.status: { any_of: [active] } }
      - { product.created: { within: current_calendar_month } }
      - { partner.group: { none_of: [resellers] } }
  - key: chat-10
    commission: { percent: 10 }
    rules: [ { product.key: { any_of: [live-chat] } }, { partner.tag: { none_of: [vip] } } ]
  - key: chat-vip-25
    commission: { percent: 25 }
    rules: [ { product.key: { any_of: [live-chat] } }, { partner.tag: { any_of: [vip] } } ]
"#;

async fn gigakick() -> (Engine, tempfile::TempDir) {
    let (engine, dir) = engine().await;
    apply(&engine, GIGAKICK).await;
    send(
        &engine,
        "gk",
        &[
            joined("2026-06-01T08:00:00Z", "bob", Some("affiliates")),
            signed_up("2026-06-01T09:00:00Z", "acme", "bob"),
            upsert(
                "2026-06-01T10:00:00Z",
                "acme",
                "inbox",
                "active",
                "sub-inbox",
            ),
            upsert(
                "2026-06-01T10:00:00Z",
                "acme",
                "live-chat",
                "active",
                "sub-chat",
            ),
        ],
    )
    .await;
    (engine, dir)
}

#[tokio::test]
async fn partial_refunds_take_back_in_proportion_never_the_whole_bonus() {
    let (engine, _dir) = gigakick().await;
    send(
        &engine,
        "gk",
        &[sale(
            "2026-06-02T10:00:00Z",
            "t1",
            "acme",
            "99.00",
            Some("sub-inbox"),
        )],
    )
    .await;
    assert_eq!(
        net(&engine, "gk", "t1").await,
        map(&[("inbox-20", "19.80"), ("inbox-launch-bonus", "25.00")])
    );
    // Three partial refunds (-0.05, -0.05, -0.02): each reverses every line
    // of the sale in proportion, priced by the sale.
    let steps = [
        ("0.05", "19.79", "24.99"),
        ("0.05", "19.78", "24.97"),
        ("0.02", "19.78", "24.97"),
    ];
    for (i, (amount, inbox, bonus)) in steps.iter().enumerate() {
        send(
            &engine,
            "gk",
            &[refund(
                &format!("2026-06-0{}T10:00:00Z", 3 + i),
                &format!("r{i}"),
                "t1",
                amount,
            )],
        )
        .await;
        assert_eq!(
            net(&engine, "gk", "t1").await,
            map(&[("inbox-20", inbox), ("inbox-launch-bonus", bonus)]),
            "after refund {i}"
        );
    }
    // 44.75 on a sale that earned 44.80, not -30.22.
    let total: i64 = lines(&engine, "gk")
        .await
        .iter()
        .map(|l| l.amount.minor())
        .sum();
    assert_eq!(total, 4475);
    let kinds: Vec<LineKind> = lines(&engine, "gk").await.iter().map(|l| l.kind).collect();
    assert_eq!(kinds[..2], [LineKind::Commission, LineKind::Commission]);
    assert!(kinds[2..].iter().all(|k| *k == LineKind::Reversal));
    // Revenue is the sale less refunds.
    let bob = engine.partner("gk", "bob").await.unwrap().partner;
    assert_eq!(bob.stats.revenue.to_string(), "98.88");
}

#[tokio::test]
async fn churned_then_refunded_nets_exactly_zero() {
    let (engine, _dir) = gigakick().await;
    send(
        &engine,
        "gk",
        &[
            sale(
                "2026-06-02T10:00:00Z",
                "t1",
                "acme",
                "89.00",
                Some("sub-inbox"),
            ),
            // The seed's own flow: mark the product churned, then refund.
            upsert(
                "2026-06-10T10:00:00Z",
                "acme",
                "inbox",
                "churned",
                "sub-inbox",
            ),
            refund("2026-06-11T10:00:00Z", "r1", "t1", "89.00"),
        ],
    )
    .await;
    assert_eq!(
        net(&engine, "gk", "t1").await,
        map(&[("inbox-20", "0.00"), ("inbox-launch-bonus", "0.00")])
    );
    // A refund past what remains is refused, saying what remains.
    let report = ingest(
        &engine,
        "gk",
        &[refund("2026-06-12T10:00:00Z", "r2", "t1", "0.01")],
    )
    .await;
    let reason = report.rejected[0].reason.clone().unwrap();
    assert!(
        reason.contains("more than what remains of transaction `t1`: 0.00"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_refund_is_priced_by_the_original_line_not_by_today() {
    let (engine, _dir) = gigakick().await;
    send(
        &engine,
        "gk",
        &[
            // 10% while not yet VIP: 10.00 and 10.00; revenue 200 makes bob
            // VIP after the second sale.
            sale(
                "2026-06-02T10:00:00Z",
                "c1",
                "acme",
                "100.00",
                Some("sub-chat"),
            ),
            sale(
                "2026-06-03T10:00:00Z",
                "c2",
                "acme",
                "100.00",
                Some("sub-chat"),
            ),
            // VIP now: 25%.
            sale(
                "2026-06-04T10:00:00Z",
                "c3",
                "acme",
                "100.00",
                Some("sub-chat"),
            ),
        ],
    )
    .await;
    assert_eq!(net(&engine, "gk", "c1").await, map(&[("chat-10", "10.00")]));
    assert_eq!(
        net(&engine, "gk", "c3").await,
        map(&[("chat-vip-25", "25.00")])
    );
    // Refunded after the partner moved tier: the 10% line comes back, not
    // 25% of the refund.
    send(
        &engine,
        "gk",
        &[refund("2026-06-05T10:00:00Z", "r1", "c1", "100.00")],
    )
    .await;
    assert_eq!(net(&engine, "gk", "c1").await, map(&[("chat-10", "0.00")]));

    // The rate is cut to 5% afterwards; a refund still nets the original 10%
    // line to zero.
    apply(&engine, &GIGAKICK.replace("percent: 10 }", "percent: 5 }")).await;
    send(
        &engine,
        "gk",
        &[refund("2026-06-06T10:00:00Z", "r2", "c2", "100.00")],
    )
    .await;
    assert_eq!(net(&engine, "gk", "c2").await, map(&[("chat-10", "0.00")]));

    // A bonus never paid is never taken back: a reseller's Inbox sale earns
    // no launch bonus; moved to affiliates, its refund takes back none.
    send(
        &engine,
        "gk",
        &[
            joined("2026-06-01T08:00:00Z", "rita", Some("resellers")),
            signed_up("2026-06-01T09:00:00Z", "hooli", "rita"),
            upsert(
                "2026-06-01T10:00:00Z",
                "hooli",
                "inbox",
                "active",
                "sub-hooli",
            ),
            sale(
                "2026-06-02T10:00:00Z",
                "h1",
                "hooli",
                "99.00",
                Some("sub-hooli"),
            ),
            updated("2026-06-03T10:00:00Z", "rita", Some("affiliates")),
            refund("2026-06-04T10:00:00Z", "rh1", "h1", "99.00"),
        ],
    )
    .await;
    assert_eq!(net(&engine, "gk", "h1").await, map(&[("inbox-20", "0.00")]));
}

#[tokio::test]
async fn a_refund_with_no_sale_waits_and_takes_back_nothing() {
    let (engine, _dir) = gigakick().await;
    let report = send(
        &engine,
        "gk",
        &[refund("2026-06-05T10:00:00Z", "r1", "nothing-yet", "25.00")],
    )
    .await;
    assert_eq!(report.waiting.transaction, 1);
    assert!(lines(&engine, "gk").await.is_empty());
    // Its transaction arrives: the refund applies then.
    send(
        &engine,
        "gk",
        &[sale(
            "2026-06-04T10:00:00Z",
            "nothing-yet",
            "acme",
            "99.00",
            Some("sub-inbox"),
        )],
    )
    .await;
    assert_eq!(
        net(&engine, "gk", "nothing-yet").await,
        map(&[("inbox-20", "14.80"), ("inbox-launch-bonus", "18.69")])
    );
    let e = engine
        .explain_transaction("gk", "nothing-yet")
        .await
        .unwrap();
    assert_eq!(e.refunds.len(), 1);
    assert!(e.refunds[0].applied);
    assert_eq!(e.transaction.refunded.to_string(), "25.00");
}

#[tokio::test]
async fn amounts_are_in_the_currency_minor_unit() {
    let (engine, _dir) = engine().await;
    apply(
        &engine,
        "program: { key: yen, name: Yen, currency: JPY }\n\
         commission_triggers: [ { key: p10, commission: { percent: 10 } }, { key: flat, commission: { flat: 500 } } ]\n",
    )
    .await;
    send(
        &engine,
        "yen",
        &[
            joined("2026-06-01T08:00:00Z", "p", None),
            signed_up("2026-06-01T09:00:00Z", "c", "p"),
        ],
    )
    .await;
    let report = ingest(
        &engine,
        "yen",
        &[sale("2026-06-02T10:00:00Z", "y1", "c", "100.55", None)],
    )
    .await;
    let reason = report.rejected[0].reason.clone().unwrap();
    assert!(
        reason.contains("100.55 has more decimals than JPY has (0)"),
        "{reason}"
    );
    send(
        &engine,
        "yen",
        &[sale("2026-06-02T10:00:00Z", "y2", "c", "1005", None)],
    )
    .await;
    // 100.5 yen rounds half away from zero to 101 yen.
    assert_eq!(
        net(&engine, "yen", "y2").await,
        map(&[("flat", "500"), ("p10", "101")])
    );

    apply(
        &engine,
        "program: { key: kwd, name: Dinar, currency: KWD }\n\
         commission_triggers: [ { key: p10, commission: { percent: 10 } }, { key: flat, commission: { flat: 1.125 } } ]\n",
    )
    .await;
    send(
        &engine,
        "kwd",
        &[
            joined("2026-06-01T08:00:00Z", "p", None),
            signed_up("2026-06-01T09:00:00Z", "c", "p"),
            sale("2026-06-02T10:00:00Z", "k1", "c", "10.125", None),
        ],
    )
    .await;
    assert_eq!(
        net(&engine, "kwd", "k1").await,
        map(&[("flat", "1.125"), ("p10", "1.013")])
    );
    let p = engine.partner("kwd", "p").await.unwrap().partner;
    assert_eq!(p.stats.revenue.to_string(), "10.125");
}

#[tokio::test]
async fn an_upgrade_keeps_each_products_record_and_date() {
    let (engine, _dir) = engine().await;
    apply(&engine, GIGAKICK).await;
    send(
        &engine,
        "gk",
        &[
            joined("2026-05-01T08:00:00Z", "bob", Some("affiliates")),
            signed_up("2026-05-01T09:00:00Z", "acme", "bob"),
            upsert(
                "2026-05-02T10:00:00Z",
                "acme",
                "live-chat",
                "active",
                "sub-1",
            ),
            sale(
                "2026-05-03T10:00:00Z",
                "may",
                "acme",
                "49.00",
                Some("sub-1"),
            ),
            // Upgraded on the same subscription key in June.
            upsert("2026-06-10T10:00:00Z", "acme", "inbox", "active", "sub-1"),
            sale(
                "2026-06-11T10:00:00Z",
                "june",
                "acme",
                "99.00",
                Some("sub-1"),
            ),
        ],
    )
    .await;
    assert_eq!(net(&engine, "gk", "may").await, map(&[("chat-10", "4.90")]));
    // Inbox started this month: the launch bonus fires on the upgrade.
    assert_eq!(
        net(&engine, "gk", "june").await,
        map(&[("inbox-20", "19.80"), ("inbox-launch-bonus", "25.00")])
    );
    let c = engine.customer("gk", "acme").await.unwrap();
    let records: Vec<(String, String)> = c
        .products
        .iter()
        .map(|p| (p.product.clone(), p.created_at.to_rfc3339()))
        .collect();
    assert_eq!(
        records,
        [
            (
                "live-chat".to_owned(),
                "2026-05-02T10:00:00+00:00".to_owned()
            ),
            ("inbox".to_owned(), "2026-06-10T10:00:00+00:00".to_owned())
        ]
    );
    // explain names the product the key held at the transaction's time.
    let may = engine.explain_transaction("gk", "may").await.unwrap();
    assert_eq!(may.product.unwrap().product, "live-chat");
    assert!(
        may.product_match.contains("`live-chat`"),
        "{}",
        may.product_match
    );
    let june = engine.explain_transaction("gk", "june").await.unwrap();
    assert_eq!(june.product.unwrap().product, "inbox");
}

#[tokio::test]
async fn the_sales_milestone_counts_transactions_above_zero() {
    let (engine, _dir) = gigakick().await;
    send(
        &engine,
        "gk",
        &[
            sale("2026-06-02T10:00:00Z", "s0", "acme", "0", Some("sub-chat")),
            sale(
                "2026-06-03T10:00:00Z",
                "s1",
                "acme",
                "10.00",
                Some("sub-chat"),
            ),
        ],
    )
    .await;
    assert!(
        !engine
            .partner("gk", "bob")
            .await
            .unwrap()
            .partner
            .tags
            .contains("two-sales")
    );
    send(
        &engine,
        "gk",
        &[sale(
            "2026-06-04T10:00:00Z",
            "s2",
            "acme",
            "10.00",
            Some("sub-chat"),
        )],
    )
    .await;
    let bob = engine.partner("gk", "bob").await.unwrap().partner;
    assert!(bob.tags.contains("two-sales"));
    assert_eq!(bob.stats.sales, 2);
}

/// Lines are pending for the hold, then approved; a payout takes a
/// partner's approved lines when they reach the minimum, and marks them
/// paid; a reversal of a paid line is a clawback the next payout nets.
#[tokio::test]
async fn the_lifecycle_hold_minimum_payout_and_clawback() {
    let (engine, _dir) = gigakick().await;
    send(
        &engine,
        "gk",
        &[
            joined("2026-06-01T08:00:00Z", "cara", Some("affiliates")),
            signed_up("2026-06-01T09:00:00Z", "tiny", "cara"),
            upsert(
                "2026-06-01T10:00:00Z",
                "tiny",
                "live-chat",
                "active",
                "sub-tiny",
            ),
            // bob: 44.80 + 4.90; cara: 1.00, below the 40.00 minimum.
            sale(
                "2026-06-02T10:00:00Z",
                "t1",
                "acme",
                "99.00",
                Some("sub-inbox"),
            ),
            sale(
                "2026-06-02T11:00:00Z",
                "t2",
                "acme",
                "49.00",
                Some("sub-chat"),
            ),
            sale(
                "2026-06-02T12:00:00Z",
                "t3",
                "tiny",
                "10.00",
                Some("sub-tiny"),
            ),
        ],
    )
    .await;
    // Within the 30-day hold nothing is payable.
    let plan = engine
        .payout_plan("gk", t("2026-06-20T00:00:00Z"))
        .await
        .unwrap();
    assert!(
        plan.partners.is_empty() && plan.carried_over.is_empty(),
        "{plan:?}"
    );
    let plan = engine
        .payout_plan("gk", t("2026-07-03T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(plan.partners.len(), 1);
    assert_eq!(
        (
            plan.partners[0].partner.as_str(),
            plan.partners[0].amount.to_string()
        ),
        ("bob", "49.70".to_owned())
    );
    assert_eq!(plan.carried_over[0].partner, "cara");
    assert_eq!(plan.total.to_string(), "49.70");
    // The dashboard's page of the plan: counts and totals of the whole
    // plan, rows of the page only.
    let page = engine
        .payout_plan_window(
            "gk",
            t("2026-07-03T00:00:00Z"),
            Some(PlanWindow {
                paid_from: 1,
                carried_from: 0,
                limit: 1,
            }),
        )
        .await
        .unwrap();
    assert_eq!(page.total, plan.total);
    assert_eq!(
        (
            page.rows.paid.partners,
            page.rows.paid.amount,
            page.rows.paid.lines
        ),
        (1, 4970, 3)
    );
    assert!(page.rows.paid.rows.is_empty(), "{page:?}");
    assert_eq!(
        (
            page.rows.carried.partners,
            page.rows.carried.amount,
            page.rows.carried.lines
        ),
        (1, 100, plan.carried_over[0].lines)
    );
    assert_eq!(page.rows.carried.rows, plan.carried_over);
    let payout = engine
        .create_payout("gk", t("2026-07-03T00:00:00Z"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            payout.payout.id,
            payout.payout.lines,
            payout.payout.total.to_string()
        ),
        (1, 3, "49.70".to_owned())
    );
    assert!(
        lines(&engine, "gk")
            .await
            .iter()
            .all(|l| (l.partner == "bob") == (l.payout == Some(1))
                && (l.status == LineStatus::Paid) == (l.partner == "bob")),
        "bob's lines paid, cara's not"
    );
    // Nothing left to pay: the same payout again pays nothing.
    assert!(
        engine
            .create_payout("gk", t("2026-07-03T00:00:00Z"))
            .await
            .unwrap()
            .is_none()
    );
    // A refund of a paid sale: a negative approved line at once (a clawback).
    send(
        &engine,
        "gk",
        &[refund("2026-07-05T10:00:00Z", "r1", "t2", "49.00")],
    )
    .await;
    let claw: Vec<_> = lines(&engine, "gk")
        .await
        .into_iter()
        .filter(|l| l.kind == LineKind::Reversal)
        .collect();
    assert_eq!(claw.len(), 1);
    assert!(
        claw[0].clawback && claw[0].status == LineStatus::Approved,
        "{claw:?}"
    );
    assert_eq!(claw[0].amount.to_string(), "-4.90");
    // bob's approved net is negative: carried over, not paid.
    let plan = engine.payout_plan("gk", Utc::now()).await.unwrap();
    assert!(plan.partners.iter().all(|p| p.partner != "bob"));
    assert_eq!(
        plan.carried_over
            .iter()
            .find(|p| p.partner == "bob")
            .unwrap()
            .amount
            .to_string(),
        "-4.90"
    );
    // The next sale nets the clawback in the next payout.
    send(
        &engine,
        "gk",
        &[sale(
            "2026-07-06T10:00:00Z",
            "t4",
            "acme",
            "299.00",
            Some("sub-inbox"),
        )],
    )
    .await;
    let payout = engine
        .create_payout("gk", t("2026-08-10T00:00:00Z"))
        .await
        .unwrap()
        .unwrap();
    let bob = payout.partners.iter().find(|p| p.partner == "bob").unwrap();
    // 59.80 (no launch bonus: Inbox was not started in July) less 4.90.
    assert_eq!((bob.amount.to_string(), bob.lines), ("54.90".to_owned(), 2));
    let csv = partnerops::engine::ledger::csv::payout(&payout);
    assert_eq!(
        csv,
        "partner,name,email,amount,currency,lines\r\nbob,,,54.90,USD,2\r\n"
    );
    assert_eq!(engine.payouts("gk").await.unwrap().len(), 2);
}

/// Two payouts at once, embedded and over HTTP: every approved line is
/// paid exactly once.
#[tokio::test]
async fn racing_payouts_pay_each_line_once() {
    let mut server = TestServer::start().await;
    let engine = server.engine.clone();
    apply(&engine, &GIGAKICK.replace("minimum: 40", "minimum: 0")).await;
    let mut events = vec![joined("2026-06-01T08:00:00Z", "bob", None)];
    for i in 0..40 {
        events.push(signed_up("2026-06-01T09:00:00Z", &format!("c{i}"), "bob"));
        events.push(upsert(
            "2026-06-01T10:00:00Z",
            &format!("c{i}"),
            "live-chat",
            "active",
            &format!("s{i}"),
        ));
        events.push(sale(
            "2026-06-02T10:00:00Z",
            &format!("t{i}"),
            &format!("c{i}"),
            "10.00",
            Some(&format!("s{i}")),
        ));
    }
    send(&engine, "gk", &events).await;
    let total: i64 = lines(&engine, "gk")
        .await
        .iter()
        .map(|l| l.amount.minor())
        .sum();
    let as_of = t("2026-08-01T00:00:00Z");
    // Embedded: a second engine on the same file, as a second process would.
    let other = Engine::open(&server.db).await.unwrap();
    let (a, b) = tokio::join!(
        engine.create_payout("gk", as_of),
        other.create_payout("gk", as_of)
    );
    let paid: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(paid.len(), 1, "one of the two found nothing left");
    assert_eq!(paid[0].payout.total.minor(), total);

    // Over HTTP: more lines, two writers with payouts:write at once.
    let mut more = Vec::new();
    for i in 0..40 {
        more.push(sale(
            "2026-06-03T10:00:00Z",
            &format!("u{i}"),
            &format!("c{i}"),
            "20.00",
            Some(&format!("s{i}")),
        ));
    }
    send(&engine, "gk", &more).await;
    let token = server.token(&["payouts:write", "data:read"]).await;
    let w1 = HttpWriter::new(&server.url, Some(token.clone())).unwrap();
    let w2 = HttpWriter::new(&server.url, Some(token)).unwrap();
    let (a, b) = tokio::join!(w1.create_payout("gk", as_of), w2.create_payout("gk", as_of));
    let paid: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(paid.len(), 1);
    // 25% now that bob is a VIP: 40 × 5.00.
    assert_eq!(paid[0].payout.total.to_string(), "200.00");
    let all = lines(&engine, "gk").await;
    assert!(all.iter().all(|l| l.payout.is_some()));
    let listed = w1.payouts("gk").await.unwrap();
    assert_eq!(
        listed.iter().map(|p| p.total.minor()).sum::<i64>(),
        total + 20_000
    );
    // A token without payouts:write cannot pay.
    let reader = HttpWriter::new(&server.url, Some(server.token(&["data:read"]).await)).unwrap();
    let err = reader.create_payout("gk", as_of).await.unwrap_err();
    assert!(err.to_string().contains("payouts:write"), "{err}");
    server.stop().await;
}

/// The ledger's filters, a page at a time, over HTTP as embedded; the
/// products report; the partner view's statuses.
#[tokio::test]
async fn ledger_filters_report_and_partner_view() {
    let mut server = TestServer::start().await;
    let engine = server.engine.clone();
    apply(&engine, GIGAKICK).await;
    let recent = (Utc::now() - Duration::days(2)).to_rfc3339();
    send(
        &engine,
        "gk",
        &[
            joined("2026-06-01T08:00:00Z", "bob", Some("affiliates")),
            signed_up("2026-06-01T09:00:00Z", "acme", "bob"),
            upsert(
                "2026-06-01T10:00:00Z",
                "acme",
                "inbox",
                "active",
                "sub-inbox",
            ),
            upsert(
                "2026-06-01T10:00:00Z",
                "acme",
                "live-chat",
                "active",
                "sub-chat",
            ),
            sale(
                "2026-06-02T10:00:00Z",
                "old",
                "acme",
                "99.00",
                Some("sub-inbox"),
            ),
            sale(&recent, "new", "acme", "49.00", Some("sub-chat")),
        ],
    )
    .await;
    let http = HttpWriter::new(&server.url, Some(server.token(&["data:read"]).await)).unwrap();
    let q = |status: Option<LineStatus>, since: Option<DateTime<Utc>>| {
        partnerops::engine::ledger::listing::LedgerQuery {
            status,
            since,
            limit: 1,
            ..Default::default()
        }
    };
    for reader in [
        &http as &dyn Reader,
        &partnerops::client::Embedded::new(engine.clone()),
    ] {
        // A page of one line at a time, read on with `next`.
        let mut query = q(None, None);
        let mut seen = Vec::new();
        loop {
            let page = reader.ledger("gk", &query).await.unwrap();
            seen.extend(page.lines.iter().map(|l| (l.transaction.clone(), l.status)));
            match page.next {
                Some(n) => query.after = Some(n),
                None => break,
            }
        }
        assert_eq!(
            seen,
            [
                ("old".to_owned(), LineStatus::Approved),
                ("old".to_owned(), LineStatus::Approved),
                ("new".to_owned(), LineStatus::Pending),
            ]
        );
        let pending = reader
            .ledger("gk", &q(Some(LineStatus::Pending), None))
            .await
            .unwrap();
        assert_eq!(pending.lines.len(), 1);
        assert_eq!(pending.lines[0].transaction, "new");
        let since = reader
            .ledger("gk", &q(None, Some(t("2026-07-01T00:00:00Z"))))
            .await
            .unwrap();
        assert_eq!(since.lines[0].transaction, "new");
        let report = reader
            .product_report("gk", None, None, false)
            .await
            .unwrap();
        let rows: BTreeMap<String, (u64, u64, String, String)> = report
            .rows
            .iter()
            .map(|r| {
                (
                    r.product.clone().unwrap(),
                    (
                        r.customers,
                        r.sales,
                        r.revenue.to_string(),
                        r.commissions.to_string(),
                    ),
                )
            })
            .collect();
        assert_eq!(
            rows,
            BTreeMap::from([
                (
                    "inbox".to_owned(),
                    (1, 1, "99.00".to_owned(), "44.80".to_owned())
                ),
                (
                    "live-chat".to_owned(),
                    (1, 1, "49.00".to_owned(), "4.90".to_owned())
                ),
            ])
        );
        let by_partner = reader
            .product_report(
                "gk",
                Some(t("2026-06-01T00:00:00Z")),
                Some(t("2026-07-01T00:00:00Z")),
                true,
            )
            .await
            .unwrap();
        assert_eq!(by_partner.rows.len(), 1);
        assert_eq!(by_partner.rows[0].partner.as_deref(), Some("bob"));
    }
    let view = engine.partner_view("gk", "bob").await.unwrap();
    let statuses: Vec<LineStatus> = view.commissions.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        [
            LineStatus::Approved,
            LineStatus::Approved,
            LineStatus::Pending
        ]
    );
    server.stop().await;
}

/// Databases from before the ledger migrate; their commissions stay as
/// they were, as commission lines.
#[tokio::test]
async fn an_existing_database_migrates_and_keeps_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    // The schema as it stood: the first three migrations only.
    let old = dir.path().join("migrations");
    std::fs::create_dir(&old).unwrap();
    for f in [
        "0001_config.sql",
        "0002_runtime.sql",
        "0003_token_program.sql",
    ] {
        std::fs::copy(format!("src/store/sqlite/migrations/{f}"), old.join(f)).unwrap();
    }
    {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&db)
                    .create_if_missing(true),
            )
            .await
            .unwrap();
        sqlx::migrate::Migrator::new(old.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        for sql in [
            "INSERT INTO programs (key, revision, created_at) VALUES ('gk', 1, '2026-06-01T00:00:00.000000Z')",
            "INSERT INTO transactions (program, key, customer, amount, subscription, kind, at, partner, product, revision, seen_tags) \
             VALUES ('gk', 't1', 'acme', 9900, 'sub', 'one_time', '2026-06-02T10:00:00.000000Z', 'bob', 'inbox', 1, ' ')",
            "INSERT INTO commissions (program, transaction_key, trigger, installment, installments, partner, amount, due_at, revision, created_at) \
             VALUES ('gk', 't1', 'inbox-20', 1, 1, 'bob', 1980, '2026-06-02T10:00:00.000000Z', 1, '2026-06-02T10:00:01.000000Z')",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let engine = Engine::open(&db).await.unwrap();
    let lines = lines(&engine, "gk").await;
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (
            lines[0].kind,
            lines[0].amount.to_string(),
            lines[0].product.as_deref(),
            lines[0].trigger.as_str()
        ),
        (
            LineKind::Commission,
            "19.80".to_owned(),
            Some("inbox"),
            "inbox-20"
        )
    );
}

/// A database from before transactions kept their net commission: a read
/// (`report products`, which opens the file read-only) brings it up to date
/// and the report sums the lines it already held.
#[tokio::test]
async fn a_read_of_an_older_database_sums_its_lines_into_the_products_report() {
    let (engine, dir) = gigakick().await;
    send(
        &engine,
        "gk",
        &[
            sale(
                "2026-06-02T10:00:00Z",
                "t1",
                "acme",
                "99.00",
                Some("sub-inbox"),
            ),
            sale("2026-06-03T10:00:00Z", "t2", "acme", "49.00", None),
            refund("2026-06-04T10:00:00Z", "r1", "t1", "49.50"),
        ],
    )
    .await;
    drop(engine);
    let db = dir.path().join("engine.db");
    // As an older partnerops left it: no column, migration 0018 not run.
    {
        let pool = sqlx::sqlite::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new().filename(&db),
        )
        .await
        .unwrap();
        for sql in [
            "ALTER TABLE transactions DROP COLUMN commission",
            "DELETE FROM _sqlx_migrations WHERE version >= 18",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let session = support::cli::Session {
        engine: support::cli::Engine::Embedded(db),
        dir: tempfile::tempdir().unwrap(),
    };
    let out = session.run(&["report", "products", "--program", "gk", "--format", "json"]);
    assert_eq!(
        support::cli::code(&out),
        0,
        "{}",
        support::cli::stderr(&out)
    );
    let report: serde_json::Value = serde_json::from_str(&support::cli::stdout(&out)).unwrap();
    let rows: Vec<(Option<&str>, &str, &str)> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["product"].as_str(),
                r["revenue"].as_str().unwrap(),
                r["commissions"].as_str().unwrap(),
            )
        })
        .collect();
    // t1 earned 19.80 and the $25 launch bonus, half taken back by the
    // refund; t2 matched no product and earned nothing.
    assert_eq!(
        rows,
        [(None, "49.00", "0.00"), (Some("inbox"), "49.50", "22.40")]
    );
}
