//! Adopting partnerops in a repository of one's own, as a new user does it:
//! `init`, `fmt`, `show`, `plan --target`, `history show`, `export
//! --revision`, `validate --format`, completions and the man page, `--color`,
//! and which commands take the engine options.

mod support;

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use support::cli::{Session, code, git, stderr, stdout};
use support::server::TestServer;

/// The built binary, as `cargo install --path .` would install it, run in
/// `dir` with nothing of partnerops in its environment.
fn partnerops(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("partnerops")
        .unwrap()
        .current_dir(dir)
        .env_remove("PARTNEROPS_ENGINE")
        .env_remove("PARTNEROPS_TOKEN")
        .env_remove("PARTNEROPS_DB")
        .env_remove("PARTNEROPS_PROGRAM")
        .env_remove("NO_COLOR")
        .env("PARTNEROPS_AUTHOR", "New User <new@example.com>")
        .args(args)
        .output()
        .unwrap()
}

fn append(path: &Path, text: &str) {
    let mut current = std::fs::read_to_string(path).unwrap();
    current.push_str(text);
    std::fs::write(path, current).unwrap();
}

/// The flow the README's quick start promises: a new git repository, `init`,
/// an edit, then validate, plan and apply with the built binary; the engine's
/// database stays out of git.
#[test]
fn a_new_repository_from_init_to_apply() {
    let repo = tempfile::Builder::new()
        .prefix("acme-partners")
        .tempdir()
        .unwrap();
    let root = repo.path();
    git(root, &["init", "-q"]);

    let init = partnerops(root, &["init", "program"]);
    assert_eq!(code(&init), 0, "{}", stderr(&init));
    let program = root.join("program");
    for file in ["program.yaml", "tags.yaml", "automations.yaml"] {
        let text = std::fs::read_to_string(program.join(file)).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=partnerops.schema.json\n"),
            "{file}: {text}"
        );
    }
    // The modeline's schema is in the repository, and is this partnerops's.
    assert_eq!(
        std::fs::read_to_string(program.join("partnerops.schema.json")).unwrap(),
        stdout(&partnerops(root, &["schema"]))
    );
    let gitignore = std::fs::read_to_string(root.join(".gitignore")).unwrap();
    assert!(
        gitignore.lines().any(|l| l == ".partnerops/"),
        "{gitignore}"
    );
    // The key comes from the repository's name.
    let program_yaml = std::fs::read_to_string(program.join("program.yaml")).unwrap();
    assert!(
        program_yaml.contains("key: \"acme-partners"),
        "{program_yaml}"
    );

    // A second init refuses to overwrite.
    let again = partnerops(root, &["init", "program"]);
    assert_eq!(code(&again), 1);
    assert!(stderr(&again).contains("already holds YAML files"));

    // Edit: a gold tier.
    append(
        &program.join("tags.yaml"),
        "  - key: gold\n    description: 1000 USD of referred revenue\n",
    );
    append(
        &program.join("automations.yaml"),
        "  - key: gold-tier\n    when: { milestone: { metric: revenue, at_least: 1000 } }\n    then:\n      - add_tag: gold\n",
    );
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "A program with a gold tier"]);

    let valid = partnerops(root, &["validate", "program"]);
    assert_eq!(code(&valid), 0, "{}", stderr(&valid));
    assert!(
        stdout(&valid).contains("0 groups, 3 tags, 0 products, 3 automations"),
        "{}",
        stdout(&valid)
    );
    let plan = partnerops(root, &["plan", "program", "--exit-code"]);
    assert_eq!(code(&plan), 2, "{}", stderr(&plan));
    assert!(stdout(&plan).contains("Plan: 7 to create, 0 to update, 0 to delete."));
    let apply = partnerops(root, &["apply", "program", "--yes"]);
    assert_eq!(code(&apply), 0, "{}", stderr(&apply));
    let replan = partnerops(root, &["plan", "program", "--exit-code"]);
    assert_eq!(code(&replan), 0, "{}", stdout(&replan));

    // The engine's database is there, and git does not see it.
    assert!(root.join(".partnerops/engine.db").exists());
    assert_eq!(git(root, &["status", "--porcelain"]), "");
    git(root, &["check-ignore", "-q", ".partnerops/engine.db"]);
    // The changeset names the commit it came from.
    let head = git(root, &["rev-parse", "HEAD"]);
    let history = stdout(&partnerops(root, &["history", "show", "1"]));
    assert!(
        history.contains(&format!("Commit:  {}", head.trim())),
        "{history}"
    );
}

#[test]
fn init_keeps_an_existing_gitignore_and_refuses_a_bad_program() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".gitignore"), "target").unwrap();
    let out = partnerops(dir.path(), &["init", "cfg", "--key", "shop"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Not in a git checkout: the .gitignore goes with the config.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("cfg/.gitignore")).unwrap(),
        "# partnerops: the embedded engine's database (partner emails, token hashes)\n.partnerops/\n"
    );
    let out = partnerops(dir.path(), &["init", "x", "--timezone", "Mars/Olympus"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("Mars/Olympus"), "{}", stderr(&out));
    assert!(
        !dir.path().join("x/program.yaml").exists(),
        "nothing is left behind"
    );
}

#[test]
fn fmt_lays_out_keeps_comments_and_checks() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfg");
    std::fs::create_dir(&cfg).unwrap();
    let messy = "# yaml-language-server: $schema=x.json\nprogram:   { key: p,   name: 'P', currency: USD }\ntags:\n    -   key: gold    # the top tier\n        description:   Gold\n";
    std::fs::write(cfg.join("all.yaml"), messy).unwrap();

    let check = partnerops(dir.path(), &["fmt", "cfg", "--check"]);
    assert_eq!(code(&check), 1, "{}", stderr(&check));
    assert!(
        stdout(&check).contains("+  - key: gold # the top tier"),
        "{}",
        stdout(&check)
    );
    assert!(stderr(&check).contains("not formatted: cfg/all.yaml"));
    assert_eq!(
        std::fs::read_to_string(cfg.join("all.yaml")).unwrap(),
        messy,
        "--check changes nothing"
    );

    let fmt = partnerops(dir.path(), &["fmt", "cfg"]);
    assert_eq!(code(&fmt), 0, "{}", stderr(&fmt));
    let formatted = std::fs::read_to_string(cfg.join("all.yaml")).unwrap();
    assert_eq!(
        formatted,
        "# yaml-language-server: $schema=x.json\nprogram: { key: p, name: \"P\", currency: USD }\ntags:\n  - key: gold # the top tier\n    description: Gold\n"
    );
    assert_eq!(code(&partnerops(dir.path(), &["fmt", "cfg", "--check"])), 0);
    assert_eq!(code(&partnerops(dir.path(), &["validate", "cfg"])), 0);

    std::fs::write(cfg.join("broken.yaml"), "tags: [a,\n").unwrap();
    let broken = partnerops(dir.path(), &["fmt", "cfg"]);
    assert_eq!(code(&broken), 1);
    assert!(
        stderr(&broken).contains("cfg/broken.yaml:"),
        "{}",
        stderr(&broken)
    );
}

/// The examples are formatted, so `fmt --check` in CI starts green.
#[test]
fn the_examples_are_formatted() {
    for example in ["examples/gigakick", "examples/partnero-playbook"] {
        let out = partnerops(Path::new("."), &["fmt", example, "--check"]);
        assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    }
}

/// A plan with a create, an update and a delete, saved: what `show` prints.
fn saved_plan(s: &Session) -> String {
    let config = s.path("config");
    std::fs::create_dir_all(&config).unwrap();
    let program = "program: { key: shop, name: Shop, currency: USD }\n";
    std::fs::write(
        config.join("shop.yaml"),
        format!(
            "{program}tags:\n  - {{ key: gold, description: Top tier }}\n  - {{ key: silver }}\n  - {{ key: dormant }}\nautomations:\n  - {{ key: gold-tier, when: {{ milestone: {{ metric: revenue, at_least: 1000 }} }}, then: [ {{ add_tag: gold }} ] }}\n"
        ),
    )
    .unwrap();
    assert_eq!(code(&s.run(&["apply", "config", "--yes"])), 0);
    std::fs::write(
        config.join("shop.yaml"),
        format!(
            "{program}tags:\n  - {{ key: gold, description: The top tier }}\n  - {{ key: silver }}\nautomations:\n  - {{ key: gold-tier, when: {{ milestone: {{ metric: revenue, at_least: 1500 }} }}, then: [ {{ add_tag: gold }} ] }}\n  - {{ key: silver-tier, when: {{ milestone: {{ metric: revenue, at_least: 500 }} }}, then: [ {{ add_tag: silver }} ] }}\n"
        ),
    )
    .unwrap();
    let out = s.run(&["plan", "config", "--out", "plan.json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    "plan.json".to_owned()
}

#[test]
fn show_prints_a_saved_plan_without_an_engine() {
    let s = Session::embedded();
    let plan = saved_plan(&s);
    // The time it was made is the one line that changes from run to run.
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.path(&plan)).unwrap()).unwrap();
    let made = chrono::DateTime::parse_from_rfc3339(saved["created_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let text = s.run(&["show", &plan]);
    assert_eq!(code(&text), 0, "{}", stderr(&text));
    insta::assert_snapshot!("show_text", stdout(&text).replace(&made, "[TIME]"));
    let markdown = s.run(&["show", &plan, "--format", "markdown"]);
    assert_eq!(code(&markdown), 0);
    insta::assert_snapshot!("show_markdown", stdout(&markdown));
    let json = s.run(&["show", &plan, "--format", "json"]);
    assert_eq!(
        stdout(&json),
        std::fs::read_to_string(s.path(&plan)).unwrap()
    );

    // `plan` of a saved plan points at show.
    let wrong = s.run(&["plan", &plan]);
    assert_eq!(code(&wrong), 1);
    assert!(
        stderr(&wrong).contains("print it with `partnerops show plan.json`"),
        "{}",
        stderr(&wrong)
    );
    // `show` of a config points at plan.
    let wrong = s.run(&["show", "config"]);
    assert_eq!(code(&wrong), 1);
    assert!(stderr(&wrong).contains("run `partnerops plan config`"));
}

#[test]
fn a_targeted_plan_holds_the_target_and_what_it_needs() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    let config = config.to_str().unwrap();
    let out = s.run(&[
        "plan",
        config,
        "--target",
        "automation/gold-tier",
        "--out",
        "gold.json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Targeted plan: only automation/gold-tier and what it needs"),
        "{text}"
    );
    let titles: Vec<&str> = text.lines().filter(|l| l.starts_with("  + ")).collect();
    assert_eq!(
        titles,
        [
            "  + program gigakick",
            "  + tag gold",
            "  + webhook crm",
            "  + automation gold-tier"
        ],
        "{text}"
    );
    assert!(text.contains("Plan: 4 to create, 0 to update, 0 to delete."));
    assert_eq!(code(&s.run(&["apply", "gold.json", "--yes"])), 0);
    // The rest is left for the next plan.
    let rest = s.run(&["plan", config]);
    assert!(
        stdout(&rest).contains("Plan: 24 to create"),
        "{}",
        stdout(&rest)
    );
    assert_eq!(code(&s.run(&["apply", config, "--yes"])), 0);

    // Deleting a tag takes along the change to what used it.
    let path = Path::new(config).join("automations.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            "then: [ { add_tag: earning } ]",
            "then: [ { add_tag: converter } ]",
        )
        .replace(
            "  - { key: earning, description: Has earned a commission }\n",
            "",
        )
        .replace("name: Gold Tier", "name: Gold"),
    )
    .unwrap();
    let out = s.run(&["plan", config, "--target", "tag/earning"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("~ automation first-earnings"), "{text}");
    assert!(text.contains("- tag earning"), "{text}");
    assert!(!text.contains("gold-tier"), "{text}");

    let unknown = s.run(&["plan", config, "--target", "tag/gld"]);
    assert_eq!(code(&unknown), 1);
    assert!(
        stderr(&unknown).contains(
            "neither the config nor the engine holds tag `gld` (did you mean `tag/gold`?)"
        ),
        "{}",
        stderr(&unknown)
    );
    let bad = s.run(&["plan", config, "--target", "gold"]);
    assert_eq!(code(&bad), 1);
    assert!(stderr(&bad).contains("is not KIND/KEY"), "{}", stderr(&bad));
}

/// `history show` and `export --revision`, the same against both engines.
fn history_and_revisions(s: &Session) {
    let config = s.config("examples/gigakick");
    let config = config.to_str().unwrap();
    assert_eq!(code(&s.run(&["apply", config, "--yes", "-m", "first"])), 0);
    let path = Path::new(config).join("automations.yaml");
    let before = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        before.replace("at_least: 1000 }", "at_least: 1500 }"),
    )
    .unwrap();
    assert_eq!(
        code(&s.run(&["apply", config, "--yes", "-m", "raise gold"])),
        0
    );

    let shown = s.run(&["history", "show", "2"]);
    assert_eq!(code(&shown), 0, "{}", stderr(&shown));
    let text = stdout(&shown);
    assert!(
        text.starts_with("Revision 2 of program gigakick, from revision 1\n"),
        "{text}"
    );
    assert!(text.contains("    raise gold\n"), "{text}");
    assert!(text.contains("  ~ automation gold-tier\n"), "{text}");
    assert!(
        text.contains("      -     at_least: 1000\n      +     at_least: 1500\n"),
        "{text}"
    );
    assert!(text.contains("0 created, 1 updated, 0 deleted."), "{text}");
    let json = s.run(&["history", "show", "2", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(json["revision"], 2);
    assert_eq!(json["changes"].as_array().unwrap().len(), 1);

    // Revision 1's config, exported, plans back to what revision 1 held.
    let exported = s.run(&["export", "--revision", "1", "--out", "rev1"]);
    assert_eq!(code(&exported), 0, "{}", stderr(&exported));
    let yaml = std::fs::read_to_string(s.path("rev1/automations.yaml")).unwrap();
    assert!(yaml.starts_with("# Exported by partnerops from revision 1 of program gigakick."));
    let back = s.run(&["plan", "rev1"]);
    assert!(
        stdout(&back).contains("Plan: 0 to create, 1 to update, 0 to delete."),
        "{}",
        stdout(&back)
    );
    // The current revision replays to what the engine holds.
    assert_eq!(
        code(&s.run(&["export", "--revision", "2", "--out", "rev2"])),
        0
    );
    assert_eq!(code(&s.run(&["plan", "rev2", "--exit-code"])), 0);

    let future = s.run(&["export", "--revision", "9"]);
    assert_eq!(code(&future), 1);
    assert!(
        stderr(&future).contains("is at revision 2; it has no revision 9 yet"),
        "{}",
        stderr(&future)
    );
    let none = s.run(&["history", "show", "9"]);
    assert_eq!(code(&none), 1);
}

#[test]
fn history_show_and_export_revision_embedded() {
    history_and_revisions(&Session::embedded());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_show_and_export_revision_over_http() {
    let mut server = TestServer::start().await;
    let s = Session::http(&server);
    tokio::task::spawn_blocking(move || history_and_revisions(&s))
        .await
        .unwrap();
    server.stop().await;
}

#[test]
fn validate_annotates_for_github_and_answers_json() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("program");
    std::fs::create_dir(&cfg).unwrap();
    std::fs::write(
        cfg.join("p.yaml"),
        "program: { key: p, name: P, currency: USD }\ntags: [ { key: gold } ]\nautomations:\n  - key: a\n    when: partner_joined\n    then: [ { add_tag: gld } ]\n",
    )
    .unwrap();
    let github = partnerops(dir.path(), &["validate", "program", "--format", "github"]);
    assert_eq!(code(&github), 1);
    assert_eq!(
        stdout(&github),
        "::error file=program/p.yaml,line=6,col=24,title=partnerops validate::tag `gld` is not declared; add it under `tags:`%0Ahelp: did you mean `gold`?\n"
    );
    assert!(
        stderr(&github).contains("program: 1 error\n"),
        "{}",
        stderr(&github)
    );

    let json = partnerops(dir.path(), &["validate", "program", "--format", "json"]);
    assert_eq!(code(&json), 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["errors"][0]["line"], 6);
    assert_eq!(doc["errors"][0]["help"], "did you mean `gold`?");

    let ok = partnerops(
        Path::new("."),
        &["validate", "examples/gigakick", "--format", "json"],
    );
    assert_eq!(code(&ok), 0);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&ok)).unwrap();
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["program"], "gigakick");
}

#[test]
fn completions_and_the_manual() {
    let bash = partnerops(Path::new("."), &["completions", "bash"]);
    assert_eq!(code(&bash), 0);
    let script = stdout(&bash);
    // The script is bash that parses (from a file: as one argument it
    // outgrows the kernel's 128 KiB limit on a single argument).
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &script).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    insta::assert_snapshot!("completions_bash", script);
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = partnerops(Path::new("."), &["completions", shell]);
        assert_eq!(code(&out), 0, "{shell}");
        assert!(stdout(&out).contains("partnerops"), "{shell}");
    }

    let man = partnerops(Path::new("."), &["man"]);
    assert_eq!(code(&man), 0);
    assert!(
        stdout(&man).starts_with(".ie \\n(.g .ds Aq \\(aq")
            || stdout(&man).contains(".TH partnerops 1")
    );
    let dir = tempfile::tempdir().unwrap();
    let out = partnerops(dir.path(), &["man", "--out", "man"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for page in [
        "partnerops.1",
        "partnerops-plan.1",
        "partnerops-history-show.1",
    ] {
        assert!(dir.path().join("man").join(page).exists(), "{page}");
    }
    let plan_page = std::fs::read_to_string(dir.path().join("man/partnerops-plan.1")).unwrap();
    assert!(plan_page.contains("\\-\\-target"), "{plan_page}");
}

/// Only the commands that reach an engine list and take its options; they
/// take them before or after the command's name.
#[test]
fn engine_options_belong_to_the_commands_that_reach_an_engine() {
    let here = Path::new(".");
    for command in [
        "validate",
        "schema",
        "openapi",
        "init",
        "fmt",
        "show",
        "completions",
        "man",
    ] {
        let help = stdout(&partnerops(here, &[command, "--help"]));
        for flag in ["--engine", "--db", "--program", "--token"] {
            assert!(
                !help.contains(flag),
                "{command} --help lists {flag}:\n{help}"
            );
        }
    }
    for command in ["plan", "apply", "history", "events", "explain", "token"] {
        let help = stdout(&partnerops(here, &[command, "--help"]));
        assert!(help.contains("Engine options:"), "{command}:\n{help}");
        assert!(help.contains("--engine <URL>"), "{command}:\n{help}");
    }
    let serve = stdout(&partnerops(here, &["serve", "--help"]));
    assert!(
        serve.contains("--db <PATH>") && !serve.contains("--engine"),
        "{serve}"
    );

    let after = partnerops(here, &["validate", "examples/gigakick", "--db", "x.db"]);
    assert_eq!(code(&after), 1);
    assert!(
        stderr(&after).contains("unexpected argument '--db'"),
        "{}",
        stderr(&after)
    );
    let before = partnerops(here, &["--db", "x.db", "validate", "examples/gigakick"]);
    assert_eq!(code(&before), 1);
    assert!(
        stderr(&before).contains("`validate` does not reach an engine through --db"),
        "{}",
        stderr(&before)
    );

    // Before, after, and before a nested command.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let db = db.to_str().unwrap();
    assert_eq!(
        code(&partnerops(
            here,
            &["apply", "examples/gigakick", "--yes", "--db", db]
        )),
        0
    );
    let history = partnerops(here, &["--db", db, "history", "show", "1"]);
    assert_eq!(code(&history), 0, "{}", stderr(&history));
    let history = partnerops(here, &["history", "--db", db, "show", "1"]);
    assert_eq!(code(&history), 0, "{}", stderr(&history));
    let events = partnerops(
        here,
        &[
            "events",
            "--db",
            db,
            "send",
            "examples/gigakick/events.ndjson",
        ],
    );
    assert_eq!(code(&events), 0, "{}", stderr(&events));
    assert!(
        stderr(&events)
            .contains("101 events to program gigakick: 101 accepted, 0 duplicates, 0 rejected.\n"),
        "{}",
        stderr(&events)
    );

    // explain KEY is explain transaction KEY.
    let short = partnerops(here, &["explain", "txn-0021", "--db", db]);
    assert_eq!(code(&short), 0, "{}", stderr(&short));
    let long = partnerops(here, &["--db", db, "explain", "transaction", "txn-0021"]);
    assert_eq!(stdout(&short), stdout(&long));
    assert!(stdout(&short).starts_with("transaction txn-0021:"));
}

#[test]
fn color_is_asked_for_or_refused_on_the_command_line() {
    let s = Session::embedded();
    s.config("examples/gigakick");
    let plain = s.run(&["plan", "config"]);
    assert!(
        !stdout(&plain).contains('\x1b'),
        "not a terminal: no colour"
    );
    let always = s.run(&["plan", "config", "--color", "always"]);
    assert!(stdout(&always).contains("\x1b[32m+"), "{}", stdout(&always));
    // --color always is the user's word on this command: it beats NO_COLOR.
    let both = s.run_env(&[("NO_COLOR", "1")], &["--color=always", "plan", "config"]);
    assert!(stdout(&both).contains('\x1b'));
    let never = s.run(&["plan", "config", "--color", "never"]);
    assert!(!stdout(&never).contains('\x1b'));
}

#[test]
fn counts_read_in_the_singular_for_one() {
    let s = Session::embedded();
    s.config("examples/gigakick");
    assert_eq!(code(&s.run(&["apply", "config", "--yes"])), 0);
    std::fs::write(
        s.path("one.ndjson"),
        "{\"id\":\"e1\",\"type\":\"partner.joined\",\"at\":\"2026-01-01T00:00:00Z\",\"partner\":{\"key\":\"solo\"}}\n",
    )
    .unwrap();
    let sent = s.run(&["events", "send", "one.ndjson"]);
    assert!(
        stderr(&sent).ends_with(
            "one.ndjson: 1 event to program gigakick: 1 accepted, 0 duplicates, 0 rejected.\n"
        ),
        "{}",
        stderr(&sent)
    );
    let again = s.run(&["events", "send", "one.ndjson"]);
    assert!(
        stderr(&again).contains("0 accepted, 1 duplicate, 0 rejected."),
        "{}",
        stderr(&again)
    );
    let partners = s.run(&["partners"]);
    assert!(
        stderr(&partners).ends_with("1 partner\n"),
        "{}",
        stderr(&partners)
    );
    let sweep = s.run(&["sweep", "--now", "2026-01-02T00:00:00Z"]);
    assert!(
        stdout(&sweep).contains(": 0 partners with a check due, 0 fired, 0 tag changes"),
        "{}",
        stdout(&sweep)
    );

    // A backfill that fires for the one partner there is.
    append(
        &s.path("config/automations.yaml"),
        "\n  - key: hello\n    when: partner_joined\n    then: [ { add_tag: earning } ]\n    backfill: true\n",
    );
    let applied = s.run(&["apply", "config", "--yes"]);
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    assert!(
        stderr(&applied)
            .contains("Backfill: automations fired 1 time for partners already past them."),
        "{}",
        stderr(&applied)
    );
}
