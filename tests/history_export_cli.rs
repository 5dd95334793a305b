//! history and export as a user runs them.

mod support;

use support::cli::{Session, code, copy_dir, stderr, stdout};

#[test]
fn the_history_table_keeps_one_line_per_changeset() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    let author = "Dana Longname-Of-The-Release-Team <dana.longname@release-team.example.com>";
    let message = "Import the program\n\nWith the four products from the seed\nand their triggers.";
    let applied = s.run_env(
        &[("PARTNEROPS_AUTHOR", author)],
        &["apply", config.to_str().unwrap(), "--yes", "-m", message],
    );
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));

    let text = stdout(&s.run(&["history"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one row: {text}");
    let header = lines[0];
    let row = lines[1];
    assert!(row.ends_with("  Import the program …"), "{row}");
    assert!(row.contains("  Dana Longname-Of-The-Re…  "), "{row}");
    // The author column is as wide as its header says.
    assert_eq!(
        header.find("MESSAGE").unwrap(),
        row.char_indices()
            .position(|(i, _)| row[i..].starts_with("Import"))
            .unwrap()
    );

    let json: serde_json::Value =
        serde_json::from_str(&stdout(&s.run(&["history", "--format", "json"]))).unwrap();
    assert_eq!(json[0]["message"], message);
    assert_eq!(json[0]["author"], author);
}

#[test]
fn export_into_a_config_folder_needs_force_and_then_replaces_its_yaml() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    assert_eq!(
        code(&s.run(&["apply", config.to_str().unwrap(), "--yes"])),
        0
    );
    // The user's own folder: the config with its triggers in commissions.yaml
    // (export writes commission-triggers.yaml), a nested file that plan reads
    // too, and a file that is not YAML.
    let dir = s.path("program");
    copy_dir(&config, &dir);
    std::fs::create_dir(dir.join("nested")).unwrap();
    std::fs::write(dir.join("nested/more.yml"), "tags:\n  - { key: extra }\n").unwrap();
    std::fs::write(dir.join("NOTES.md"), "keep me\n").unwrap();

    let refused = s.run(&["export", "--out", "program"]);
    assert_eq!(code(&refused), 1);
    assert!(
        stderr(&refused).contains(
            "already holds YAML files (automations.yaml, commissions.yaml, nested/more.yml,"
        ),
        "{}",
        stderr(&refused)
    );
    assert!(
        !dir.join("commission-triggers.yaml").exists(),
        "nothing written"
    );

    let forced = s.run(&["export", "--out", "program", "--force"]);
    assert_eq!(code(&forced), 0, "{}", stderr(&forced));
    assert!(
        stderr(&forced)
            .contains("Deleted 2 other YAML files (--force): commissions.yaml, nested/more.yml"),
        "{}",
        stderr(&forced)
    );
    assert!(!dir.join("commissions.yaml").exists() && !dir.join("nested/more.yml").exists());
    assert!(dir.join("commission-triggers.yaml").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("NOTES.md")).unwrap(),
        "keep me\n"
    );
    let replan = s.run(&["plan", "program", "--exit-code"]);
    assert_eq!(code(&replan), 0, "{}{}", stdout(&replan), stderr(&replan));

    // Help is wrapped to the terminal (or 100 columns): read it as prose.
    let help = stdout(&s.run(&["export", "--help"]))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        help.contains("delete every other *.yaml / *.yml below DIR"),
        "{help}"
    );
}

/// --force deletes and writes inside DIR only: never through a symbolic link
/// to somewhere else.
#[cfg(unix)]
#[test]
fn export_never_deletes_or_writes_through_symbolic_links() {
    let s = Session::embedded();
    let config = s.config("examples/gigakick");
    assert_eq!(
        code(&s.run(&["apply", config.to_str().unwrap(), "--yes"])),
        0
    );
    let elsewhere = s.path("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("precious.yaml"), "tags: []\n").unwrap();
    std::fs::write(elsewhere.join("notes.txt"), "keep\n").unwrap();

    let linked_dir = s.path("out1");
    std::fs::create_dir(&linked_dir).unwrap();
    std::os::unix::fs::symlink(&elsewhere, linked_dir.join("shared")).unwrap();
    let refused = s.run(&["export", "--out", "out1", "--force"]);
    assert_eq!(code(&refused), 1, "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("shared/precious.yaml"),
        "{}",
        stderr(&refused)
    );
    assert!(elsewhere.join("precious.yaml").exists());

    let linked_file = s.path("out2");
    std::fs::create_dir(&linked_file).unwrap();
    std::os::unix::fs::symlink(
        elsewhere.join("notes.txt"),
        linked_file.join("program.yaml"),
    )
    .unwrap();
    let refused = s.run(&["export", "--out", "out2", "--force"]);
    assert_eq!(code(&refused), 1, "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("program.yaml is a symbolic link"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("notes.txt")).unwrap(),
        "keep\n"
    );
}
