//! plan, apply, export and history as a user runs them, against the embedded
//! engine and against a real server on loopback.

mod support;

use std::path::Path;

use support::cli::{Engine, Session, code, stderr, stdout};
use support::server::TestServer;

/// The whole flow, the same against both engines.
fn plan_apply_export_history(s: &Session) {
    let config = s.config("examples/gigakick");
    let config = config.to_str().unwrap();

    let first = s.run(&["plan", config, "--exit-code"]);
    assert_eq!(code(&first), 2, "{}", stderr(&first));
    assert!(stdout(&first).contains("Plan: 28 to create, 0 to update, 0 to delete."));

    let applied = s.run(&["apply", config, "--yes", "--message", "first import"]);
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    assert!(stderr(&applied).contains("is at revision 1 (28 created, 0 updated, 0 deleted)"));

    let again = s.run(&["plan", config, "--exit-code"]);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert!(stdout(&again).starts_with("No changes."));

    // Change the config; save the plan; apply exactly that file.
    let automations = Path::new(config).join("automations.yaml");
    let text = std::fs::read_to_string(&automations).unwrap();
    std::fs::write(
        &automations,
        text.replace("at_least: 1000 }", "at_least: 1500 }"),
    )
    .unwrap();
    let saved = s.run(&["plan", config, "--out", "plan.json", "--format", "json"]);
    assert_eq!(code(&saved), 0, "{}", stderr(&saved));
    let json: serde_json::Value = serde_json::from_str(&stdout(&saved)).unwrap();
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["base_revision"], 1);
    assert_eq!(json["summary"]["update"], 1);
    let from_file = s.run(&["apply", "plan.json", "--yes"]);
    assert_eq!(code(&from_file), 0, "{}", stderr(&from_file));
    assert!(stdout(&from_file).contains("~ automation gold-tier"));
    assert_eq!(code(&s.run(&["plan", config, "--exit-code"])), 0);

    let history = s.run(&["history", "--format", "json"]);
    assert_eq!(code(&history), 0, "{}", stderr(&history));
    let history: serde_json::Value = serde_json::from_str(&stdout(&history)).unwrap();
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["message"], "first import");
    assert_eq!(history[0]["author"], "Test Author <test@example.com>");
    assert_eq!(history[0]["summary"]["update"], 1);
    let text_history = stdout(&s.run(&["history"]));
    assert!(
        text_history.contains("+28 ~0 -0") && text_history.contains("first import"),
        "{text_history}"
    );

    // Export, validate, plan: no changes.
    let exported = s.run(&["export", "--out", "exported"]);
    assert_eq!(code(&exported), 0, "{}", stderr(&exported));
    let valid = s.run(&["validate", "exported"]);
    assert_eq!(code(&valid), 0, "{}", stderr(&valid));
    let replan = s.run(&["plan", "exported", "--exit-code"]);
    assert_eq!(code(&replan), 0, "{}{}", stdout(&replan), stderr(&replan));
    let refused = s.run(&["export", "--out", "exported"]);
    assert_eq!(
        code(&refused),
        1,
        "export does not mix into a directory of YAML"
    );
    let single = s.run(&["export"]);
    assert!(stdout(&single).contains("program:\n  key: gigakick"));
}

#[test]
fn plan_apply_export_history_embedded() {
    plan_apply_export_history(&Session::embedded());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_apply_export_history_over_http() {
    let mut server = TestServer::start().await;
    let s = Session::http(&server);
    tokio::task::spawn_blocking(move || plan_apply_export_history(&s))
        .await
        .unwrap();
    server.stop().await;
}

/// Name, size and hash of the database and its WAL. The `-shm` wal-index is
/// left out (readers mark it; it holds no data), and so is an empty WAL, which
/// a reader of a WAL database creates when the last writer removed it.
fn files_state(dir: &Path) -> Vec<(String, usize, u64)> {
    use std::hash::{Hash, Hasher};
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with("-shm"))
        .filter(|p| {
            !(p.to_string_lossy().ends_with("-wal") && p.metadata().is_ok_and(|m| m.len() == 0))
        })
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                bytes.len(),
                h.finish(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn plan_never_writes_to_the_embedded_engine() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    let config = config.to_str().unwrap();
    let Engine::Embedded(db) = s.engine.clone() else {
        unreachable!()
    };

    // No engine yet: plan reads it as empty and does not create it.
    assert_eq!(code(&s.run(&["plan", config, "--exit-code"])), 2);
    assert!(!db.exists() && !db.parent().unwrap().exists());

    assert_eq!(code(&s.run(&["apply", config, "--yes"])), 0);
    let automations = Path::new(config).join("automations.yaml");
    let text = std::fs::read_to_string(&automations).unwrap();
    std::fs::write(
        &automations,
        text.replace("at_least: 1000 }", "at_least: 5 }"),
    )
    .unwrap();
    let before = files_state(db.parent().unwrap());
    let planned = s.run(&["plan", config, "--exit-code"]);
    assert_eq!(code(&planned), 2, "{}", stderr(&planned));
    assert_eq!(
        files_state(db.parent().unwrap()),
        before,
        "plan changed the engine's files"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_sends_no_write_request() {
    let mut server = TestServer::start().await;
    let s = Session::http(&server);
    let requests = server.requests.clone();
    tokio::task::spawn_blocking(move || {
        let config = s.config("examples/gigakick");
        let config = config.to_str().unwrap();
        assert_eq!(code(&s.run(&["apply", config, "--yes"])), 0);
        // Something to plan that needs the engine's counts too: a deleted tag
        // and a backfill.
        let automations = Path::new(config).join("automations.yaml");
        let text = std::fs::read_to_string(&automations).unwrap();
        let text = text
            .replace(
                "  - { key: dormant, description: No activity for 30 days }\n",
                "",
            )
            .replace(
                "then: [ { add_tag: dormant } ]",
                "then: [ { add_tag: gold } ]",
            )
            .replace("at_least: 1000 }", "at_least: 1200 }");
        std::fs::write(&automations, text).unwrap();
        requests.lock().unwrap().clear();
        for format in ["text", "json", "markdown"] {
            let planned = s.run(&["plan", config, "--format", format, "--exit-code"]);
            assert_eq!(code(&planned), 2, "{}", stderr(&planned));
        }
    })
    .await
    .unwrap();
    let seen = server.requests.lock().unwrap().clone();
    assert!(
        seen.iter().any(|(_, path)| path.ends_with("/impact")),
        "{seen:?}"
    );
    // The POSTs a reader sends are the read-only impact and what-if queries.
    assert!(
        seen.iter().all(|(method, path)| method == "GET"
            || (method == "POST" && (path.ends_with("/impact") || path.ends_with("/what-if")))),
        "plan sent a write: {seen:?}"
    );
    server.stop().await;
}

#[test]
fn bad_config_stops_plan_with_diagnostics() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    std::fs::write(config.join("bad.yaml"), "tags:\n  - { key: gold }\n").unwrap();
    let out = s.run(&["plan", config.to_str().unwrap(), "--exit-code"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("bad.yaml:2:12: duplicate tag key `gold`"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

/// Colour only on a terminal, and never with NO_COLOR: run under `script`,
/// which gives the command a pseudo-terminal.
#[test]
fn plan_colours_only_a_terminal_without_no_color() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    let Engine::Embedded(db) = &s.engine else {
        unreachable!()
    };
    let bin = assert_cmd::cargo::cargo_bin("partnerops");
    let command = format!(
        "{} plan {} --db {}",
        bin.display(),
        config.display(),
        db.display()
    );
    let run = |no_color: bool| {
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &command, "/dev/null"]);
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned()
    };
    assert!(run(false).contains("\x1b[32m"), "a terminal gets colour");
    assert!(!run(true).contains("\x1b["), "NO_COLOR turns it off");
    assert!(
        !stdout(&s.run(&["plan", config.to_str().unwrap()])).contains("\x1b["),
        "a pipe gets none"
    );
}

/// The impact query of a large plan (here 500 backfills, each a whole
/// automation) goes over HTTP and its counts come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_with_a_large_impact_query_works_over_http() {
    let mut server = TestServer::start().await;
    let s = Session::http(&server);
    tokio::task::spawn_blocking(move || {
        let config = s.config("examples/gigakick");
        assert_eq!(code(&s.run(&["apply", config.to_str().unwrap(), "--yes"])), 0);
        std::fs::write(
            s.path("events.ndjson"),
            concat!(
                r#"{"id":"e1","type":"partner.joined","at":"2026-06-02T09:00:00Z","partner":{"key":"ann"}}"#,
                "\n",
                r#"{"id":"e2","type":"customer.signed_up","at":"2026-06-03T09:00:00Z","customer":{"key":"c1"},"partner":{"key":"ann"}}"#,
                "\n"
            ),
        )
        .unwrap();
        let sent = s.run(&["events", "send", "events.ndjson"]);
        assert_eq!(code(&sent), 0, "{}", stderr(&sent));

        let mut yaml = String::from("automations:\n");
        for i in 0..500 {
            yaml.push_str(&format!(
                "  - key: signup-milestone-{i:03}\n    name: A long enough name for automation number {i} of many\n    when: {{ milestone: {{ metric: signups, at_least: 1 }} }}\n    then: [ {{ add_tag: gold }} ]\n    backfill: true\n"
            ));
        }
        std::fs::write(config.join("many.yaml"), yaml).unwrap();
        let planned = s.run(&["plan", config.to_str().unwrap(), "--exit-code"]);
        assert_eq!(code(&planned), 2, "{}", stderr(&planned));
        let text = stdout(&planned);
        assert!(text.contains("Plan: 500 to create, 0 to update, 0 to delete."));
        assert_eq!(text.matches("(backfill fires for 1 partner)").count(), 500);
    })
    .await
    .unwrap();
    server.stop().await;
}
