//! plan, apply, export and history as a user runs them, against the embedded
//! engine and against a real server on loopback.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use support::server::TestServer;

/// Where the commands send their requests.
#[derive(Clone)]
enum Engine {
    Embedded(PathBuf),
    Http { url: String, token: String },
}

struct Session {
    engine: Engine,
    dir: tempfile::TempDir,
}

impl Session {
    fn embedded() -> Session {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state/engine.db");
        Session {
            engine: Engine::Embedded(db),
            dir,
        }
    }

    fn http(server: &TestServer) -> Session {
        Session {
            engine: Engine::Http {
                url: server.url.clone(),
                token: server.admin.clone(),
            },
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A copy of an example config in the session's directory.
    fn config(&self, example: &str) -> PathBuf {
        let to = self.path("config");
        copy_dir(Path::new(example), &to);
        to
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::cargo_bin("partnerops").unwrap();
        cmd.current_dir(self.dir.path())
            .env_remove("PARTNEROPS_ENGINE")
            .env_remove("PARTNEROPS_TOKEN")
            .env_remove("PARTNEROPS_DB")
            .env("PARTNEROPS_AUTHOR", "Test Author <test@example.com>")
            .args(args);
        match &self.engine {
            Engine::Embedded(db) => {
                cmd.arg("--db").arg(db);
            }
            Engine::Http { url, token } => {
                cmd.args(["--engine", url]).env("PARTNEROPS_TOKEN", token);
            }
        }
        cmd.output().unwrap()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

/// The whole flow, the same against both engines.
fn plan_apply_export_history(s: &Session) {
    let config = s.config("examples/gigakick");
    let config = config.to_str().unwrap();

    let first = s.run(&["plan", config, "--exit-code"]);
    assert_eq!(code(&first), 2, "{}", stderr(&first));
    assert!(stdout(&first).contains("Plan: 27 to create, 0 to update, 0 to delete."));

    let applied = s.run(&["apply", config, "--yes", "--message", "first import"]);
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    assert!(stderr(&applied).contains("is at revision 1 (27 created, 0 updated, 0 deleted)"));

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
        text_history.contains("+27 ~0 -0") && text_history.contains("first import"),
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
    // The one POST a reader sends is the read-only impact query.
    assert!(
        seen.iter().all(
            |(method, path)| method == "GET" || (method == "POST" && path.ends_with("/impact"))
        ),
        "plan sent a write: {seen:?}"
    );
    server.stop().await;
}

#[test]
fn apply_without_a_terminal_needs_yes() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    let out = s.run(&["apply", config.to_str().unwrap()]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("apply needs --yes"));
    let history = s.run(&["history"]);
    assert!(
        stderr(&history).contains("no program yet"),
        "nothing was applied: {}",
        stderr(&history)
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
    let history: serde_json::Value =
        serde_json::from_str(&stdout(&s.run(&["history", "--format", "json"]))).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 1);
}

#[test]
fn mass_deletes_need_force() {
    let s = Session::embedded();
    let config = s.config("examples/partnero-playbook");
    let config = config.to_str().unwrap();
    assert_eq!(code(&s.run(&["apply", config, "--yes"])), 0);
    // Remove the re-engagement automations: 7 of 27.
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
    let forced = s.run(&["apply", config, "--yes", "--force"]);
    assert_eq!(code(&forced), 0, "{}", stderr(&forced));
    assert_eq!(code(&s.run(&["plan", config, "--exit-code"])), 0);
}

#[test]
fn history_records_the_git_commit_of_the_checkout() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .current_dir(&config)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    git(&["init", "-q"]);
    git(&["-c", "user.name=T", "-c", "user.email=t@e", "add", "."]);
    git(&[
        "-c",
        "user.name=T",
        "-c",
        "user.email=t@e",
        "commit",
        "-qm",
        "config",
    ]);
    let head = git(&["rev-parse", "HEAD"]).trim().to_owned();
    assert_eq!(
        code(&s.run(&["apply", config.to_str().unwrap(), "--yes"])),
        0
    );
    let history: serde_json::Value =
        serde_json::from_str(&stdout(&s.run(&["history", "--format", "json"]))).unwrap();
    assert_eq!(history[0]["git_commit"], head.as_str());
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
