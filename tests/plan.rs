//! Plans: the diff, its renderings, and the property that applying a plan leaves
//! nothing to plan.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use partnerops::client::{Embedded, Reader, Writer};
use partnerops::engine::{Engine, Impact};
use partnerops::plan::{self, Action, Refusal, render};
use partnerops::spec::*;
use proptest::prelude::*;

fn gigakick() -> Config {
    partnerops::config::load(Path::new("examples/gigakick")).unwrap()
}

/// gigakick with one of each kind of change.
fn edited() -> Config {
    let mut c = gigakick();
    c.tags.push(Tag {
        key: "platinum".into(),
        name: Some("Platinum".into()),
        description: None,
        previously: Vec::new(),
    });
    c.automations.push(Automation {
        key: "platinum-tier".into(),
        name: Some("Platinum Tier".into()),
        description: None,
        when: Trigger::Milestone(Milestone {
            metric: Metric::Revenue,
            at_least: Threshold::from_hundredths(1_000_000).unwrap(),
        }),
        then: vec![partnerops::spec::Action::AddTag("platinum".into())],
        enabled: true,
        backfill: true,
        previously: Vec::new(),
    });
    let gold = c
        .automations
        .iter_mut()
        .find(|a| a.key == "gold-tier")
        .unwrap();
    gold.when = Trigger::Milestone(Milestone {
        metric: Metric::Revenue,
        at_least: Threshold::from_hundredths(150_000).unwrap(),
    });
    // Rename converter → proven, keeping its partners.
    let converter = c.tags.iter_mut().find(|t| t.key == "converter").unwrap();
    converter.key = "proven".into();
    converter.previously = vec!["converter".into()];
    let first_sale = c
        .automations
        .iter_mut()
        .find(|a| a.key == "first-sale")
        .unwrap();
    first_sale.then = vec![partnerops::spec::Action::AddTag("proven".into())];
    c.automations.retain(|a| a.key != "dormant");
    c.tags.retain(|t| t.key != "dormant");
    c.products
        .iter_mut()
        .find(|p| p.key == "inbox")
        .unwrap()
        .price = Some(Money::from_cents(10_900));
    c.commission_triggers.retain(|t| t.key != "gold-upsell");
    c.sort();
    c
}

async fn applied(engine: &Engine, config: &Config) -> partnerops::engine::Snapshot {
    let client = Embedded::new(engine.clone());
    let before = client.snapshot(&config.program.key).await.unwrap();
    let plan = plan::diff(config, &before);
    if !plan.is_empty() {
        client
            .apply(
                &config.program.key,
                &plan.changeset("test".into(), None, None),
            )
            .await
            .unwrap();
    }
    client.snapshot(&config.program.key).await.unwrap()
}

fn scenario() -> plan::Plan {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let engine = Engine::open(&dir.path().join("e.db")).await.unwrap();
        let live = applied(&engine, &gigakick()).await;
        let mut plan = plan::diff(&edited(), &live);
        // What an engine with partners would answer.
        plan.add_impact(&Impact {
            tag_holders: BTreeMap::from([("dormant".to_owned(), 3)]),
            tag_customers: BTreeMap::from([("dormant".to_owned(), 1)]),
            product_holders: BTreeMap::new(),
            backfill: BTreeMap::from([("platinum-tier".to_owned(), 2)]),
        });
        plan
    })
}

#[test]
fn the_text_plan() {
    let plan = scenario();
    assert_eq!(
        (
            plan.summary.create,
            plan.summary.update,
            plan.summary.delete
        ),
        (2, 4, 3)
    );
    let rename = plan.changes.iter().find(|c| c.key == "converter").unwrap();
    assert_eq!(
        (rename.action, rename.new_key.as_deref()),
        (Action::Update, Some("proven"))
    );
    let text = render::text(
        &plan,
        "the embedded engine (engine.db)",
        render::Colors { enabled: false },
        false,
    );
    assert!(!text.contains('\x1b'));
    insta::assert_snapshot!(text);
}

#[test]
fn the_text_plan_in_colour() {
    let plan = scenario();
    let text = render::text(&plan, "engine", render::Colors { enabled: true }, false);
    assert!(text.contains("\x1b[32m+\x1b[0m tag platinum"));
    assert!(text.contains("\x1b[31m-\x1b[0m tag dormant"));
}

#[test]
fn the_markdown_plan() {
    insta::assert_snapshot!(render::markdown(&scenario()));
}

#[test]
fn the_json_plan_has_the_documented_shape() {
    let plan = scenario();
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["program"], "gigakick");
    assert_eq!(json["base_revision"], 1);
    assert_eq!(
        json["summary"],
        serde_json::json!({"create": 2, "update": 4, "delete": 3})
    );
    let delete = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "dormant" && c["kind"] == "tag")
        .unwrap();
    assert_eq!(delete["action"], "delete");
    assert_eq!(delete["partners"], 3);
    let gold = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "gold-tier")
        .unwrap();
    assert_eq!(gold["fields"][0]["path"], "when.milestone.at_least");
    assert_eq!(
        (
            gold["fields"][0]["before"].clone(),
            gold["fields"][0]["after"].clone()
        ),
        (1000.into(), 1500.into())
    );
    let back: plan::Plan = serde_json::from_value(json).unwrap();
    assert_eq!(back, plan);
}

#[test]
fn changes_come_in_dependency_order_and_deletes_in_reverse() {
    let plan = scenario();
    let positions: Vec<(Action, Kind)> = plan.changes.iter().map(|c| (c.action, c.kind)).collect();
    let first_delete = positions
        .iter()
        .position(|(a, _)| *a == Action::Delete)
        .unwrap();
    assert!(
        positions[..first_delete]
            .iter()
            .all(|(a, _)| *a != Action::Delete)
    );
    assert!(
        positions[..first_delete]
            .windows(2)
            .all(|w| w[0].1 <= w[1].1)
    );
    assert!(
        positions[first_delete..]
            .windows(2)
            .all(|w| w[0].1 >= w[1].1)
    );
}

#[test]
fn a_huge_plan_is_summarised_under_the_markdown_limit() {
    let big = partnerops::sample::config(10_000);
    let empty = partnerops::engine::Snapshot {
        program: big.program.key.clone(),
        revision: 0,
        resources: Vec::new(),
    };
    let plan = plan::diff(&big, &empty);
    assert!(plan.changes.len() >= 10_000);
    let md = render::markdown(&plan);
    assert!(
        md.chars().count() < render::MARKDOWN_LIMIT,
        "{} chars",
        md.chars().count()
    );
    assert!(md.starts_with("### partnerops plan for `sample`"));
    assert!(md.contains("Plan: 10001 to create, 0 to update, 0 to delete."));
    assert!(md.contains("more changes not shown"));
    assert!(md.trim_end().ends_with("</details>"));
    // Every shown change is whole: the fence opens and closes once.
    assert_eq!(md.matches("```").count(), 2);
}

#[test]
fn guards_refuse_mass_deletes_and_held_products() {
    let mut plan = scenario();
    assert!(plan.refusals().is_empty(), "{:?}", plan.refusals());
    // Deleting 3 of 7 tags is over 30%.
    let mut live = gigakick();
    live.automations.clear();
    let mut desired = live.clone();
    desired.tags.truncate(4);
    let snapshot = partnerops::engine::Snapshot {
        program: "gigakick".into(),
        revision: 4,
        resources: live.resources().collect(),
    };
    let mass = plan::diff(&desired, &snapshot);
    assert_eq!(
        mass.refusals(),
        vec![Refusal::MassChange {
            kind: Kind::Tag,
            action: Action::Delete,
            count: 3,
            existing: 7
        }]
    );
    assert!(mass.refusals()[0].forceable());
    assert!(
        mass.refusals()[0]
            .to_string()
            .contains("deletes 3 of 7 tags (43%)")
    );

    let product = plan
        .changes
        .iter_mut()
        .find(|c| c.kind == Kind::CommissionTrigger)
        .unwrap();
    product.kind = Kind::Product;
    product.customers = Some(12);
    let held = plan.refusals();
    assert!(matches!(
        &held[..],
        [Refusal::ProductHeld { customers: 12, .. }]
    ));
    assert!(!held[0].forceable());
    assert!(
        held[0]
            .to_string()
            .contains("archive it instead (`archived: true`)")
    );
}

/// What `export --out DIR` writes: one file per kind.
fn write_export(config: &Config, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, doc) in partnerops::config::files_per_kind(config) {
        if doc != ConfigDocument::default() {
            std::fs::write(dir.join(name), partnerops::config::to_yaml(&doc)).unwrap();
        }
    }
}

/// gigakick with the `new-partner` tag renamed to `newcomer` and the
/// `welcome` automation that adds it renamed to `greet`, both through
/// `previously`.
fn renamed() -> Config {
    let mut c = gigakick();
    let tag = c.tags.iter_mut().find(|t| t.key == "new-partner").unwrap();
    tag.key = "newcomer".into();
    tag.previously = vec!["new-partner".into()];
    for a in &mut c.automations {
        for action in &mut a.then {
            match action {
                partnerops::spec::Action::AddTag(t) | partnerops::spec::Action::RemoveTag(t)
                    if t == "new-partner" =>
                {
                    *t = "newcomer".into();
                }
                _ => {}
            }
        }
    }
    let welcome = c
        .automations
        .iter_mut()
        .find(|a| a.key == "welcome")
        .unwrap();
    welcome.key = "greet".into();
    welcome.previously = vec!["welcome".into()];
    c.sort();
    c
}

/// A rename through `previously` is an update that keeps the resource's
/// runtime data; `previously` itself is not state, so neither the plan nor
/// the engine carries it and dropping it later plans nothing.
#[tokio::test]
async fn a_rename_keeps_runtime_data_and_previously_is_not_state() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("e.db")).await.unwrap();
    let client = Embedded::new(engine.clone());
    applied(&engine, &gigakick()).await;
    let joined = r#"{"id":"e1","type":"partner.joined","at":"2026-06-02T09:00:00Z","partner":{"key":"ann"}}"#;
    client.send_events("gigakick", joined.into()).await.unwrap();
    let tags =
        |p: partnerops::engine::PartnerDetail| p.partner.tags.into_iter().collect::<Vec<_>>();
    assert_eq!(
        tags(client.partner("gigakick", "ann").await.unwrap()),
        ["new-partner"]
    );

    let live = client.snapshot("gigakick").await.unwrap();
    let plan = plan::diff(&renamed(), &live);
    assert_eq!(
        (
            plan.summary.create,
            plan.summary.update,
            plan.summary.delete
        ),
        (0, 3, 0),
        "{:?}",
        plan.changes
    );
    let tag = plan.changes.iter().find(|c| c.kind == Kind::Tag).unwrap();
    assert_eq!(
        (tag.action, tag.key.as_str(), tag.new_key.as_deref()),
        (Action::Update, "new-partner", Some("newcomer"))
    );
    let paths: Vec<&str> = tag.fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["key"]);
    assert!(
        plan.changes
            .iter()
            .all(|c| c.after.as_ref().is_none_or(|r| r.previously().is_empty()))
    );

    let after = applied(&engine, &renamed()).await;
    assert_eq!(
        tags(client.partner("gigakick", "ann").await.unwrap()),
        ["newcomer"]
    );
    // The renamed automation keeps its history: ann's tag came from `greet`.
    let detail = client.partner("gigakick", "ann").await.unwrap();
    let causes: Vec<&str> = detail
        .tag_history
        .iter()
        .map(|c| c.cause.as_str())
        .collect();
    assert_eq!(causes, ["greet"], "{:?}", detail.tag_history);

    assert!(plan::diff(&renamed(), &after).is_empty());
    let mut dropped = renamed();
    dropped.tags.iter_mut().for_each(|t| t.previously.clear());
    dropped
        .automations
        .iter_mut()
        .for_each(|a| a.previously.clear());
    let replan = plan::diff(&dropped, &after);
    assert!(replan.is_empty(), "{:?}", replan.changes);

    let exported = dir.path().join("exported");
    write_export(&after.config().unwrap(), &exported);
    let reloaded = partnerops::config::load(&exported).unwrap();
    assert!(plan::diff(&reloaded, &after).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Apply followed by plan is empty, from nothing and from another config.
    #[test]
    fn apply_then_plan_is_empty(first in support::arbitrary::config(), second in support::arbitrary::config()) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        rt.block_on(async {
            let engine = Engine::open(&dir.path().join("e.db")).await.unwrap();
            let live = applied(&engine, &first).await;
            prop_assert!(plan::diff(&first, &live).is_empty());
            // `previously` is a planning hint the engine does not keep.
            let stored = Config::from_resources(first.resources().map(|r| r.as_stored()));
            prop_assert_eq!(live.config(), stored);

            let mut second = second;
            second.program.key = first.program.key.clone();
            let live = applied(&engine, &second).await;
            let again = plan::diff(&second, &live);
            prop_assert!(again.is_empty(), "{:?}", again.changes);
            Ok(())
        })?;
    }

    /// What export writes plans to no changes.
    #[test]
    fn export_then_plan_is_empty(config in support::arbitrary::config()) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        rt.block_on(async {
            let engine = Engine::open(&dir.path().join("e.db")).await.unwrap();
            let live = applied(&engine, &config).await;
            let exported = dir.path().join("exported");
            write_export(&live.config().unwrap(), &exported);
            let reloaded = partnerops::config::load(&exported).unwrap();
            let replan = plan::diff(&reloaded, &live);
            prop_assert!(replan.is_empty(), "{:?}", replan.changes);
            Ok(())
        })?;
    }
}
