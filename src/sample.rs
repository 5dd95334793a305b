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
            price: Some(Money(i64::try_from(i % 500).unwrap_or(0) * 100 + 99)),
            archived: false,
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
                Commission::Flat(Money(2500))
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
