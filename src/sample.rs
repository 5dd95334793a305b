//! Synthetic programs of any size, for benchmarks and load tests.

use std::path::Path;

use crate::config::{modeline, to_yaml};
use crate::spec::*;

/// A valid config of about `n` resources: 5% groups, 20% tags, 20% products,
/// 30% automations (every trigger kind), 25% commission triggers of 3 rules each.
pub fn config(n: usize) -> Config {
    let count = |share: usize| (n * share / 100).max(1);
    let mut config = Config::new(Program {
        key: "sample".to_owned(),
        name: "Sample program".to_owned(),
        currency: "USD".to_owned(),
        timezone: "Europe/Berlin".to_owned(),
        payouts: crate::spec::Payouts::default(),
    });
    let groups = count(5);
    let tags = count(20);
    let products = count(20);
    config.groups = (0..groups)
        .map(|i| Group {
            key: format!("group-{i:05}"),
            name: Some(format!("Group {i}")),
            description: None,
            previously: Vec::new(),
        })
        .collect();
    config.tags = (0..tags)
        .map(|i| Tag {
            key: format!("tag-{i:05}"),
            name: None,
            description: Some(format!("Tag number {i}")),
            previously: Vec::new(),
        })
        .collect();
    config.products = (0..products)
        .map(|i| Product {
            key: format!("product-{i:05}"),
            name: format!("Product {i}"),
            description: Some("A product".to_owned()),
            price: Some(Money::from_cents(
                i64::try_from(i % 500).unwrap_or(0) * 100 + 99,
            )),
            archived: false,
            stripe: None,
            previously: Vec::new(),
        })
        .collect();
    let days = |i: usize| Days::new(i64::try_from(i % 365).unwrap_or(0) + 1).expect("1..=365");
    config.automations = (0..count(30))
        .map(|i| {
            let when = match i % 9 {
                0 => Trigger::PartnerJoined,
                1 => Trigger::FirstSignup,
                2 => Trigger::FirstSale,
                3 => Trigger::FirstCommission,
                4 => Trigger::Milestone(Milestone {
                    metric: Metric::Revenue,
                    at_least: Threshold::from_hundredths(i64::try_from(i).unwrap_or(0) * 100 + 100)
                        .expect("positive"),
                }),
                5 => Trigger::Anniversary(DaysCondition { days: days(i) }),
                6 => Trigger::Inactive(DaysCondition { days: days(i) }),
                7 => Trigger::NoReferrals(DaysCondition { days: days(i) }),
                _ => Trigger::Sale(SaleCondition {
                    kinds: Some(vec![TransactionKind::Recurring]),
                }),
            };
            Automation {
                key: format!("automation-{i:05}"),
                name: Some(format!("Automation {i}")),
                description: None,
                when,
                then: vec![
                    Action::AddTag(format!("tag-{:05}", i % tags)),
                    Action::RemoveTag(format!("tag-{:05}", (i + 1) % tags)),
                ],
                enabled: i % 10 != 0,
                backfill: false,
                previously: Vec::new(),
            }
        })
        .collect();
    config.commission_triggers = (0..count(25))
        .map(|i| CommissionTrigger {
            key: format!("trigger-{i:05}"),
            name: Some(format!("Trigger {i}")),
            description: Some(format!("Earn {}% on product {}", i % 30 + 1, i % products)),
            on: CommissionEvent::TransactionCreated,
            commission: if i % 4 == 0 {
                Commission::Flat(Money::from_cents(2500))
            } else {
                Commission::Percent(
                    Percent::from_basis_points(i64::try_from(i % 30 + 1).unwrap_or(1) * 100)
                        .expect("at most 30%"),
                )
            },
            drip: (i % 7 == 0).then_some(Drip { installments: 3 }),
            rules: vec![
                Rule::ProductKey(SetOp::AnyOf(vec![format!("product-{:05}", i % products)])),
                Rule::ProductStatus(SetOp::AnyOf(vec![ProductStatus::Active])),
                Rule::PartnerGroup(MemberOp::NoneOf(vec![format!("group-{:05}", i % groups)])),
            ],
            enabled: true,
            previously: Vec::new(),
        })
        .collect();
    config.sort();
    config
}

/// Writes `config` as a directory of YAML files of at most 1,000 resources each,
/// the way a large program would split its config.
pub fn write_dir(config: &Config, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let header = modeline("partnerops.schema.json");
    let program = ConfigDocument {
        program: Some(config.program.clone()),
        ..ConfigDocument::default()
    };
    std::fs::write(
        dir.join("program.yaml"),
        format!("{header}{}", to_yaml(&program)),
    )?;
    fn chunks<T: Clone>(
        dir: &Path,
        name: &str,
        items: &[T],
        header: &str,
        place: impl Fn(&mut ConfigDocument, Vec<T>),
    ) -> std::io::Result<()> {
        for (i, chunk) in items.chunks(1000).enumerate() {
            let mut doc = ConfigDocument::default();
            place(&mut doc, chunk.to_vec());
            std::fs::write(
                dir.join(format!("{name}-{i:02}.yaml")),
                format!("{header}{}", to_yaml(&doc)),
            )?;
        }
        Ok(())
    }
    chunks(dir, "groups", &config.groups, &header, |d, v| d.groups = v)?;
    chunks(dir, "tags", &config.tags, &header, |d, v| d.tags = v)?;
    chunks(dir, "products", &config.products, &header, |d, v| {
        d.products = v
    })?;
    chunks(dir, "automations", &config.automations, &header, |d, v| {
        d.automations = v
    })?;
    chunks(
        dir,
        "commission-triggers",
        &config.commission_triggers,
        &header,
        |d, v| {
            d.commission_triggers = v;
        },
    )?;
    Ok(())
}

/// A program for runtime benchmarks: `automations` automations (a fifth of them
/// daily checks), `triggers` commission triggers of `rules` rules each, over 20
/// products, 20 tags and 5 groups. With 100 triggers there is one offer per
/// product and group (product key, status, group, amount, kind), so each sale
/// matches one trigger; one trigger in ten pays in three installments.
pub fn runtime_config(automations: usize, triggers: usize, rules: usize) -> Config {
    let mut config = Config::new(Program {
        key: "bench".to_owned(),
        name: "Benchmark".to_owned(),
        currency: "USD".to_owned(),
        timezone: "Europe/Berlin".to_owned(),
        payouts: crate::spec::Payouts::default(),
    });
    config.groups = (0..5)
        .map(|i| Group {
            key: format!("g{i}"),
            name: None,
            description: None,
            previously: Vec::new(),
        })
        .collect();
    config.tags = (0..20)
        .map(|i| Tag {
            key: format!("t{i:02}"),
            name: None,
            description: None,
            previously: Vec::new(),
        })
        .collect();
    config.products = (0..20)
        .map(|i| Product {
            key: format!("p{i:02}"),
            name: format!("Product {i}"),
            description: None,
            price: Some(Money::from_cents(4900)),
            archived: false,
            stripe: None,
            previously: Vec::new(),
        })
        .collect();
    let days = |d: i64| Days::new(d).expect("in range");
    config.automations = (0..automations)
        .map(|i| {
            let when = match i % 10 {
                0 => Trigger::PartnerJoined,
                1 => Trigger::FirstSignup,
                2 => Trigger::FirstSale,
                3 => Trigger::FirstCommission,
                4 => Trigger::Milestone(Milestone {
                    metric: Metric::Signups,
                    at_least: Threshold::from_hundredths(
                        i64::try_from(i % 7 + 2).unwrap_or(2) * 100,
                    )
                    .expect("positive"),
                }),
                5 => Trigger::Milestone(Milestone {
                    metric: Metric::Revenue,
                    at_least: Threshold::from_hundredths(
                        i64::try_from(i).unwrap_or(1) * 5_000 + 10_000,
                    )
                    .expect("positive"),
                }),
                6 => Trigger::Sale(SaleCondition { kinds: None }),
                7 => Trigger::Anniversary(DaysCondition {
                    days: days(i64::try_from(i % 300).unwrap_or(0) + 30),
                }),
                8 => Trigger::Inactive(DaysCondition {
                    days: days(i64::try_from(i % 60).unwrap_or(0) + 7),
                }),
                _ => Trigger::NoReferrals(DaysCondition {
                    days: days(i64::try_from(i % 60).unwrap_or(0) + 14),
                }),
            };
            Automation {
                key: format!("a{i:03}"),
                name: None,
                description: None,
                when,
                // As programs use them: sales tag the customer, a first signup
                // moves the partner on from "new", the rest add a tag.
                then: match i % 10 {
                    6 => vec![Action::TagCustomer(format!("t{:02}", i % 20))],
                    1 => vec![
                        Action::AddTag(format!("t{:02}", i % 20)),
                        Action::RemoveTag("t00".to_owned()),
                    ],
                    _ => vec![Action::AddTag(format!("t{:02}", i % 20))],
                },
                enabled: true,
                backfill: false,
                previously: Vec::new(),
            }
        })
        .collect();
    config.commission_triggers = (0..triggers)
        .map(|i| {
            let all = [
                Rule::ProductKey(SetOp::AnyOf(vec![format!("p{:02}", i % 20)])),
                Rule::ProductStatus(SetOp::AnyOf(vec![ProductStatus::Active])),
                // One offer per product and partner group: a sale matches one
                // trigger, after all 100 are evaluated.
                Rule::PartnerGroup(MemberOp::AnyOf(vec![format!("g{}", (i / 20) % 5)])),
                Rule::TransactionAmount(Compare {
                    gt: Some(Money::from_cents(100)),
                    gte: None,
                    lt: None,
                    lte: None,
                }),
                Rule::TransactionKind(AnyOf::AnyOf(vec![
                    TransactionKind::Recurring,
                    TransactionKind::OneTime,
                ])),
                Rule::CustomerAgeDays(Compare {
                    gt: None,
                    gte: Some(0),
                    lt: None,
                    lte: None,
                }),
                Rule::PartnerTag(MemberOp::NoneOf(vec![format!("t{:02}", i % 20)])),
            ];
            CommissionTrigger {
                key: format!("c{i:03}"),
                name: None,
                description: Some(format!("Offer {i}")),
                on: CommissionEvent::TransactionCreated,
                commission: Commission::Percent(
                    Percent::from_basis_points(i64::try_from(i % 20).unwrap_or(0) * 100 + 500)
                        .expect("under 100%"),
                ),
                drip: (i % 10 == 0).then_some(Drip { installments: 3 }),
                rules: all.into_iter().take(rules).collect(),
                enabled: true,
                previously: Vec::new(),
            }
        })
        .collect();
    config.sort();
    config
}

/// NDJSON events for `runtime_config`: `partners` joins, then rounds of
/// activity, signups, products and transactions over them, `n` events in all,
/// one second apart from `start`.
pub fn events(n: usize, partners: usize, start: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let partners = partners.max(1);
    let at = |i: usize| {
        (start + chrono::Duration::seconds(i64::try_from(i).unwrap_or(0)))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    (0..n)
        .map(|i| {
            let p = i % partners;
            let partner = format!("partner-{p:07}");
            if i < partners {
                return format!(
                    r#"{{"id":"e{i}","type":"partner.joined","at":"{}","partner":{{"key":"{partner}","group":"g{}"}}}}"#,
                    at(i),
                    p % 5
                );
            }
            let round = i / partners;
            let customer = format!("c-{p}-{}", round / 4);
            let sub = format!("s-{p}-{}", round / 4);
            match round % 4 {
                1 => format!(
                    r#"{{"id":"e{i}","type":"customer.signed_up","at":"{}","customer":{{"key":"{customer}"}},"partner":{{"key":"{partner}"}}}}"#,
                    at(i)
                ),
                2 => format!(
                    r#"{{"id":"e{i}","type":"customer_product.upserted","at":"{}","customer":{{"key":"{customer}"}},"product":"p{:02}","status":"active","external_subscription_key":"{sub}"}}"#,
                    at(i),
                    (p + round) % 20
                ),
                3 => format!(
                    r#"{{"id":"e{i}","type":"transaction.created","at":"{}","transaction":{{"key":"tx{i}","customer":"{customer}","amount":"49.00","subscription_key":"{sub}","kind":"recurring"}}}}"#,
                    at(i)
                ),
                _ => format!(r#"{{"id":"e{i}","type":"partner.active","at":"{}","partner":{{"key":"{partner}"}}}}"#, at(i)),
            }
        })
        .collect()
}

/// `events` with `percent`% of the events after the first `skip` (the
/// joins) moved further down, each by a pseudo-random 1..=`max_shift`
/// places: they arrive after events dated up to `max_shift` seconds after
/// them. The count of events moved comes with them.
pub fn delay(
    events: Vec<String>,
    skip: usize,
    percent: usize,
    max_shift: usize,
) -> (Vec<String>, usize) {
    // A fixed xorshift so the same arguments give the same file.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % (1 << 32)).unwrap_or(0)
    };
    let mut moved = 0;
    let mut keyed: Vec<(usize, String)> = events
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            if i >= skip && next() % 100 < percent {
                moved += 1;
                (i + 1 + next() % max_shift.max(1), e)
            } else {
                (i, e)
            }
        })
        .collect();
    // Stable: events not moved keep their order.
    keyed.sort_by_key(|(k, _)| *k);
    (keyed.into_iter().map(|(_, e)| e).collect(), moved)
}

/// The program `generate ledger` writes: 10% of every sale, nothing held,
/// no minimum, so every line is payable at once.
pub const LEDGER_PROGRAM: &str = "\
program:
  key: ledger
  name: Ledger benchmark
  currency: USD
  timezone: UTC
  payouts: { hold_days: 0, minimum: 0 }
commission_triggers:
  - key: ten-percent
    on: transaction_created
    commission: { percent: 10 }
";

/// NDJSON events for `LEDGER_PROGRAM`: `partners` joins, one customer each,
/// then `sales` sales of 49.00 over the customers in turn, one second apart
/// from `start`.
pub fn sales(sales: usize, partners: usize, start: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let partners = partners.max(1);
    let at = |i: usize| {
        (start + chrono::Duration::seconds(i64::try_from(i).unwrap_or(0)))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let joins = (0..partners).map(|p| {
        format!(
            r#"{{"id":"j{p}","type":"partner.joined","at":"{}","partner":{{"key":"partner-{p:07}"}}}}"#,
            at(p)
        )
    });
    let signups = (0..partners).map(|p| {
        format!(
            r#"{{"id":"s{p}","type":"customer.signed_up","at":"{}","customer":{{"key":"c-{p}"}},"partner":{{"key":"partner-{p:07}"}}}}"#,
            at(partners + p)
        )
    });
    let sold = (0..sales).map(|i| {
        format!(
            r#"{{"id":"t{i}","type":"transaction.created","at":"{}","transaction":{{"key":"tx{i}","customer":"c-{}","amount":"49.00","kind":"one_time"}}}}"#,
            at(2 * partners + i),
            i % partners
        )
    });
    joins.chain(signups).chain(sold).collect()
}

/// A config file whose aliases alone expand to about 900,000 nodes (just
/// under what one load allows), declaring tag `t{i}`: what an attacker's pull
/// request would send many of. About 4 KB.
pub fn alias_file(i: usize) -> String {
    let mut text = format!(
        "tags:\n  - {{ key: t{i}, description: \"{}\" }}\n",
        "x".repeat(3500)
    );
    text.push_str("anchors:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..5 {
        let prev = level - 1;
        let aliases = vec![format!("*l{prev}"); 10].join(", ");
        text.push_str(&format!("  l{level}: &l{level} [{aliases}]\n"));
    }
    text.push_str(&format!("  top: [{}]\n", vec!["*l4"; 7].join(", ")));
    text
}
