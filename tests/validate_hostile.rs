//! `validate` on configs written to hurt: aliases that expand across many
//! files, and names that hold terminal escape sequences or run to megabytes.
//! (It runs on pull requests from forks.)

mod support;

use support::cli::{Session, code, stderr};

#[test]
fn the_alias_budget_is_shared_by_every_file_of_the_config() {
    let session = Session::embedded();
    let dir = session.path("config");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("program.yaml"),
        "program: { key: p, name: P, currency: USD, timezone: UTC }\n",
    )
    .unwrap();
    // Each file alone is within the budget (about 900,000 nodes of 1,000,000).
    for i in 0..3 {
        std::fs::write(
            dir.join(format!("a{i}.yaml")),
            partnerops::sample::alias_file(i),
        )
        .unwrap();
    }
    let out = session.run(&["validate", dir.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    let refused: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("aliases expand to more than 1000000 nodes"))
        .collect();
    // The first file in path order spends the budget; the others, every
    // time, find it spent.
    assert_eq!(refused.len(), 2, "{err}");
    assert!(refused[0].contains("a1.yaml"), "{err}");
    assert!(refused[1].contains("a2.yaml"), "{err}");
    // What the refused files declare is unknown, so their tags are not
    // called undeclared and nothing else is reported about them.
    assert!(
        err.contains("a0.yaml:3:1: unknown section `anchors`"),
        "{err}"
    );
}

#[test]
fn escape_sequences_in_names_never_reach_the_terminal() {
    let session = Session::embedded();
    let dir = session.path("config");
    std::fs::create_dir_all(&dir).unwrap();
    // An explicit key (`? KEY`) may be any length. YAML's own escapes (`\e`, `\a`, `\u202E`) make the characters a raw
    // byte in the file may not be.
    std::fs::write(
        dir.join("program.yaml"),
        format!(
            "program: {{ key: p, name: P, currency: USD, timezone: UTC }}\ntags:\n  - key: \"bad\\e]0;owned\\a\\e[2J\\u202E\"\n? {}\n: 1\n",
            "s".repeat(10_000_000)
        ),
    )
    .unwrap();
    // A raw escape byte is a syntax error, shown escaped too.
    std::fs::write(dir.join("raw.yaml"), "tags: [\u{1b}[31m]\n").unwrap();
    let out = session.run(&["validate", dir.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{7}') && !err.contains('\u{202e}'),
        "{err:?}"
    );
    assert!(
        err.contains("bad\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{202e}"),
        "{err}"
    );
    // The 10 MB section name is shown cut, in the message and the snippet.
    assert!(err.len() < 4_000, "{} bytes of diagnostics", err.len());
    assert!(err.contains("unknown section `ssss"), "{err}");
    assert!(err.contains("s…`"), "{err}");
    assert!(err.contains("raw.yaml:1:8"), "{err}");
}
