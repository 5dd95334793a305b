//! apply as a user runs it: saved plans, guards and refusals, confirmation,
//! and what the changeset records.

mod support;

use std::path::Path;

use support::cli::{Engine, Session, code, commit_all, git, stderr, stdout};
use support::server::TestServer;

fn history(s: &Session) -> Vec<serde_json::Value> {
    let out = s.run(&["history", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn apply_without_a_terminal_needs_yes_and_touches_nothing() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    let out = s.run(&["apply", config.to_str().unwrap()]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("apply needs --yes"));
    assert!(stderr(&out).contains("Nothing was changed."));
    let Engine::Embedded(db) = &s.engine else {
        unreachable!()
    };
    assert!(
        !db.exists() && !db.parent().unwrap().exists(),
        "the refused apply created the engine's database"
    );
}

#[test]
fn a_stale_saved_plan_is_refused() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    let config = config.to_str().unwrap();
    assert_eq!(code(&s.run(&["plan", config, "--out", "plan.json"])), 0);
    // Someone applies first.
    assert_eq!(code(&s.run(&["apply", config, "--yes"])), 0);
    let stale = s.run(&["apply", "plan.json", "--yes"]);
    assert_eq!(code(&stale), 3, "{}", stderr(&stale));
    assert!(stderr(&stale).contains("stale plan"), "{}", stderr(&stale));
    assert_eq!(history(&s).len(), 1);

    // A saved plan of no changes is stale too once the engine moves.
    assert_eq!(code(&s.run(&["plan", config, "--out", "none.json"])), 0);
    assert_eq!(code(&s.run(&["apply", "none.json", "--yes"])), 0);
    let edited = s.path("edited");
    support::cli::copy_dir(Path::new(config), &edited);
    let tags = edited.join("automations.yaml");
    let text = std::fs::read_to_string(&tags).unwrap();
    std::fs::write(&tags, text.replacen("1000 USD", "2000 USD", 1)).unwrap();
    assert_eq!(
        code(&s.run(&["apply", edited.to_str().unwrap(), "--yes"])),
        0
    );
    let stale = s.run(&["apply", "none.json", "--yes"]);
    assert_eq!(code(&stale), 3, "{}", stderr(&stale));
    assert!(stderr(&stale).contains("stale plan"), "{}", stderr(&stale));
}

/// What `plan --out` tells the user to run works whatever the file is called;
/// YAML is still YAML whatever it is called.
#[test]
fn a_saved_plan_is_recognised_by_content_not_name() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    let config = config.to_str().unwrap();
    let saved = s.run(&["plan", config, "--out", "p1.plan"]);
    assert!(
        stderr(&saved).contains("apply it with `partnerops apply p1.plan`"),
        "{}",
        stderr(&saved)
    );
    let applied = s.run(&["apply", "p1.plan", "--yes"]);
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    assert!(stderr(&applied).contains("is at revision 1 (28 created"));

    // A single YAML config file named .json is planned as config.
    let single = s.run(&["export"]);
    std::fs::write(s.path("config.json"), stdout(&single)).unwrap();
    let as_config = s.run(&["apply", "config.json", "--yes"]);
    assert_eq!(code(&as_config), 0, "{}", stderr(&as_config));
    assert!(
        stdout(&as_config).starts_with("No changes."),
        "{}",
        stdout(&as_config)
    );
}

#[test]
fn a_broken_saved_plan_is_named_not_read_as_yaml() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    assert_eq!(
        code(&s.run(&["plan", config.to_str().unwrap(), "--out", "p.plan"])),
        0
    );
    let text = std::fs::read_to_string(s.path("p.plan")).unwrap();

    std::fs::write(s.path("cut.plan"), &text[..text.len() / 2]).unwrap();
    let cut = s.run(&["apply", "cut.plan", "--yes"]);
    assert_eq!(code(&cut), 1);
    assert!(
        stderr(&cut).contains("cut.plan looks like a saved plan but is not valid JSON"),
        "{}",
        stderr(&cut)
    );

    let mut plan: serde_json::Value = serde_json::from_str(&text).unwrap();
    plan["changes"][0]["action"] = "rename".into();
    std::fs::write(s.path("edited.plan"), plan.to_string()).unwrap();
    let edited = s.run(&["apply", "edited.plan", "--yes"]);
    assert_eq!(code(&edited), 1);
    assert!(
        stderr(&edited).contains(
            "edited.plan looks like a saved plan (it has format_version) but is not a valid one"
        ),
        "{}",
        stderr(&edited)
    );
    assert!(!matches!(&s.engine, Engine::Embedded(db) if db.exists()));
}

#[test]
fn mass_deletes_need_force_and_force_says_it_overrode() {
    let s = Session::embedded();
    let config = s.config("examples/partnero-playbook");
    let config = config.to_str().unwrap();
    assert_eq!(code(&s.run(&["apply", config, "--yes"])), 0);
    std::fs::remove_file(Path::new(config).join("re-engagement.yaml")).unwrap();
    std::fs::remove_file(Path::new(config).join("tiers.yaml")).unwrap();
    let plan = s.run(&["plan", config, "--exit-code"]);
    assert_eq!(code(&plan), 3, "{}", stdout(&plan));
    assert!(stdout(&plan).contains("Apply will refuse this plan"));
    let refused = s.run(&["apply", config, "--yes"]);
    assert_eq!(code(&refused), 3, "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("deletes 14 of 27 automations (52%), more than 30%"),
        "{}",
        stderr(&refused)
    );
    // A saved plan whose counts were edited away is counted again.
    assert_eq!(code(&s.run(&["plan", config, "--out", "mass.json"])), 0);
    let saved = s.path("mass.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    doc["existing"] = serde_json::json!({});
    doc["summary"] = serde_json::json!({"create": 0, "update": 0, "delete": 0});
    std::fs::write(&saved, doc.to_string()).unwrap();
    let edited = s.run(&["apply", "mass.json", "--yes"]);
    assert_eq!(code(&edited), 3, "{}", stderr(&edited));
    assert!(
        stderr(&edited).contains("deletes 14 of 27 automations"),
        "{}",
        stderr(&edited)
    );
    assert!(
        stdout(&edited).contains("14 to delete"),
        "{}",
        stdout(&edited)
    );
    let forced = s.run(&["apply", config, "--yes", "--force"]);
    assert_eq!(code(&forced), 0, "{}", stderr(&forced));
    let shown = stdout(&forced);
    assert!(!shown.contains("Apply will refuse"), "{shown}");
    assert!(
        shown.contains(
            "Guards overridden by --force:\n  - the plan deletes 14 of 27 automations (52%), more than 30%\n"
        ),
        "{shown}"
    );
    assert_eq!(code(&s.run(&["plan", config, "--exit-code"])), 0);
}

/// Customers can come to hold a product after the plan that deletes it was
/// saved: the engine refuses, and that is a safety refusal (exit 3) too.
fn engine_refuses_deleting_a_held_product(s: &Session) {
    let config = s.config("examples/gigakick");
    let products = config.join("products.yaml");
    let original = std::fs::read_to_string(&products).unwrap();
    std::fs::write(
        &products,
        format!("{original}  - {{ key: legacy, name: Legacy }}\n"),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    assert_eq!(code(&s.run(&["apply", config, "--yes"])), 0);
    std::fs::write(&products, &original).unwrap();
    let saved = s.run(&["plan", config, "--out", "plan.json", "--exit-code"]);
    assert_eq!(code(&saved), 2, "{}", stderr(&saved));

    std::fs::write(
        s.path("events.ndjson"),
        r#"{"id":"e1","type":"customer_product.upserted","at":"2026-06-12T10:00:00Z","customer":{"key":"acme"},"product":"legacy","status":"active","external_subscription_key":"sub_1"}"#,
    )
    .unwrap();
    let sent = s.run(&["events", "send", "events.ndjson"]);
    assert_eq!(code(&sent), 0, "{}", stderr(&sent));

    let refused = s.run(&["apply", "plan.json", "--yes"]);
    assert_eq!(code(&refused), 3, "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains(
            "product `legacy` is held by 1 customer: it cannot be deleted; archive it instead"
        ),
        "{}",
        stderr(&refused)
    );
    assert!(stderr(&refused).contains("Nothing was changed."));
    assert_eq!(history(s).len(), 1);
}

#[test]
fn engine_refuses_deleting_a_held_product_embedded() {
    engine_refuses_deleting_a_held_product(&Session::embedded());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_refuses_deleting_a_held_product_over_http() {
    let mut server = TestServer::start().await;
    let s = Session::http(&server);
    tokio::task::spawn_blocking(move || engine_refuses_deleting_a_held_product(&s))
        .await
        .unwrap();
    server.stop().await;
}

/// Acting on one program while `--program` names another is an error.
#[test]
fn a_program_other_than_the_configs_is_an_error() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    let config = config.to_str().unwrap();
    let expected =
        "--program (or PARTNEROPS_PROGRAM) is `other` but the config is for program `gigakick`";
    for args in [
        &["plan", config, "--program", "other"][..],
        &["apply", config, "--yes", "--program", "other"][..],
    ] {
        let out = s.run(args);
        assert_eq!(code(&out), 1, "{args:?}");
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
    assert_eq!(code(&s.run(&["plan", config, "--out", "plan.json"])), 0);
    let from_env = s.run_env(
        &[("PARTNEROPS_PROGRAM", "other")],
        &["apply", "plan.json", "--yes"],
    );
    assert_eq!(code(&from_env), 1);
    assert!(
        stderr(&from_env).contains("is `other` but the saved plan is for program `gigakick`"),
        "{}",
        stderr(&from_env)
    );
    assert!(history_is_empty(&s));

    let same = s.run(&["apply", config, "--yes", "--program", "gigakick"]);
    assert_eq!(code(&same), 0, "{}", stderr(&same));
}

fn history_is_empty(s: &Session) -> bool {
    stderr(&s.run(&["history"])).contains("no program yet")
}

#[test]
fn history_records_the_git_commit_of_the_checkout() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    let head = commit_all(&config);
    let applied = s.run(&["apply", config.to_str().unwrap(), "--yes"]);
    assert_eq!(code(&applied), 0);
    assert!(
        !stderr(&applied).contains("uncommitted"),
        "{}",
        stderr(&applied)
    );
    assert_eq!(history(&s)[0]["git_commit"], head.as_str());
}

/// A plan carries the commit of the config it was made from, wherever the
/// plan file is later kept.
#[test]
fn a_saved_plan_records_the_commit_it_was_planned_at() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    let planned_at = commit_all(&config);
    let elsewhere = s.path("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("README"), "another checkout\n").unwrap();
    let other_head = commit_all(&elsewhere);
    assert_ne!(planned_at, other_head);
    let saved = s.run(&[
        "plan",
        config.to_str().unwrap(),
        "--out",
        "elsewhere/plan.json",
    ]);
    assert_eq!(code(&saved), 0, "{}", stderr(&saved));
    assert_eq!(code(&s.run(&["apply", "elsewhere/plan.json", "--yes"])), 0);
    assert_eq!(history(&s)[0]["git_commit"], planned_at.as_str());
}

#[test]
fn uncommitted_config_changes_are_warned_about() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    let head = commit_all(&config);
    std::fs::write(config.join("extra.yaml"), "tags:\n  - { key: extra }\n").unwrap();
    let applied = s.run(&["apply", config.to_str().unwrap(), "--yes"]);
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    assert!(
        stderr(&applied).contains(&format!(
            "has uncommitted changes; the plan records commit {head}, which does not hold them"
        )),
        "{}",
        stderr(&applied)
    );
    assert_eq!(history(&s)[0]["git_commit"], head.as_str());
    // Committed, the warning goes.
    git(&config, &["add", "."]);
    git(&config, &["commit", "-qm", "extra"]);
    let clean = s.run(&["plan", config.to_str().unwrap()]);
    assert!(
        !stderr(&clean).contains("uncommitted"),
        "{}",
        stderr(&clean)
    );
}
