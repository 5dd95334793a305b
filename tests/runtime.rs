//! The automation runtime end to end: configs applied to a real engine, events
//! sent to it (embedded, over HTTP and through the CLI), the sweep, and what
//! partners end up with: stats, tags and the history of their tags.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::cargo::CommandCargoExt;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use partnerops::client::{Embedded, HttpWriter, Reader, Writer};
use partnerops::engine::changeset::ChangesetRecord;
use partnerops::engine::event::{BatchFormat, IngestReport};
use partnerops::engine::partner::Partner;
use partnerops::engine::{Engine, Error, ImpactQuery, PartnerDetail, SweepReport};
use partnerops::plan;
use partnerops::spec::{Config, Money};
use serde_json::json;
use support::server::TestServer;

const PROGRAM: &str = "shop";

// ---------------------------------------------------------------------------
// Time: every scenario runs in 2025, well before "now" (events and sweeps
// ahead of the clock are refused), from day 0 = 1 Feb.

type Time = DateTime<Utc>;

fn day(n: i64) -> Time {
    "2025-02-01T00:00:00Z".parse::<Time>().unwrap() + Duration::days(n)
}

fn hours(n: i64) -> Duration {
    Duration::hours(n)
}

fn ts(t: Time) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

// ---------------------------------------------------------------------------
// Events, one NDJSON line each.

fn join(id: &str, at: Time, partner: &str) -> String {
    json!({"id": id, "type": "partner.joined", "at": ts(at), "partner": {"key": partner}})
        .to_string()
}

fn active(id: &str, at: Time, partner: &str) -> String {
    json!({"id": id, "type": "partner.active", "at": ts(at), "partner": {"key": partner}})
        .to_string()
}

fn signup(id: &str, at: Time, customer: &str, partner: &str) -> String {
    json!({"id": id, "type": "customer.signed_up", "at": ts(at),
           "customer": {"key": customer}, "partner": {"key": partner}})
    .to_string()
}

/// A purchase with no subscription; `kind` absent.
fn sale(id: &str, at: Time, customer: &str, amount: &str) -> String {
    json!({"id": id, "type": "transaction.created", "at": ts(at),
           "transaction": {"key": format!("tx-{id}"), "customer": customer, "amount": amount}})
    .to_string()
}

fn sale_of_kind(id: &str, at: Time, customer: &str, amount: &str, kind: &str) -> String {
    json!({"id": id, "type": "transaction.created", "at": ts(at),
           "transaction": {"key": format!("tx-{id}"), "customer": customer, "amount": amount, "kind": kind}})
    .to_string()
}

fn sale_on(id: &str, at: Time, customer: &str, amount: &str, subscription: &str) -> String {
    json!({"id": id, "type": "transaction.created", "at": ts(at),
           "transaction": {"key": format!("tx-{id}"), "customer": customer, "amount": amount,
                           "subscription_key": subscription}})
    .to_string()
}

fn subscribe(id: &str, at: Time, customer: &str, product: &str, subscription: &str) -> String {
    json!({"id": id, "type": "customer_product.upserted", "at": ts(at),
           "customer": {"key": customer}, "product": product, "status": "active",
           "external_subscription_key": subscription})
    .to_string()
}

// ---------------------------------------------------------------------------
// Configs: YAML written to a temp dir and loaded like a user's directory.

static CONFIGS: AtomicUsize = AtomicUsize::new(0);

/// `body` is the YAML for everything but the program.
fn config(dir: &Path, body: &str) -> Config {
    let n = CONFIGS.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("config-{n}"));
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(
        path.join("program.yaml"),
        format!("program: {{ key: {PROGRAM}, name: Shop, currency: USD, timezone: UTC }}\n"),
    )
    .unwrap();
    std::fs::write(path.join("resources.yaml"), body).unwrap();
    partnerops::config::load(&path).unwrap_or_else(|e| panic!("config does not load: {e:?}"))
}

/// Plans `config` against what `client` holds and applies it, as `apply` does.
async fn apply_with(client: &dyn Writer, config: &Config) -> ChangesetRecord {
    let live = client.snapshot(&config.program.key).await.unwrap();
    let plan = plan::diff(config, &live);
    assert!(!plan.is_empty(), "nothing to apply");
    client
        .apply(
            &config.program.key,
            &plan.changeset("runtime-test".into(), None, None),
        )
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------
// One engine with one program on a temp SQLite file.

struct Rig {
    dir: tempfile::TempDir,
    engine: Engine,
}

impl Rig {
    async fn new(yaml: &str) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(&dir.path().join("engine.db")).await.unwrap();
        let rig = Rig { dir, engine };
        rig.apply(yaml).await;
        rig
    }

    fn config(&self, yaml: &str) -> Config {
        config(self.dir.path(), yaml)
    }

    async fn apply(&self, yaml: &str) -> ChangesetRecord {
        apply_with(&Embedded::new(self.engine.clone()), &self.config(yaml)).await
    }

    async fn ingest(&self, body: &str) -> IngestReport {
        self.engine
            .ingest(PROGRAM, body, BatchFormat::Sniff)
            .await
            .unwrap()
    }

    /// Sends events as NDJSON; every one must be accepted.
    async fn send(&self, events: &[String]) -> IngestReport {
        let report = self.ingest(&events.join("\n")).await;
        assert!(
            report.rejected.is_empty() && report.duplicates.is_empty(),
            "{report:?}"
        );
        assert_eq!(report.accepted, events.len());
        report
    }

    async fn sweep(&self, now: Time) -> SweepReport {
        self.engine.sweep(PROGRAM, now).await.unwrap()
    }

    async fn partner(&self, key: &str) -> PartnerDetail {
        self.engine.partner(PROGRAM, key).await.unwrap()
    }

    async fn stats(&self, key: &str) -> partnerops::engine::partner::Stats {
        self.partner(key).await.partner.stats
    }

    async fn tags(&self, key: &str) -> Vec<String> {
        self.partner(key).await.partner.tags.into_iter().collect()
    }

    /// The tag history, one line per change: `+tag cause event` (`-` for no event).
    async fn history(&self, key: &str) -> Vec<String> {
        history(&self.partner(key).await)
    }

    async fn tagged(&self, tag: &str) -> Vec<String> {
        keys(
            &self
                .engine
                .partners(PROGRAM, Some(tag), None, 1000)
                .await
                .unwrap(),
        )
    }

    async fn all(&self) -> Vec<Partner> {
        self.engine
            .partners(PROGRAM, None, None, 1000)
            .await
            .unwrap()
    }

    /// A customer's tags.
    async fn customer_tags(&self, customer: &str) -> Vec<String> {
        let detail = self.engine.customer(PROGRAM, customer).await.unwrap();
        let mut replayed = std::collections::BTreeSet::new();
        for c in &detail.tag_history {
            if c.added {
                replayed.insert(c.tag.clone());
            } else {
                replayed.remove(&c.tag);
            }
        }
        assert_eq!(detail.tags, replayed, "tags and their history agree");
        detail.tags.into_iter().collect()
    }
}

fn history(detail: &PartnerDetail) -> Vec<String> {
    detail
        .tag_history
        .iter()
        .map(|c| {
            format!(
                "{}{} {} {}",
                if c.added { "+" } else { "-" },
                c.tag,
                c.cause,
                c.event_id.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

fn keys(partners: &[Partner]) -> Vec<String> {
    partners.iter().map(|p| p.key.clone()).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn money(text: &str) -> Money {
    serde_json::from_value(json!(text)).unwrap()
}

/// (line, id, reason) of each rejection.
fn rejections(report: &IngestReport) -> Vec<(usize, Option<String>, String)> {
    report
        .rejected
        .iter()
        .map(|n| (n.line, n.id.clone(), n.reason.clone().unwrap_or_default()))
        .collect()
}

fn assert_rejected(
    report: &IngestReport,
    expected: &[(usize, Option<&str>, &str)], // line, id, part of the reason
) {
    let got = rejections(report);
    assert_eq!(
        got.len(),
        expected.len(),
        "rejections {got:#?} expected {expected:#?}"
    );
    for ((line, id, reason), (eline, eid, epart)) in got.iter().zip(expected) {
        assert_eq!(
            (*line, id.as_deref()),
            (*eline, *eid),
            "rejections {got:#?}"
        );
        assert!(
            !reason.trim().is_empty() && reason.contains(epart),
            "line {line}: reason {reason:?} should mention {epart:?}"
        );
    }
}

// ===========================================================================
// 1. Every trigger

#[tokio::test]
async fn partner_joined_fires_once_at_join() {
    let rig = Rig::new(
        "
tags: [ { key: new-partner }, { key: lead } ]
automations:
  - { key: welcome, when: partner_joined, then: [ { add_tag: new-partner } ] }
  - key: first-lead
    when: first_signup
    then: [ { add_tag: lead }, { remove_tag: new-partner } ]
",
    )
    .await;
    rig.send(&[join("j1", day(0), "ann")]).await;
    assert_eq!(rig.tags("ann").await, strings(&["new-partner"]));
    assert_eq!(
        rig.history("ann").await,
        strings(&["+new-partner welcome j1"])
    );
    let p = rig.partner("ann").await.partner;
    assert_eq!(p.joined_at, day(0));
    assert_eq!(
        (p.stats.signups, p.stats.customers, p.stats.revenue),
        (0, 0, Money::ZERO)
    );
    assert_eq!(p.stats.last_activity_at, day(0));
    assert_eq!(p.stats.last_referral_at, day(0));

    // The signup takes new-partner off; a second join (a resend with a new id)
    // does not fire welcome again.
    rig.send(&[signup("s1", day(1), "c1", "ann")]).await;
    rig.send(&[join("j2", day(2), "ann")]).await;
    assert_eq!(rig.tags("ann").await, strings(&["lead"]));
    assert_eq!(
        rig.history("ann").await,
        strings(&[
            "+new-partner welcome j1",
            "+lead first-lead s1",
            "-new-partner first-lead s1",
        ])
    );
}

#[tokio::test]
async fn first_signup_fires_once() {
    // `a-unlead` takes the tag off at every sale, so a second firing of
    // first-signup would show.
    let rig = Rig::new(
        "
tags: [ { key: lead } ]
automations:
  - { key: first-lead, when: first_signup, then: [ { add_tag: lead } ] }
  - { key: a-unlead, when: { sale: {} }, then: [ { remove_tag: lead } ] }
",
    )
    .await;
    rig.send(&[join("j1", day(0), "ann")]).await;
    assert!(rig.tags("ann").await.is_empty());
    rig.send(&[signup("s1", day(1), "c1", "ann")]).await;
    assert_eq!(rig.tags("ann").await, strings(&["lead"]));
    rig.send(&[sale("t1", day(2), "c1", "10")]).await;
    assert!(rig.tags("ann").await.is_empty());
    rig.send(&[signup("s2", day(3), "c2", "ann")]).await;
    assert!(rig.tags("ann").await.is_empty(), "first_signup fired twice");
    assert_eq!(
        rig.history("ann").await,
        strings(&["+lead first-lead s1", "-lead a-unlead t1"])
    );
    let stats = rig.stats("ann").await;
    assert_eq!(stats.signups, 2);
    assert_eq!(stats.last_referral_at, day(3));
    assert_eq!(stats.last_activity_at, day(3));
}

#[tokio::test]
async fn first_sale_fires_once_on_the_first_attributed_purchase() {
    // `a-reset` (ordered before `converter`) takes the tag off when a second
    // customer buys; a second firing of first_sale would put it back.
    let rig = Rig::new(
        "
tags: [ { key: converter } ]
automations:
  - { key: converter, when: first_sale, then: [ { add_tag: converter } ] }
  - key: a-reset
    when: { milestone: { metric: customers, at_least: 2 } }
    then: [ { remove_tag: converter } ]
",
    )
    .await;
    rig.send(&[
        join("j1", day(0), "ann"),
        signup("s1", day(1), "c1", "ann"),
        // Nobody referred this customer: the purchase is nobody's first sale.
        sale("t0", day(1), "walk-in", "500"),
    ])
    .await;
    assert!(rig.tags("ann").await.is_empty());
    assert_eq!(rig.stats("ann").await.revenue, Money::ZERO);

    rig.send(&[sale("t1", day(2), "c1", "20")]).await;
    assert_eq!(rig.tags("ann").await, strings(&["converter"]));
    assert_eq!(rig.partner("ann").await.partner.first_sale_at, Some(day(2)));

    rig.send(&[
        sale("t2", day(3), "c1", "20"),
        signup("s2", day(4), "c2", "ann"),
        sale("t3", day(5), "c2", "5.50"),
    ])
    .await;
    assert!(rig.tags("ann").await.is_empty(), "first_sale fired twice");
    assert_eq!(
        rig.history("ann").await,
        strings(&["+converter converter t1", "-converter a-reset t3"])
    );
    let stats = rig.stats("ann").await;
    assert_eq!(
        (stats.signups, stats.customers, stats.revenue),
        (2, 2, money("45.50"))
    );
}

#[tokio::test]
async fn first_commission_fires_once_on_the_first_commission_above_zero() {
    let rig = Rig::new(
        "
tags: [ { key: earning } ]
products:
  - { key: inbox, name: Inbox, price: 99 }
commission_triggers:
  - key: inbox-20
    on: transaction_created
    commission: { percent: 20 }
    rules:
      - product.key: { any_of: [inbox] }
automations:
  - { key: earn, when: first_commission, then: [ { add_tag: earning } ] }
  - { key: a-strip, when: { sale: {} }, then: [ { remove_tag: earning } ] }
",
    )
    .await;
    rig.send(&[
        join("j1", day(0), "ann"),
        signup("s1", day(0) + hours(1), "c1", "ann"),
        // No product: the trigger's rule does not hold, no commission.
        sale("t1", day(1), "c1", "50"),
        subscribe("u1", day(2), "c1", "inbox", "sub-1"),
        // 20% of nothing is not above zero.
        sale_on("t2", day(3), "c1", "0.00", "sub-1"),
    ])
    .await;
    let p = rig.partner("ann").await.partner;
    assert!(p.first_sale_at.is_some());
    assert_eq!(p.first_commission_at, None);
    assert!(p.tags.is_empty());

    rig.send(&[sale_on("t3", day(4), "c1", "99", "sub-1")])
        .await;
    assert_eq!(rig.tags("ann").await, strings(&["earning"]));
    assert_eq!(
        rig.partner("ann").await.partner.first_commission_at,
        Some(day(4))
    );
    // a-strip takes it off at the next sale; first_commission does not fire again.
    rig.send(&[sale_on("t4", day(5), "c1", "99", "sub-1")])
        .await;
    assert!(
        rig.tags("ann").await.is_empty(),
        "first_commission fired twice"
    );
    assert_eq!(
        rig.history("ann").await,
        strings(&["+earning earn t3", "-earning a-strip t4"])
    );
}

#[tokio::test]
async fn milestones_on_signups_customers_and_revenue_fire_once_when_reached() {
    // `a-strip` runs before the milestones at every sale and takes their tags
    // off: a milestone firing again would put its tag back.
    let rig = Rig::new(
        "
tags: [ { key: s2 }, { key: c2 }, { key: r100 } ]
automations:
  - { key: signups-2, when: { milestone: { metric: signups, at_least: 2 } }, then: [ { add_tag: s2 } ] }
  - { key: customers-2, when: { milestone: { metric: customers, at_least: 2 } }, then: [ { add_tag: c2 } ] }
  - { key: revenue-100, when: { milestone: { metric: revenue, at_least: 100 } }, then: [ { add_tag: r100 } ] }
  - key: a-strip
    when: { sale: {} }
    then: [ { remove_tag: s2 }, { remove_tag: c2 }, { remove_tag: r100 } ]
",
    )
    .await;
    rig.send(&[join("j1", day(0), "ann"), signup("s1", day(1), "c1", "ann")])
        .await;
    assert!(rig.tags("ann").await.is_empty());
    rig.send(&[signup("s2", day(2), "c2", "ann")]).await;
    assert_eq!(rig.tags("ann").await, strings(&["s2"]));
    rig.send(&[signup("s3", day(3), "c3", "ann")]).await;

    rig.send(&[sale("t1", day(4), "c1", "60")]).await;
    assert!(rig.tags("ann").await.is_empty());
    // Exactly at_least: reached. The same customer again: still one customer.
    rig.send(&[sale("t2", day(5), "c1", "40")]).await;
    assert_eq!(rig.tags("ann").await, strings(&["r100"]));
    // A second customer: customers reaches 2; a-strip took r100 off first and
    // revenue-100 does not fire again.
    rig.send(&[sale("t3", day(6), "c2", "1")]).await;
    assert_eq!(rig.tags("ann").await, strings(&["c2"]));
    // More signups: signups-2 does not fire again.
    rig.send(&[signup("s4", day(7), "c4", "ann")]).await;
    rig.send(&[sale("t4", day(8), "c3", "1")]).await;
    assert!(rig.tags("ann").await.is_empty());

    assert_eq!(
        rig.history("ann").await,
        strings(&[
            "+s2 signups-2 s2",
            "-s2 a-strip t1",
            "+r100 revenue-100 t2",
            "-r100 a-strip t3",
            "+c2 customers-2 t3",
            "-c2 a-strip t4",
        ])
    );
    let stats = rig.stats("ann").await;
    assert_eq!(
        (stats.signups, stats.customers, stats.revenue),
        (4, 3, money("102.00"))
    );
}

#[tokio::test]
async fn sale_fires_on_every_attributed_transaction_filtered_by_kind() {
    let rig = Rig::new(
        "
tags: [ { key: one-time }, { key: recurring }, { key: buyer } ]
automations:
  - key: a-one-time
    when: { sale: { kinds: [one_time] } }
    then: [ { add_tag: one-time }, { remove_tag: recurring } ]
  - key: b-recurring
    when: { sale: { kinds: [recurring] } }
    then: [ { add_tag: recurring }, { remove_tag: one-time } ]
  - { key: c-any, when: { sale: {} }, then: [ { tag_customer: buyer } ] }
",
    )
    .await;
    rig.send(&[
        join("j1", day(0), "ann"),
        signup("s1", day(0) + hours(1), "c1", "ann"),
        signup("s2", day(0) + hours(2), "c2", "ann"),
    ])
    .await;

    // No kind: one_time.
    rig.send(&[sale("t1", day(1), "c1", "10")]).await;
    assert_eq!(rig.tags("ann").await, strings(&["one-time"]));
    rig.send(&[sale_of_kind("t2", day(2), "c1", "10", "recurring")])
        .await;
    assert_eq!(rig.tags("ann").await, strings(&["recurring"]));
    rig.send(&[sale_of_kind("t3", day(3), "c1", "10", "one_time")])
        .await;
    assert_eq!(rig.tags("ann").await, strings(&["one-time"]));
    // manual: neither kind-filtered automation; the unfiltered one still fires.
    rig.send(&[sale_of_kind("t4", day(4), "c2", "10", "manual")])
        .await;
    assert_eq!(rig.tags("ann").await, strings(&["one-time"]));
    // Not attributed to anyone: nothing fires.
    rig.send(&[sale("t5", day(5), "walk-in", "10")]).await;

    assert_eq!(
        rig.history("ann").await,
        strings(&[
            "+one-time a-one-time t1",
            "+recurring b-recurring t2",
            "-one-time b-recurring t2",
            "+one-time a-one-time t3",
            "-recurring a-one-time t3",
        ])
    );
    assert_eq!(rig.customer_tags("c1").await, strings(&["buyer"]));
    assert_eq!(rig.customer_tags("c2").await, strings(&["buyer"]));
    assert!(rig.customer_tags("walk-in").await.is_empty());
    assert_eq!(rig.stats("ann").await.revenue, money("40"));
}

#[tokio::test]
async fn anniversary_fires_once_when_the_partner_is_that_many_whole_days_old() {
    let rig = Rig::new(
        "
tags: [ { key: veteran } ]
automations:
  - { key: month-one, when: { anniversary: { days: 30 } }, then: [ { add_tag: veteran } ] }
",
    )
    .await;
    rig.send(&[join("j1", day(0) + hours(10), "ann")]).await;
    // 29 days and 23 hours: not yet.
    assert_eq!(rig.sweep(day(30) + hours(9)).await.fired, 0);
    assert!(rig.tags("ann").await.is_empty());
    let report = rig.sweep(day(30) + hours(10)).await;
    assert_eq!(
        (report.partners, report.fired, report.tag_changes),
        (1, 1, 1)
    );
    assert_eq!(rig.tags("ann").await, strings(&["veteran"]));
    let detail = rig.partner("ann").await;
    assert_eq!(history(&detail), strings(&["+veteran month-one -"]));
    assert_eq!(detail.tag_history[0].at, day(30) + hours(10));
    // Once: later sweeps, and activity, do not fire it again.
    rig.send(&[active("a1", day(40), "ann")]).await;
    assert_eq!(rig.sweep(day(45)).await.fired, 0);
    assert_eq!(rig.sweep(day(400)).await.fired, 0);
    assert_eq!(rig.history("ann").await.len(), 1);
}

#[tokio::test]
async fn inactive_fires_after_quiet_days_and_rearms_after_activity() {
    // Sales are not activity (join, partner.active and referral signups are);
    // `undorm` uses one to take the tag off so a second firing shows.
    let rig = Rig::new(
        "
tags: [ { key: dormant } ]
automations:
  - { key: dormant, when: { inactive: { days: 30 } }, then: [ { add_tag: dormant } ] }
  - { key: undorm, when: { sale: {} }, then: [ { remove_tag: dormant } ] }
",
    )
    .await;
    rig.send(&[
        join("j1", day(0), "ann"),
        signup("s1", day(0) + hours(1), "c1", "ann"),
    ])
    .await;
    assert_eq!(rig.stats("ann").await.last_activity_at, day(0) + hours(1));
    assert_eq!(rig.sweep(day(30)).await.fired, 0, "29 whole days");
    assert_eq!(rig.sweep(day(30) + hours(1)).await.fired, 1);
    assert_eq!(rig.tags("ann").await, strings(&["dormant"]));
    assert_eq!(rig.sweep(day(31)).await.fired, 0, "once per quiet spell");

    // Activity re-arms it, but only another 30 quiet days fire it again.
    rig.send(&[active("a1", day(40), "ann")]).await;
    assert_eq!(rig.stats("ann").await.last_activity_at, day(40));
    assert_eq!(rig.sweep(day(41)).await.fired, 0);
    rig.send(&[sale("t1", day(45), "c1", "10")]).await;
    assert!(rig.tags("ann").await.is_empty());
    assert_eq!(rig.sweep(day(69) + hours(23)).await.fired, 0);
    assert!(rig.tags("ann").await.is_empty(), "fired again too early");
    assert_eq!(rig.sweep(day(70)).await.fired, 1);
    assert_eq!(rig.tags("ann").await, strings(&["dormant"]));
    assert_eq!(rig.sweep(day(75)).await.fired, 0);

    let detail = rig.partner("ann").await;
    assert_eq!(
        history(&detail),
        strings(&[
            "+dormant dormant -",
            "-dormant undorm t1",
            "+dormant dormant -",
        ])
    );
    assert_eq!(detail.tag_history[0].at, day(30) + hours(1));
    assert_eq!(detail.tag_history[2].at, day(70));
}

#[tokio::test]
async fn no_referrals_fires_after_quiet_days_and_rearms_after_a_referral() {
    let rig = Rig::new(
        "
tags: [ { key: no-leads } ]
automations:
  - { key: no-leads, when: { no_referrals: { days: 14 } }, then: [ { add_tag: no-leads } ] }
  - { key: leads-again, when: { sale: {} }, then: [ { remove_tag: no-leads } ] }
",
    )
    .await;
    rig.send(&[join("j1", day(0), "ann")]).await;
    // Activity is not a referral: it neither delays nor re-arms the check.
    rig.send(&[active("a1", day(10), "ann")]).await;
    assert_eq!(rig.sweep(day(13)).await.fired, 0);
    assert_eq!(rig.sweep(day(14)).await.fired, 1, "14 days since the join");
    assert_eq!(rig.tags("ann").await, strings(&["no-leads"]));
    rig.send(&[active("a2", day(21), "ann")]).await;
    assert_eq!(rig.sweep(day(29)).await.fired, 0);
    assert_eq!(rig.sweep(day(40)).await.fired, 0);

    // A referral re-arms it.
    rig.send(&[signup("s1", day(50), "c1", "ann")]).await;
    rig.send(&[sale("t1", day(51), "c1", "10")]).await;
    assert!(rig.tags("ann").await.is_empty());
    let stats = rig.stats("ann").await;
    assert_eq!(stats.last_referral_at, day(50));
    assert_eq!(rig.sweep(day(63) + hours(23)).await.fired, 0);
    assert!(rig.tags("ann").await.is_empty(), "fired again too early");
    assert_eq!(rig.sweep(day(64)).await.fired, 1);
    assert_eq!(rig.tags("ann").await, strings(&["no-leads"]));
    assert_eq!(
        rig.history("ann").await,
        strings(&[
            "+no-leads no-leads -",
            "-no-leads leads-again t1",
            "+no-leads no-leads -",
        ])
    );
}

// ===========================================================================
// 2. Duplicates

const SMALL_PROGRAM: &str = "
tags: [ { key: new-partner }, { key: lead }, { key: seller }, { key: gold } ]
automations:
  - { key: welcome, when: partner_joined, then: [ { add_tag: new-partner } ] }
  - key: first-lead
    when: first_signup
    then: [ { add_tag: lead }, { remove_tag: new-partner } ]
  - { key: seller, when: first_sale, then: [ { add_tag: seller } ] }
  - { key: gold, when: { milestone: { metric: revenue, at_least: 100 } }, then: [ { add_tag: gold } ] }
";

fn small_batch() -> Vec<String> {
    vec![
        join("j1", day(0), "ann"),
        join("j2", day(0), "bob"),
        signup("s1", day(1), "c1", "ann"),
        signup("s2", day(1), "c2", "bob"),
        sale("t1", day(2), "c1", "70"),
        sale("t2", day(3), "c1", "30"),
        sale("t3", day(3), "c2", "10.10"),
    ]
}

#[tokio::test]
async fn a_batch_sent_twice_is_all_duplicates_the_second_time() {
    let rig = Rig::new(SMALL_PROGRAM).await;
    let batch = small_batch();
    rig.send(&batch).await;
    let before = (rig.partner("ann").await, rig.partner("bob").await);
    assert_eq!(
        before.0.partner.tags.iter().collect::<Vec<_>>(),
        ["gold", "lead", "seller"]
    );
    assert_eq!(before.0.partner.stats.revenue, money("100"));

    let again = rig.ingest(&batch.join("\n")).await;
    assert_eq!(again.accepted, 0);
    assert!(again.rejected.is_empty(), "{again:?}");
    let dups: Vec<(usize, Option<&str>)> = again
        .duplicates
        .iter()
        .map(|n| (n.line, n.id.as_deref()))
        .collect();
    assert_eq!(
        dups,
        [
            (1, Some("j1")),
            (2, Some("j2")),
            (3, Some("s1")),
            (4, Some("s2")),
            (5, Some("t1")),
            (6, Some("t2")),
            (7, Some("t3")),
        ]
    );
    let after = (rig.partner("ann").await, rig.partner("bob").await);
    assert_eq!(after, before, "a resent batch changed something");
}

#[tokio::test]
async fn an_id_repeated_in_one_batch_counts_once() {
    let rig = Rig::new(SMALL_PROGRAM).await;
    let report = rig
        .ingest(
            &[
                join("j1", day(0), "ann"),
                signup("s1", day(1), "c1", "ann"),
                // Same id, other content: a duplicate all the same.
                signup("s1", day(1), "c2", "ann"),
                sale("t1", day(2), "c1", "60"),
                sale("t1", day(2), "c1", "60"),
            ]
            .join("\n"),
        )
        .await;
    assert_eq!(report.accepted, 3);
    assert!(report.rejected.is_empty(), "{report:?}");
    let dups: Vec<(usize, Option<&str>)> = report
        .duplicates
        .iter()
        .map(|n| (n.line, n.id.as_deref()))
        .collect();
    assert_eq!(dups, [(3, Some("s1")), (5, Some("t1"))]);
    let stats = rig.stats("ann").await;
    assert_eq!(
        (stats.signups, stats.customers, stats.revenue),
        (1, 1, money("60"))
    );
    assert!(!rig.tags("ann").await.contains(&"gold".to_owned()));
}

// ===========================================================================
// 3. Out of order

#[tokio::test]
async fn a_batch_out_of_time_order_reads_as_it_happened() {
    let rig = Rig::new(SMALL_PROGRAM).await;
    // The signup and the sale are listed before the join they depend on.
    rig.send(&[
        sale("t1", day(3), "c1", "120"),
        signup("s1", day(2), "c1", "ann"),
        join("j1", day(1), "ann"),
    ])
    .await;
    let p = rig.partner("ann").await;
    assert_eq!(p.partner.joined_at, day(1));
    assert_eq!(
        (
            p.partner.stats.signups,
            p.partner.stats.customers,
            p.partner.stats.revenue
        ),
        (1, 1, money("120"))
    );
    assert_eq!(p.partner.stats.last_referral_at, day(2));
    assert_eq!(p.partner.stats.last_activity_at, day(2));
    assert_eq!(
        history(&p),
        strings(&[
            "+new-partner welcome j1",
            "+lead first-lead s1",
            "-new-partner first-lead s1",
            // One event, two automations: ascending key order, whatever the trigger.
            "+gold gold t1",
            "+seller seller t1",
        ])
    );
}

#[tokio::test]
async fn older_events_never_move_last_activity_or_last_referral_back() {
    let rig = Rig::new(SMALL_PROGRAM).await;
    rig.send(&[join("j1", day(0), "ann"), active("a1", day(20), "ann")])
        .await;
    assert_eq!(rig.stats("ann").await.last_activity_at, day(20));
    // An older login arrives late.
    rig.send(&[active("a0", day(10), "ann")]).await;
    assert_eq!(rig.stats("ann").await.last_activity_at, day(20));
    // An older signup: a referral, but not newer activity.
    rig.send(&[signup("s2", day(15), "c2", "ann")]).await;
    let stats = rig.stats("ann").await;
    assert_eq!(stats.last_activity_at, day(20));
    assert_eq!(stats.last_referral_at, day(15));
    // An even older signup moves neither.
    rig.send(&[signup("s1", day(12), "c1", "ann")]).await;
    let stats = rig.stats("ann").await;
    assert_eq!(stats.signups, 2);
    assert_eq!(stats.last_activity_at, day(20));
    assert_eq!(stats.last_referral_at, day(15));
    // In one batch, newest first.
    rig.send(&[active("a3", day(30), "ann"), active("a2", day(25), "ann")])
        .await;
    assert_eq!(rig.stats("ann").await.last_activity_at, day(30));
}

// ===========================================================================
// 4. Bad lines

#[tokio::test]
async fn bad_ndjson_lines_are_rejected_with_line_and_reason_and_the_rest_count() {
    let rig = Rig::new(SMALL_PROGRAM).await;
    let future = Utc::now() + hours(1);
    // Within the 5 minutes allowed; whole seconds, as sent.
    let near: Time = ts(Utc::now() + Duration::minutes(4)).parse().unwrap();
    let body = [
        join("j1", day(0), "ann"),                                            // 1
        "not json".to_owned(),                                                // 2
        r#"{"id":"x3","type":"partner.jumped","at":"2026-02-02T00:00:00Z","partner":{"key":"ann"}}"#.to_owned(), // 3
        r#"{"id":"x4","type":"partner.active","at":"2026-02-02T00:00:00Z","partner":{"key":"ann"},"extra":1}"#.to_owned(), // 4
        sale("x5", day(2), "c1", "1.234"),                                    // 5
        active("x6", day(2), ""),                                             // 6
        active("", day(2), "ann"),                                            // 7
        active("x8", day(2), "ghost"),                                        // 8
        active("x9", future, "ann"),                                          // 9
        signup("s1", day(1), "c1", "ann"),                                    // 10
        String::new(),                                                        // 11: blank, skipped
        sale("t1", day(3), "c1", "150.50"),                                   // 12
        r#"{"id":"x13","type":"partner.active","partner":{"key":"ann"}}"#.to_owned(), // 13: no `at`
        active("a14", near, "ann"),                                           // 14
    ]
    .join("\n");
    let report = rig.ingest(&body).await;
    // An event of a partner who has not joined waits for the join.
    assert_eq!(report.accepted, 5, "{report:#?}");
    assert_eq!(report.waiting.partner, 1, "{report:#?}");
    assert!(report.duplicates.is_empty());
    assert_rejected(
        &report,
        &[
            (2, None, ""),
            (3, Some("x3"), "unknown variant `partner.jumped`"),
            (4, Some("x4"), "unknown field `extra`"),
            (5, Some("x5"), "more decimals than USD has (2)"),
            (6, Some("x6"), "`partner.key` must not be empty"),
            (7, Some(""), "`id` must not be empty"),
            (9, Some("x9"), "in the future"),
            (13, Some("x13"), "missing field `at`"),
        ],
    );
    assert!(
        report.rejected.iter().all(|n| n.reason.is_some()),
        "every rejection has a reason: {report:#?}"
    );
    // The good events took effect, the bad ones did not.
    let p = rig.partner("ann").await.partner;
    assert_eq!(
        (p.stats.signups, p.stats.customers, p.stats.revenue),
        (1, 1, money("150.50"))
    );
    assert_eq!(p.stats.last_activity_at, near);
    assert_eq!(
        p.tags.iter().collect::<Vec<_>>(),
        ["gold", "lead", "seller"]
    );
    assert_eq!(keys(&rig.all().await), ["ann"]);

    // A rejected event's id is not spent: fixed and resent, it counts.
    let report = rig.ingest(&signup("x5", day(4), "c2", "ann")).await;
    assert_eq!(report.accepted, 1, "{report:?}");
    assert_eq!(rig.stats("ann").await.signups, 2);
}

#[tokio::test]
async fn bad_elements_of_a_json_array_are_rejected_with_the_line_they_start_on() {
    let rig = Rig::new(SMALL_PROGRAM).await;
    let body = format!(
        "[\n  {},\n  {{\"id\": \"x2\", \"type\": \"partner.active\",\n    \"at\": \"2026-02-02T00:00:00Z\",\n    \"partner\": {{\"key\": \"ann\"}}, \"extra\": 1}},\n  {},\n  {},\n  {},\n  {}\n]\n",
        join("j1", day(0), "ann"), // line 2
        // the element on lines 3-5 has an unknown field
        signup("s1", day(1), "c1", "ann"), // line 6
        sale("x4", day(2), "c1", "9.999"), // line 7
        sale("t1", day(2), "c1", "100"),   // line 8
        active("x6", day(2), "ghost"),     // line 9: waits for ghost to join
    );
    let report = rig.ingest(&body).await;
    assert_eq!(report.accepted, 4, "{report:#?}");
    assert_rejected(
        &report,
        &[
            (3, Some("x2"), "unknown field `extra`"),
            (7, Some("x4"), "more decimals than USD has (2)"),
        ],
    );
    let p = rig.partner("ann").await.partner;
    assert_eq!((p.stats.signups, p.stats.revenue), (1, money("100")));
    assert!(p.tags.contains("gold"));

    // An array that is not JSON at all: one rejection for the body, nothing
    // takes effect.
    let broken = format!("[\n  {},\n  oops\n]", active("a1", day(5), "ann"));
    let report = rig.ingest(&broken).await;
    assert_eq!(report.accepted, 0);
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert!(
        report.rejected[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("not a JSON array"),
        "{report:?}"
    );
    assert_eq!(rig.stats("ann").await.last_activity_at, day(1));
}

// ===========================================================================
// 6. Catch-up and idempotent sweeps

#[tokio::test]
async fn a_missed_sweep_catches_up_and_a_second_sweep_changes_nothing() {
    let rig = Rig::new(
        "
tags: [ { key: veteran }, { key: dormant } ]
automations:
  - { key: month-one, when: { anniversary: { days: 30 } }, then: [ { add_tag: veteran } ] }
  - { key: dormant, when: { inactive: { days: 30 } }, then: [ { add_tag: dormant } ] }
",
    )
    .await;
    rig.send(&[join("j1", day(0), "ann"), join("j2", day(3), "bob")])
        .await;
    // The sweep reads only partners with a check due.
    let report = rig.sweep(day(29)).await;
    assert_eq!((report.partners, report.fired), (0, 0));
    // Down from day 29 to day 35: the day-30 checks run late, once.
    let report = rig.sweep(day(35)).await;
    assert_eq!((report.fired, report.tag_changes), (4, 4));
    assert_eq!(rig.tagged("veteran").await, ["ann", "bob"]);
    assert_eq!(rig.tagged("dormant").await, ["ann", "bob"]);
    let before = (rig.partner("ann").await, rig.partner("bob").await);
    assert_eq!(
        history(&before.0),
        strings(&["+dormant dormant -", "+veteran month-one -"])
    );

    let again = rig.sweep(day(35)).await;
    assert_eq!((again.partners, again.fired, again.tag_changes), (0, 0, 0));
    assert_eq!(
        (rig.partner("ann").await, rig.partner("bob").await),
        before,
        "the second sweep changed something"
    );
}

/// The playbook's re-engagement pair: a catch-up fires the checks in the
/// order they came due, so it ends where daily sweeps would have.
#[tokio::test]
async fn a_catch_up_sweep_tags_as_the_daily_sweeps_would_have() {
    let yaml = "
tags: [ { key: at-risk }, { key: dormant } ]
automations:
  - { key: getting-cold, when: { inactive: { days: 14 } }, then: [ { add_tag: at-risk } ] }
  - { key: dormant-partner, when: { inactive: { days: 30 } }, then: [ { add_tag: dormant }, { remove_tag: at-risk } ] }
";
    let daily = Rig::new(yaml).await;
    let late = Rig::new(yaml).await;
    for rig in [&daily, &late] {
        rig.send(&[join("j1", day(0), "ann")]).await;
    }
    for d in 1..=40 {
        daily.sweep(day(d)).await;
    }
    late.sweep(day(40)).await;
    assert_eq!(daily.tags("ann").await, ["dormant"]);
    assert_eq!(late.tags("ann").await, daily.tags("ann").await);
    assert_eq!(
        late.history("ann").await,
        strings(&[
            "+at-risk getting-cold -",
            "+dormant dormant-partner -",
            "-at-risk dormant-partner -"
        ])
    );
}

#[tokio::test]
async fn a_sweep_ahead_of_the_clock_is_refused() {
    let rig = Rig::new("tags: [ { key: idle } ]\nautomations:\n  - { key: idle, when: { inactive: { days: 7 } }, then: [ { add_tag: idle } ] }\n").await;
    rig.send(&[join("j1", day(0), "ann")]).await;
    let ahead = Utc::now() + Duration::days(40);
    let err = rig.engine.sweep(PROGRAM, ahead).await.unwrap_err();
    assert!(
        matches!(&err, Error::BadRequest(m) if m.contains("in the future")),
        "{err:?}"
    );
    assert!(rig.tags("ann").await.is_empty(), "nothing ran");
}

#[tokio::test]
async fn partner_groups_must_be_declared_and_null_leaves_the_group() {
    let rig = Rig::new(
        "groups: [ { key: resellers, name: Resellers }, { key: agencies, name: Agencies } ]\n",
    )
    .await;
    let report = rig
        .ingest(
            &[
                json!({"id": "j1", "type": "partner.joined", "at": ts(day(0)),
                       "partner": {"key": "ann", "group": "resellers"}})
                .to_string(),
                json!({"id": "j2", "type": "partner.joined", "at": ts(day(0)),
                       "partner": {"key": "bob", "group": "reseller"}})
                .to_string(),
                json!({"id": "u1", "type": "partner.updated", "at": ts(day(1)),
                       "partner": {"key": "ann", "group": "nobody"}})
                .to_string(),
            ]
            .join("\n"),
        )
        .await;
    assert_eq!(report.accepted, 1);
    assert_rejected(
        &report,
        &[
            (
                2,
                Some("j2"),
                "group `reseller` is not declared in the program's config (did you mean `resellers`?)",
            ),
            (3, Some("u1"), "group `nobody` is not declared"),
        ],
    );
    // Absent leaves the group; null takes the partner out of it.
    rig.send(&[
        json!({"id": "u2", "type": "partner.updated", "at": ts(day(2)),
                      "partner": {"key": "ann", "name": "Ann"}})
        .to_string(),
    ])
    .await;
    assert_eq!(
        rig.partner("ann").await.partner.group.as_deref(),
        Some("resellers")
    );
    rig.send(&[
        json!({"id": "u3", "type": "partner.updated", "at": ts(day(3)),
                      "partner": {"key": "ann", "group": null}})
        .to_string(),
    ])
    .await;
    assert_eq!(rig.partner("ann").await.partner.group, None);
    // A group deleted from the config is left by its partners.
    rig.send(&[
        json!({"id": "u4", "type": "partner.updated", "at": ts(day(4)),
                      "partner": {"key": "ann", "group": "agencies"}})
        .to_string(),
    ])
    .await;
    rig.apply("groups: [ { key: resellers, name: Resellers } ]\n")
        .await;
    assert_eq!(rig.partner("ann").await.partner.group, None);
}

#[tokio::test]
async fn reads_for_an_undeclared_tag_or_an_unknown_partner_say_so() {
    let rig = Rig::new("tags: [ { key: gold } ]\n").await;
    rig.send(&[join("j1", day(0), "ann")]).await;
    assert!(
        rig.tagged("gold").await.is_empty(),
        "declared, held by nobody"
    );
    let err = rig
        .engine
        .partners(PROGRAM, Some("glod"), None, 10)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound(m) if m.contains("declares no tag `glod` (did you mean `gold`?)")),
        "{err:?}"
    );
    assert!(
        rig.engine
            .commissions(PROGRAM, Some("ann"))
            .await
            .unwrap()
            .is_empty()
    );
    let err = rig
        .engine
        .commissions(PROGRAM, Some("nobody"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound(m) if m.contains("no partner `nobody`")),
        "{err:?}"
    );
}

// ===========================================================================
// 7. Several milestones at once

#[tokio::test]
async fn one_event_crossing_several_milestones_fires_them_all() {
    let rig = Rig::new(
        "
tags: [ { key: r100 }, { key: r500 }, { key: r1000 } ]
automations:
  - { key: revenue-100, when: { milestone: { metric: revenue, at_least: 100 } }, then: [ { add_tag: r100 } ] }
  - { key: revenue-500, when: { milestone: { metric: revenue, at_least: 500 } }, then: [ { add_tag: r500 } ] }
  - { key: revenue-1000, when: { milestone: { metric: revenue, at_least: 1000 } }, then: [ { add_tag: r1000 } ] }
",
    )
    .await;
    rig.send(&[
        join("j1", day(0), "ann"),
        signup("s1", day(1), "c1", "ann"),
        sale("t1", day(2), "c1", "50"),
    ])
    .await;
    assert!(rig.tags("ann").await.is_empty());
    rig.send(&[sale("big", day(3), "c1", "600")]).await;
    assert_eq!(rig.tags("ann").await, strings(&["r100", "r500"]));
    assert_eq!(
        rig.history("ann").await,
        strings(&["+r100 revenue-100 big", "+r500 revenue-500 big"])
    );
    rig.send(&[sale("t3", day(4), "c1", "350")]).await;
    assert_eq!(rig.tags("ann").await, strings(&["r100", "r1000", "r500"]));
    assert_eq!(rig.history("ann").await.len(), 3);
}

// ===========================================================================
// 8. Disabled automations; key order

const DISABLED: &str = "
tags: [ { key: on }, { key: welcomed }, { key: first }, { key: seller }, { key: rich }, { key: dormant }, { key: old }, { key: quiet }, { key: buyer }, { key: big } ]
automations:
  - { key: on, when: partner_joined, then: [ { add_tag: on } ] }
  - { key: welcome, when: partner_joined, then: [ { add_tag: welcomed } ], enabled: false }
  - { key: first-lead, when: first_signup, then: [ { add_tag: first } ], enabled: false }
  - { key: seller, when: { sale: {} }, then: [ { add_tag: seller }, { tag_customer: buyer } ], enabled: false }
  - { key: rich, when: { milestone: { metric: revenue, at_least: 10 } }, then: [ { add_tag: rich } ], enabled: false }
  - { key: dormant, when: { inactive: { days: 1 } }, then: [ { add_tag: dormant } ], enabled: false }
  - { key: old, when: { anniversary: { days: 1 } }, then: [ { add_tag: old } ], enabled: false }
  - { key: quiet, when: { no_referrals: { days: 1 } }, then: [ { add_tag: quiet } ], enabled: false }
";

#[tokio::test]
async fn disabled_automations_never_fire() {
    let rig = Rig::new(DISABLED).await;
    rig.send(&[
        join("j1", day(0), "ann"),
        signup("s1", day(1), "c1", "ann"),
        sale("t1", day(2), "c1", "100"),
    ])
    .await;
    assert_eq!(rig.sweep(day(20)).await.fired, 0);
    // A disabled automation with backfill: true, applied for a partner past it.
    let record = rig
        .apply(&format!(
            "{DISABLED}
  - key: big
    when: {{ milestone: {{ metric: revenue, at_least: 50 }} }}
    then: [ {{ add_tag: big }} ]
    backfill: true
    enabled: false
"
        ))
        .await;
    assert_eq!(record.backfill_fired, None);
    rig.send(&[sale("t2", day(30), "c1", "100")]).await;
    assert_eq!(rig.sweep(day(60)).await.fired, 0);
    assert_eq!(rig.tags("ann").await, strings(&["on"]));
    assert_eq!(rig.history("ann").await, strings(&["+on on j1"]));
    assert!(rig.customer_tags("c1").await.is_empty());
}

/// A program where `first` and `second` both act on tag `x` at the join.
async fn two_on_join(first: (&str, &str), second: (&str, &str)) -> Rig {
    // Listed in the file in the opposite order to their keys.
    Rig::new(&format!(
        "
tags: [ {{ key: x }} ]
automations:
  - {{ key: {}, when: partner_joined, then: [ {{ {}: x }} ] }}
  - {{ key: {}, when: partner_joined, then: [ {{ {}: x }} ] }}
",
        second.0, second.1, first.0, first.1
    ))
    .await
}

#[tokio::test]
async fn automations_on_one_event_apply_in_ascending_key_order() {
    let rig = two_on_join(("a-add", "add_tag"), ("b-remove", "remove_tag")).await;
    rig.send(&[join("j1", day(0), "ann")]).await;
    assert!(rig.tags("ann").await.is_empty());
    assert_eq!(
        rig.history("ann").await,
        strings(&["+x a-add j1", "-x b-remove j1"])
    );
    assert!(rig.tagged("x").await.is_empty());

    // Keys swapped: the removal comes first and changes nothing, the add stays.
    let rig = two_on_join(("a-remove", "remove_tag"), ("b-add", "add_tag")).await;
    rig.send(&[join("j1", day(0), "ann")]).await;
    assert_eq!(rig.tags("ann").await, strings(&["x"]));
    assert_eq!(rig.history("ann").await, strings(&["+x b-add j1"]));
    assert_eq!(rig.tagged("x").await, ["ann"]);
}

// ===========================================================================
// 9. Backfill on apply

const BEFORE_BACKFILL: &str = "
tags: [ { key: member }, { key: gold }, { key: converter }, { key: silver } ]
automations:
  - { key: welcome, when: partner_joined, then: [ { add_tag: member } ] }
";

const WITH_BACKFILL: &str = "
tags: [ { key: member }, { key: gold }, { key: converter }, { key: silver } ]
automations:
  - { key: welcome, when: partner_joined, then: [ { add_tag: member } ] }
  - key: gold-tier
    when: { milestone: { metric: revenue, at_least: 1000 } }
    then: [ { add_tag: gold } ]
    backfill: true
  - key: converter
    when: first_sale
    then: [ { add_tag: converter } ]
    backfill: true
  - key: silver-tier
    when: { milestone: { metric: revenue, at_least: 500 } }
    then: [ { add_tag: silver } ]
";

/// Four partners: revenue 1500, exactly 1000, 999.99, and no sale at all.
async fn backfill_rig() -> Rig {
    let rig = Rig::new(BEFORE_BACKFILL).await;
    let mut events = Vec::new();
    for (i, (partner, amount)) in [
        ("high", Some("1500")),
        ("edge", Some("1000.00")),
        ("low", Some("999.99")),
        ("none", None),
    ]
    .into_iter()
    .enumerate()
    {
        events.push(join(&format!("j-{partner}"), day(0), partner));
        if let Some(amount) = amount {
            let customer = format!("c-{partner}");
            events.push(signup(&format!("s-{partner}"), day(1), &customer, partner));
            events.push(sale(
                &format!("t-{partner}"),
                day(2) + hours(i as i64),
                &customer,
                amount,
            ));
        }
    }
    rig.send(&events).await;
    rig
}

#[tokio::test]
async fn backfill_on_apply_fires_for_partners_already_past_and_matches_the_plan_impact() {
    let rig = backfill_rig().await;
    let client = Embedded::new(rig.engine.clone());
    let config = rig.config(WITH_BACKFILL);
    let live = client.snapshot(PROGRAM).await.unwrap();
    let plan = plan::diff(&config, &live);

    // The plan asks about exactly the automations with backfill: true.
    let query = plan.impact_query();
    let asked: Vec<&str> = query.backfill.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(asked, ["converter", "gold-tier"]);
    let gold = config
        .automations
        .iter()
        .find(|a| a.key == "gold-tier")
        .unwrap()
        .clone();
    let impact = rig
        .engine
        .impact(
            PROGRAM,
            &ImpactQuery {
                backfill: vec![gold],
                ..ImpactQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(impact.backfill.get("gold-tier"), Some(&2));
    let impact = rig.engine.impact(PROGRAM, &query).await.unwrap();
    assert_eq!(impact.backfill.get("gold-tier"), Some(&2));
    assert_eq!(impact.backfill.get("converter"), Some(&3));
    // What the plan shows on each change.
    let mut shown = plan.clone();
    shown.add_impact(&impact);
    let on = |key: &str| {
        shown
            .changes
            .iter()
            .find(|c| c.key == key)
            .and_then(|c| c.partners)
    };
    assert_eq!((on("gold-tier"), on("converter")), (Some(2), Some(3)));

    let record = client
        .apply(PROGRAM, &plan.changeset("runtime-test".into(), None, None))
        .await
        .unwrap();
    let total: u64 = impact.backfill.values().sum();
    assert_eq!(record.backfill_fired, Some(total));
    assert_eq!(rig.tagged("gold").await, ["edge", "high"]);
    assert_eq!(rig.tagged("converter").await, ["edge", "high", "low"]);
    // Without backfill, nobody already past 500 gets silver on apply.
    assert!(rig.tagged("silver").await.is_empty());
    assert_eq!(
        rig.history("edge").await,
        strings(&[
            "+member welcome j-edge",
            "+converter converter -",
            "+gold gold-tier -",
        ])
    );
    assert_eq!(rig.tags("none").await, strings(&["member"]));

    // Nothing is left to backfill; the sweep does not fire them again.
    let impact = rig.engine.impact(PROGRAM, &query).await.unwrap();
    assert_eq!(impact.backfill.values().sum::<u64>(), 0, "{impact:?}");
    assert_eq!(rig.sweep(day(5)).await.fired, 0);

    // The partner below the threshold crosses it later: it fires then, from the event.
    rig.send(&[sale("t-low-2", day(10), "c-low", "0.01")]).await;
    assert_eq!(rig.tagged("gold").await, ["edge", "high", "low"]);
    assert!(
        rig.history("low")
            .await
            .contains(&"+gold gold-tier t-low-2".to_owned())
    );
}

/// A chain of renames in one changeset (gold → premium, seller → gold) moves
/// each partner's tags and the automations' fire records one step, not two.
#[tokio::test]
async fn a_chain_of_renames_moves_partner_tags_one_step() {
    use partnerops::engine::changeset::Change;
    use partnerops::spec::{Action, Resource};
    let rig = Rig::new(SMALL_PROGRAM).await;
    rig.send(&[
        join("j1", day(0), "ann"),
        signup("s1", day(1), "c1", "ann"),
        sale("t1", day(2), "c1", "150"),
    ])
    .await;
    assert_eq!(rig.tags("ann").await, strings(&["gold", "lead", "seller"]));
    let client = Embedded::new(rig.engine.clone());
    let live = client.snapshot(PROGRAM).await.unwrap();
    let find = |kind: &str, key: &str| {
        live.resources
            .iter()
            .find(|r| r.kind().to_string() == kind && r.key() == key)
            .unwrap()
            .clone()
    };
    let renamed_tag = |from: &str, to: &str| {
        let Resource::Tag(mut t) = find("tag", from) else {
            unreachable!()
        };
        t.key = to.to_owned();
        Change::Update {
            key: from.to_owned(),
            resource: Resource::Tag(t),
        }
    };
    let adding = |automation: &str, tag: &str| {
        let Resource::Automation(mut a) = find("automation", automation) else {
            unreachable!()
        };
        a.then = vec![Action::AddTag(tag.to_owned())];
        Change::Update {
            key: automation.to_owned(),
            resource: Resource::Automation(a),
        }
    };
    let mut changeset =
        plan::diff(&rig.config(SMALL_PROGRAM), &live).changeset("chain".into(), None, None);
    // Listed in the order that would move `seller` onto `gold` and then both to `premium`.
    changeset.changes = vec![
        renamed_tag("seller", "gold"),
        renamed_tag("gold", "premium"),
        adding("seller", "gold"),
        adding("gold", "premium"),
    ];
    client.apply(PROGRAM, &changeset).await.unwrap();
    assert_eq!(rig.tags("ann").await, strings(&["gold", "lead", "premium"]));
    // Fire records stayed with their automations: nothing fires again.
    rig.send(&[sale("t2", day(3), "c1", "10")]).await;
    assert_eq!(rig.tags("ann").await, strings(&["gold", "lead", "premium"]));
}

/// Renaming an automation that already fired, and turning its backfill back
/// on, backfills nobody: its fire records moved with it, and the plan says so.
#[tokio::test]
async fn a_renamed_automation_backfills_nobody_it_already_fired_for() {
    let rig = backfill_rig().await;
    rig.apply(WITH_BACKFILL).await;
    assert_eq!(rig.tagged("gold").await, ["edge", "high"]);
    rig.apply(&WITH_BACKFILL.replacen("    backfill: true\n", "", 1))
        .await;
    let renamed = WITH_BACKFILL.replace(
        "  - key: gold-tier\n",
        "  - key: gold-x\n    previously: [gold-tier]\n",
    );
    let client = Embedded::new(rig.engine.clone());
    let live = client.snapshot(PROGRAM).await.unwrap();
    let plan = plan::diff(&rig.config(&renamed), &live);
    let impact = rig
        .engine
        .impact(PROGRAM, &plan.impact_query())
        .await
        .unwrap();
    assert_eq!(impact.backfill.get("gold-x"), Some(&0), "{impact:?}");
    let record = client
        .apply(PROGRAM, &plan.changeset("runtime-test".into(), None, None))
        .await
        .unwrap();
    assert_eq!(record.backfill_fired, Some(0));
}

/// A milestone applied *without* `backfill` does not fire for partners already
/// past it when applied (checked above); it should not fire at their next,
/// unrelated sale either, since the metric "first reached" the threshold
/// before. (first_sale behaves that way: added later, it never fires for a
/// partner who already sold.)
#[tokio::test]
async fn milestone_added_without_backfill_does_not_fire_later_for_partners_already_past_it() {
    let rig = backfill_rig().await;
    rig.apply(WITH_BACKFILL).await;
    assert!(rig.tagged("silver").await.is_empty());
    rig.send(&[
        sale("t-high-2", day(10), "c-high", "1"),
        sale("t-edge-2", day(10), "c-edge", "1"),
    ])
    .await;
    assert!(
        rig.tagged("silver").await.is_empty(),
        "silver-tier fired at a later sale for partners who passed 500 before it existed: {:?}",
        rig.history("high").await
    );
}

#[tokio::test]
async fn changing_an_automations_trigger_starts_its_fire_records_afresh() {
    // `z-clear` takes the tag off at every sale, so each firing of `a-big`
    // shows in the history.
    let at = |n: u32| {
        format!(
            "tags: [ {{ key: big }} ]\nautomations:\n  - {{ key: a-big, when: {{ milestone: {{ metric: revenue, at_least: {n} }} }}, then: [ {{ add_tag: big }} ] }}\n  - {{ key: z-clear, when: {{ sale: {{}} }}, then: [ {{ remove_tag: big }} ] }}\n"
        )
    };
    let rig = Rig::new(&at(100)).await;
    rig.send(&[
        join("j1", day(0), "q"),
        signup("s1", day(1), "c", "q"),
        sale("t1", day(2), "c", "150"),
    ])
    .await;
    let first = strings(&["+big a-big t1", "-big z-clear t1"]);
    assert_eq!(rig.history("q").await, first);
    // 100 -> 400: q has not reached 400, so crossing it later fires again.
    rig.apply(&at(400)).await;
    rig.send(&[sale("t2", day(3), "c", "300")]).await;
    assert_eq!(
        rig.history("q").await,
        [first, strings(&["+big a-big t2", "-big z-clear t2"])].concat(),
        "the milestone at 400 fired when q crossed it"
    );
}

// ===========================================================================
// 10. Over HTTP

const HTTP_PROGRAM: &str = "
tags: [ { key: new-partner }, { key: lead }, { key: seller }, { key: gold }, { key: buyer } ]
automations:
  - { key: welcome, when: partner_joined, then: [ { add_tag: new-partner } ] }
  - key: first-lead
    when: first_signup
    then: [ { add_tag: lead }, { remove_tag: new-partner } ]
  - { key: seller, when: first_sale, then: [ { add_tag: seller } ] }
  - { key: gold, when: { milestone: { metric: revenue, at_least: 100 } }, then: [ { add_tag: gold } ] }
  - { key: buyers, when: { sale: {} }, then: [ { tag_customer: buyer } ] }
";

#[tokio::test]
async fn the_same_events_over_http_with_scopes() {
    let mut server = TestServer::start().await;
    let admin = HttpWriter::new(&server.url, Some(server.admin.clone())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    apply_with(&admin, &config(dir.path(), HTTP_PROGRAM)).await;

    let batch = small_batch();
    // NDJSON for the first half, a JSON array for the rest.
    let (first, rest) = batch.split_at(3);
    let ndjson = first.join("\n");
    let array = format!("[\n{}\n]", rest.join(",\n"));

    // config:read cannot send events; nothing lands.
    let reader_token = server.token(&["config:read"]).await;
    let reader = HttpWriter::new(&server.url, Some(reader_token.clone())).unwrap();
    let err = reader
        .send_events(PROGRAM, ndjson.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    partnerops::client::install_crypto();
    let status = reqwest::Client::new()
        .post(format!("{}/v1/programs/{PROGRAM}/events", server.url))
        .bearer_auth(&reader_token)
        .body(ndjson.clone())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403);
    assert!(
        admin
            .partners(PROGRAM, None, None, 100)
            .await
            .unwrap()
            .is_empty()
    );

    // events:write can.
    let sender = HttpWriter::new(&server.url, Some(server.token(&["events:write"]).await)).unwrap();
    let report = sender.send_events(PROGRAM, ndjson.clone()).await.unwrap();
    assert_eq!(
        (report.accepted, report.rejected.len()),
        (3, 0),
        "{report:?}"
    );
    // A JSON array, said so by its content type.
    let report: IngestReport = reqwest::Client::new()
        .post(format!("{}/v1/programs/{PROGRAM}/events", server.url))
        .bearer_auth(server.token(&["events:write"]).await)
        .header("content-type", "application/json")
        .body(array.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (report.accepted, report.rejected.len()),
        (4, 0),
        "{report:?}"
    );
    // Resent: duplicates. A bad line: rejected with its line.
    let report = sender.send_events(PROGRAM, ndjson.clone()).await.unwrap();
    assert_eq!((report.accepted, report.duplicates.len()), (0, 3));
    let report = sender
        .send_events(
            PROGRAM,
            format!(
                "{}\n{}",
                active("a1", day(5), "ann"),
                active("a2", day(5), "ghost")
            ),
        )
        .await
        .unwrap();
    assert_eq!((report.accepted, report.waiting.partner), (2, 1));
    let report = sender
        .send_events(
            PROGRAM,
            r#"{"id":"a3","type":"partner.active","at":"2026-01-06T00:00:00Z","partner":{"key":"ann"},"extra":1}"#.to_owned(),
        )
        .await
        .unwrap();
    assert_rejected(&report, &[(1, Some("a3"), "unknown field `extra`")]);

    let data = HttpWriter::new(&server.url, Some(server.token(&["data:read"]).await)).unwrap();
    let over_http = data.partners(PROGRAM, None, None, 100).await.unwrap();
    let gold = data
        .partners(PROGRAM, Some("gold"), None, 100)
        .await
        .unwrap();
    assert_eq!(keys(&gold), ["ann"]);
    let ann = data.partner(PROGRAM, "ann").await.unwrap();
    assert_eq!(
        ann.partner.tags.iter().collect::<Vec<_>>(),
        ["gold", "lead", "seller"]
    );

    // The same events embedded give the same partners.
    let rig = Rig::new(HTTP_PROGRAM).await;
    rig.ingest(&ndjson).await;
    rig.ingest(&array).await;
    rig.send(&[active("a1", day(5), "ann")]).await;
    assert_eq!(over_http, rig.all().await);
    assert_eq!(history(&ann), rig.history("ann").await);
    // Customers too: the referrer and the tag a sale gave them.
    let c1 = data.customer(PROGRAM, "c1").await.unwrap();
    assert_eq!(c1, rig.engine.customer(PROGRAM, "c1").await.unwrap());
    assert_eq!(
        (
            c1.partner.as_deref(),
            c1.tags.iter().map(String::as_str).collect::<Vec<_>>()
        ),
        (Some("ann"), vec!["buyer"])
    );
    let err = data.customer(PROGRAM, "nobody").await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    server.stop().await;
}

// ===========================================================================
// 11. The CLI, embedded

fn partnerops(db: &Path) -> Command {
    let mut cmd = Command::cargo_bin("partnerops").unwrap();
    cmd.env_remove("PARTNEROPS_ENGINE")
        .env_remove("PARTNEROPS_DB")
        .env_remove("PARTNEROPS_TOKEN")
        .env_remove("PARTNEROPS_PROGRAM")
        .env("NO_COLOR", "1")
        .arg("--db")
        .arg(db);
    cmd
}

fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test]
async fn events_send_through_the_cli_against_the_embedded_engine() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("engine.db");
    let (code, _, err) = run(partnerops(&db).args(["apply", "examples/gigakick", "--yes"]));
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) =
        run(partnerops(&db).args(["events", "send", "examples/gigakick/events.ndjson"]));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("0 rejected"), "{err}");

    let (code, out, err) =
        run(partnerops(&db).args(["partners", "--tag", "gold", "--format", "json"]));
    assert_eq!(code, Some(0), "{err}");
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let listed_keys: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();

    // What the engine holds: gold-tier is revenue >= 1000.
    let engine = Engine::open(&db).await.unwrap();
    let all = engine.partners("gigakick", None, None, 1000).await.unwrap();
    assert_eq!(all.len(), 5);
    let rich: Vec<&str> = all
        .iter()
        .filter(|p| p.stats.revenue >= money("1000"))
        .map(|p| p.key.as_str())
        .collect();
    assert_eq!(listed_keys, rich);
    // Worked by hand from events.ndjson: alice 2600.00, bob 1186.00 less the
    // refund rf-0002 of 49.50, carol 770.00 less rf-0001 of 39.00, dave 147.00.
    assert_eq!(listed_keys, ["alice-agency", "bob-blog"]);
    let revenue: Vec<(String, String)> = all
        .iter()
        .map(|p| (p.key.clone(), p.stats.revenue.to_string()))
        .collect();
    assert_eq!(
        revenue,
        [
            ("alice-agency".to_owned(), "2600.00".to_owned()),
            ("bob-blog".to_owned(), "1136.50".to_owned()),
            ("carol-creator".to_owned(), "731.00".to_owned()),
            ("dave-deals".to_owned(), "147.00".to_owned()),
            ("erin-edu".to_owned(), "0.00".to_owned()),
        ]
    );
    let alice = &listed[0];
    assert_eq!(alice["stats"]["revenue"], "2600.00");
    let tags: Vec<&str> = alice["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let mut sorted = tags.clone();
    sorted.sort_unstable();
    assert_eq!(tags, sorted, "tags are sorted");
    assert!(tags.contains(&"gold"));
    drop(engine);

    // Resent: all duplicates, still exit 0.
    let (code, _, err) =
        run(partnerops(&db).args(["events", "send", "examples/gigakick/events.ndjson"]));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("0 accepted"), "{err}");

    // A file with a bad line: exit 1, the line named, the good lines count.
    let bad = dir.path().join("bad.ndjson");
    std::fs::write(
        &bad,
        [
            active("cli-1", day(200), "alice-agency"),
            r#"{"id":"cli-2","type":"partner.jumped","at":"2026-08-01T00:00:00Z"}"#.to_owned(),
            join("cli-3", day(200), "zed"),
        ]
        .join("\n"),
    )
    .unwrap();
    let (code, _, err) = run(partnerops(&db).args(["events", "send"]).arg(&bad));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("partner.jumped"), "{err}");
    assert!(!err.contains("line 1") && !err.contains("line 3"), "{err}");
    let (code, out, err) = run(partnerops(&db).args(["partners", "--format", "json"]));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("\"zed\""), "{out}");

    // A JSON array with a bad element: its line in the file.
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        format!(
            "[\n  {},\n\n  {}\n]\n",
            active("cli-4", day(201), "alice-agency"),
            active("cli-5", day(201), "").replace("\"\"", "\"x y\"")
        ),
    )
    .unwrap();
    let (code, _, err) = run(partnerops(&db).args(["events", "send"]).arg(&bad));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("invalid key `x y`"), "{err}");
    // An event of a partner who has not joined is kept, and waits.
    let waits = dir.path().join("waits.ndjson");
    std::fs::write(&waits, active("cli-6", day(201), "nobody")).unwrap();
    let (code, _, err) = run(partnerops(&db).args(["events", "send"]).arg(&waits));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("1 waits for its partner to join"), "{err}");
}

// ===========================================================================
// The sweep through every way in: HTTP (admin only), the CLI, serve's timer.

const IDLE: &str = "tags: [ { key: idle } ]\nautomations:\n  - { key: idle, when: { inactive: { days: 7 } }, then: [ { add_tag: idle } ] }\n";

#[tokio::test]
async fn the_sweep_over_http_needs_admin() {
    let mut server = TestServer::start().await;
    let admin = HttpWriter::new(&server.url, Some(server.admin.clone())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    apply_with(&admin, &config(dir.path(), IDLE)).await;
    admin
        .send_events(PROGRAM, join("j1", day(0), "ann"))
        .await
        .unwrap();
    let sender = HttpWriter::new(
        &server.url,
        Some(server.token(&["events:write", "data:read"]).await),
    )
    .unwrap();
    let err = sender.sweep(Some(PROGRAM), day(10)).await.unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    assert!(
        sender
            .partner(PROGRAM, "ann")
            .await
            .unwrap()
            .partner
            .tags
            .is_empty()
    );
    let reports = admin.sweep(Some(PROGRAM), day(10)).await.unwrap();
    assert_eq!((reports.len(), reports[0].fired), (1, 1));
    assert!(
        sender
            .partner(PROGRAM, "ann")
            .await
            .unwrap()
            .partner
            .tags
            .contains("idle")
    );
    let err = admin
        .sweep(Some(PROGRAM), Utc::now() + Duration::days(2))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::BadRequest(m) if m.contains("future")),
        "{err:?}"
    );

    // An admin token bound to another program sweeps nothing here, however
    // the parameter is spelt; without one it sweeps its own program only.
    let bound = server.token_for(Some("other"), &["admin"]).await;
    for query in ["program=shop", "%70rogram=shop"] {
        let status = reqwest::Client::new()
            .post(format!("{}/v1/sweep?{query}", server.url))
            .bearer_auth(&bound)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 403, "{query}");
    }
    // `other` has no config: a sweep of it (not of every program) is a 404.
    let response = reqwest::Client::new()
        .post(format!("{}/v1/sweep", server.url))
        .bearer_auth(&bound)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body = response.text().await.unwrap();
    assert!(body.contains("program `other`"), "{body}");
    server.stop().await;
}

/// A temp engine file with IDLE applied through the CLI, and `events` sent.
fn idle_cli(events: &[String]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("engine.db");
    let cfg = dir.path().join("config");
    std::fs::create_dir(&cfg).unwrap();
    std::fs::write(
        cfg.join("program.yaml"),
        format!("program: {{ key: {PROGRAM}, name: Shop, currency: USD, timezone: UTC }}\n{IDLE}"),
    )
    .unwrap();
    let (code, _, err) = run(partnerops(&db).arg("apply").arg(&cfg).arg("--yes"));
    assert_eq!(code, Some(0), "{err}");
    send_cli(&db, dir.path(), events);
    (dir, db)
}

fn send_cli(db: &Path, dir: &Path, events: &[String]) {
    let file = dir.join("events.ndjson");
    std::fs::write(&file, events.join("\n") + "\n").unwrap();
    let (code, _, err) = run(partnerops(db).args(["events", "send"]).arg(&file));
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn the_sweep_through_the_cli() {
    let (_dir, db) = idle_cli(&[join("j1", day(0), "ann")]);
    let (code, out, err) =
        run(partnerops(&db).args(["sweep", "--now", &ts(day(10)), "--format", "json"]));
    assert_eq!(code, Some(0), "{err}");
    let reports: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(reports[0]["fired"], 1, "{out}");
    let (code, out, _) = run(partnerops(&db).args(["sweep", "--now", &ts(day(11))]));
    assert_eq!(code, Some(0));
    assert_eq!(
        out.trim(),
        format!(
            "{PROGRAM}: swept as of {}: 0 partners with a check due, 0 fired, 0 tag changes",
            ts(day(11))
        )
    );
    let (code, _, err) = run(partnerops(&db).args(["sweep", "--now", "2999-01-01T00:00:00Z"]));
    assert_eq!(code, Some(1));
    assert!(err.contains("in the future"), "{err}");
}

/// `serve --sweep-every` sweeps at start and then on its timer.
#[test]
fn serve_runs_the_sweep_on_a_timer() {
    // Quiet for a week already: the first sweep, at start, tags ann.
    let (dir, db) = idle_cli(&[join("j1", Utc::now() - Duration::days(8), "ann")]);
    let mut child = partnerops(&db)
        .args(["serve", "--listen", "127.0.0.1:0", "--sweep-every", "1s"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let wait_until_idle = |who: &str| loop {
        let (_, out, _) =
            run(partnerops(&db).args(["partners", "--tag", "idle", "--format", "json"]));
        if out.contains(&format!("\"{who}\"")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{who} was never swept"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    wait_until_idle("ann");
    // bob joins quiet too, while the server runs: the timer, not the start, tags him.
    send_cli(
        &db,
        dir.path(),
        &[join("j2", Utc::now() - Duration::days(8), "bob")],
    );
    wait_until_idle("bob");
    let _ = child.kill();
    let _ = child.wait();
}

/// Narrow tokens find their program themselves: no --program needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn narrow_tokens_work_from_the_cli_without_naming_the_program() {
    let mut server = TestServer::start().await;
    let admin = HttpWriter::new(&server.url, Some(server.admin.clone())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    apply_with(&admin, &config(dir.path(), HTTP_PROGRAM)).await;
    let events_token = server.token(&["events:write"]).await;
    let partner_token = server.token(&["partner:ann"]).await;
    let url = server.url.clone();
    let events = dir.path().join("events.ndjson");
    std::fs::write(&events, small_batch().join("\n")).unwrap();
    tokio::task::spawn_blocking(move || {
        let cli = |token: &str| {
            let mut cmd = partnerops(Path::new("/nonexistent/engine.db"));
            cmd.args(["--engine", &url, "--token", token]);
            cmd
        };
        let (code, _, err) = run(cli(&events_token).args(["events", "send"]).arg(&events));
        assert_eq!(code, Some(0), "{err}");
        let (code, out, err) = run(cli(&partner_token).args(["partner-view", "--format", "json"]));
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("\"partner\": \"ann\""), "{out}");
        // Listing programs is all a narrow token gets beyond its scope.
        let (code, _, err) = run(cli(&partner_token).args(["partners"]));
        assert_eq!(code, Some(1));
        assert!(err.contains("data:read"), "{err}");
    })
    .await
    .unwrap();
    server.stop().await;
}
