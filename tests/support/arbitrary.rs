//! proptest strategies for whole, valid configs: every reference names a declared
//! resource, every value is in range.

use std::collections::BTreeSet;

use partnerops::spec::*;
use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select};

/// Text that is hard to write as YAML: reserved words, numbers, indicators,
/// leading/trailing spaces, line breaks, non-ASCII.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][A-Za-z0-9 ]{0,20}",
        "\\PC{1,24}",
        Just("yes".to_owned()),
        Just("No".to_owned()),
        Just("null".to_owned()),
        Just("~".to_owned()),
        Just("1.50".to_owned()),
        Just("0x1F".to_owned()),
        Just("- dash".to_owned()),
        Just("#hash".to_owned()),
        Just("key: value".to_owned()),
        Just(" leading and trailing ".to_owned()),
        Just("two\nlines".to_owned()),
        Just("ends with newline\n".to_owned()),
        Just("Café — 20% «off»".to_owned()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    text().prop_filter("names are not blank", |s| !s.trim().is_empty())
}

fn keys(min: usize, max: usize) -> impl Strategy<Value = Vec<String>> {
    btree_set("[a-z][a-z0-9_.-]{0,12}", min..=max).prop_map(|s| s.into_iter().collect())
}

fn money() -> impl Strategy<Value = Money> {
    (0i64..100_000_000).prop_map(Money::from_cents)
}

fn percent() -> impl Strategy<Value = Percent> {
    (0i64..=10_000).prop_map(|bp| Percent::from_basis_points(bp).unwrap())
}

fn days() -> impl Strategy<Value = Days> {
    (1i64..=36_500).prop_map(|d| Days::new(d).unwrap())
}

fn kinds() -> impl Strategy<Value = Vec<TransactionKind>> {
    btree_set(
        select(vec![
            TransactionKind::OneTime,
            TransactionKind::Recurring,
            TransactionKind::Manual,
        ]),
        1..=3,
    )
    .prop_map(|s| s.into_iter().collect())
}

fn program() -> impl Strategy<Value = Program> {
    (
        "[a-z][a-z0-9-]{0,10}",
        name(),
        // Two-decimal currencies: the amounts generated have two decimals.
        select(vec!["USD", "EUR", "GBP", "CHF"]),
        select(vec![
            "UTC",
            "Europe/Berlin",
            "America/New_York",
            "Asia/Kolkata",
        ]),
        (0u32..100, money()),
    )
        .prop_map(|(key, name, currency, tz, (hold_days, minimum))| Program {
            key,
            name,
            currency: currency.to_owned(),
            timezone: tz.to_owned(),
            payouts: Payouts { hold_days, minimum },
        })
}

fn trigger() -> impl Strategy<Value = Trigger> {
    prop_oneof![
        Just(Trigger::PartnerJoined),
        Just(Trigger::FirstSignup),
        Just(Trigger::FirstSale),
        Just(Trigger::FirstCommission),
        (1i64..10_000).prop_map(|n| Trigger::Milestone(Milestone {
            metric: Metric::Signups,
            at_least: Threshold::from_hundredths(n * 100).unwrap(),
        })),
        (1i64..100_000_000).prop_map(|n| Trigger::Milestone(Milestone {
            metric: Metric::Revenue,
            at_least: Threshold::from_hundredths(n).unwrap(),
        })),
        days().prop_map(|days| Trigger::Anniversary(DaysCondition { days })),
        days().prop_map(|days| Trigger::Inactive(DaysCondition { days })),
        days().prop_map(|days| Trigger::NoReferrals(DaysCondition { days })),
        option::of(kinds()).prop_map(|kinds| Trigger::Sale(SaleCondition { kinds })),
    ]
}

fn automation(key: String, tags: Vec<String>) -> impl Strategy<Value = Automation> {
    (
        option::of(name()),
        option::of(text()),
        trigger(),
        vec(
            (0..3u8, select(tags)).prop_map(|(a, tag)| match a {
                0 => Action::AddTag(tag),
                1 => Action::RemoveTag(tag),
                _ => Action::TagCustomer(tag),
            }),
            1..4,
        ),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            move |(name, description, when, mut then, enabled, backfill)| {
                let backfill = backfill && !matches!(when, Trigger::Sale(_));
                // tag_customer needs the sale that fired it: not in a
                // backfill, which fires without one.
                let sale = matches!(when, Trigger::Sale(_) | Trigger::FirstSale) && !backfill;
                if !sale {
                    for action in &mut then {
                        if let Action::TagCustomer(t) = action {
                            *action = Action::AddTag(std::mem::take(t));
                        }
                    }
                }
                Automation {
                    key: key.clone(),
                    name,
                    description,
                    when,
                    then,
                    enabled,
                    backfill,
                    previously: Vec::new(),
                }
            },
        )
}

struct Catalog {
    groups: Vec<String>,
    tags: Vec<String>,
    products: Vec<String>,
    product_names: Vec<String>,
}

fn rule(c: &Catalog) -> impl Strategy<Value = Rule> + use<> {
    let statuses = vec![
        ProductStatus::Trial,
        ProductStatus::Active,
        ProductStatus::Churned,
    ];
    let set = |values: Vec<String>| {
        btree_set(select(values), 1..3).prop_map(|s| s.into_iter().collect::<Vec<_>>())
    };
    let window = prop_oneof![
        Just(Window::CurrentCalendarDay),
        Just(Window::PreviousCalendarDay),
        Just(Window::CurrentCalendarMonth),
        Just(Window::PreviousCalendarMonth),
        days().prop_map(Window::RollingDays),
    ];
    let member = |values: Vec<String>| {
        (0..3u8, set(values)).prop_map(|(op, v)| match op {
            0 => MemberOp::AnyOf(v),
            1 => MemberOp::AllOf(v),
            _ => MemberOp::NoneOf(v),
        })
    };
    prop_oneof![
        (any::<bool>(), set(c.products.clone())).prop_map(|(any, v)| Rule::ProductKey(if any {
            SetOp::AnyOf(v)
        } else {
            SetOp::NoneOf(v)
        })),
        set(c.product_names.clone()).prop_map(|v| Rule::ProductName(SetOp::AnyOf(v))),
        btree_set(select(statuses), 1..3)
            .prop_map(|s| Rule::ProductStatus(SetOp::NoneOf(s.into_iter().collect()))),
        window.prop_map(|within| Rule::ProductCreated(CreatedWithin { within })),
        member(c.groups.clone()).prop_map(Rule::PartnerGroup),
        member(c.tags.clone()).prop_map(Rule::PartnerTag),
        (option::of(money()), option::of(money()), money()).prop_map(|(gt, lte, gte)| {
            Rule::TransactionAmount(Compare {
                gt,
                gte: Some(gte),
                lt: None,
                lte,
            })
        }),
        kinds().prop_map(|k| Rule::TransactionKind(AnyOf::AnyOf(k))),
        (0u32..1000, option::of(0u32..1000)).prop_map(|(lt, gte)| Rule::CustomerAgeDays(Compare {
            gt: None,
            gte,
            lt: Some(lt),
            lte: None
        })),
    ]
}

fn commission_trigger(
    key: String,
    c: &Catalog,
) -> impl Strategy<Value = CommissionTrigger> + use<> {
    (
        option::of(name()),
        option::of(text()),
        prop_oneof![
            percent().prop_map(Commission::Percent),
            money().prop_map(Commission::Flat)
        ],
        option::of((1u32..=120).prop_map(|installments| Drip { installments })),
        vec(rule(c), 0..5),
        any::<bool>(),
    )
        .prop_map(
            move |(name, description, commission, drip, rules, enabled)| CommissionTrigger {
                key: key.clone(),
                name,
                description,
                on: CommissionEvent::TransactionCreated,
                commission,
                drip,
                rules,
                enabled,
                previously: Vec::new(),
            },
        )
}

/// Old keys for the resources of one kind, and which resource gets each.
type Renames = (Vec<String>, Vec<Index>);

fn renames() -> impl Strategy<Value = Renames> {
    (keys(0, 4), vec(any::<Index>(), 4))
}

/// Gives resources of one kind the old keys of `renames` that no resource of
/// the kind uses as its key; each old key goes to one resource.
fn rename<R>(
    resources: &mut [R],
    (old_keys, owners): Renames,
    parts: impl Fn(&mut R) -> (&str, &mut Vec<String>),
) {
    if resources.is_empty() {
        return;
    }
    let current: BTreeSet<String> = resources
        .iter_mut()
        .map(|r| parts(r).0.to_owned())
        .collect();
    let old_keys = old_keys.into_iter().filter(|k| !current.contains(k));
    for (old, owner) in old_keys.zip(owners) {
        let (_, previously) = parts(&mut resources[owner.index(resources.len())]);
        previously.push(old);
    }
}

/// A valid config of a few dozen resources at most, some with previous keys.
pub fn config() -> impl Strategy<Value = Config> {
    (
        program(),
        keys(1, 4),
        keys(1, 8),
        keys(1, 5),
        keys(0, 8),
        keys(0, 6),
        [renames(), renames(), renames(), renames(), renames()],
    )
        .prop_flat_map(
            |(
                program,
                group_keys,
                tag_keys,
                product_keys,
                automation_keys,
                trigger_keys,
                renames,
            )| {
                let groups = group_keys
                    .iter()
                    .map(|k| {
                        (option::of(name()), option::of(text())).prop_map({
                            let key = k.clone();
                            move |(name, description)| Group {
                                key: key.clone(),
                                name,
                                description,
                                previously: Vec::new(),
                            }
                        })
                    })
                    .collect::<Vec<_>>();
                let tags = tag_keys
                    .iter()
                    .map(|k| {
                        (option::of(name()), option::of(text())).prop_map({
                            let key = k.clone();
                            move |(name, description)| Tag {
                                key: key.clone(),
                                name,
                                description,
                                previously: Vec::new(),
                            }
                        })
                    })
                    .collect::<Vec<_>>();
                let products = product_keys
                    .iter()
                    .map(|k| {
                        (
                            name(),
                            option::of(text()),
                            option::of(money()),
                            any::<bool>(),
                            0..3usize,
                        )
                            .prop_map({
                                let key = k.clone();
                                move |(name, description, price, archived, prices)| Product {
                                    key: key.clone(),
                                    name,
                                    description,
                                    price,
                                    archived,
                                    // Unique to the product: a price belongs to one.
                                    stripe: (prices > 0).then(|| StripeProduct {
                                        prices: (0..prices)
                                            .map(|i| format!("price_{key}_{i}"))
                                            .collect(),
                                    }),
                                    previously: Vec::new(),
                                }
                            })
                    })
                    .collect::<Vec<_>>();
                (
                    Just(program),
                    groups,
                    tags,
                    products,
                    Just(automation_keys),
                    Just(trigger_keys),
                    Just(renames),
                )
            },
        )
        .prop_flat_map(
            |(program, groups, tags, products, automation_keys, trigger_keys, renames)| {
                let catalog = Catalog {
                    groups: groups.iter().map(|g| g.key.clone()).collect(),
                    tags: tags.iter().map(|t| t.key.clone()).collect(),
                    products: products.iter().map(|p| p.key.clone()).collect(),
                    product_names: products
                        .iter()
                        .map(|p| p.name.clone())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect(),
                };
                let automations = automation_keys
                    .into_iter()
                    .map(|k| automation(k, catalog.tags.clone()))
                    .collect::<Vec<_>>();
                let triggers = trigger_keys
                    .into_iter()
                    .map(|k| commission_trigger(k, &catalog))
                    .collect::<Vec<_>>();
                (
                    Just(program),
                    Just(groups),
                    Just(tags),
                    Just(products),
                    automations,
                    triggers,
                    Just(renames),
                )
            },
        )
        .prop_map(
            |(program, groups, tags, products, automations, commission_triggers, renames)| {
                let mut config = Config {
                    program,
                    groups,
                    tags,
                    products,
                    webhooks: Vec::new(),
                    automations,
                    commission_triggers,
                };
                let [groups, tags, products, automations, triggers] = renames;
                rename(&mut config.groups, groups, |r| (&r.key, &mut r.previously));
                rename(&mut config.tags, tags, |r| (&r.key, &mut r.previously));
                rename(&mut config.products, products, |r| {
                    (&r.key, &mut r.previously)
                });
                rename(&mut config.automations, automations, |r| {
                    (&r.key, &mut r.previously)
                });
                rename(&mut config.commission_triggers, triggers, |r| {
                    (&r.key, &mut r.previously)
                });
                config.sort();
                config
            },
        )
}
