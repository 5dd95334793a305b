//! `partnerops validate`, as a user runs it: the corpus of bad configs under
//! tests/bad (one directory per kind of mistake) and the shipped examples.

use std::path::Path;

use assert_cmd::Command;

fn partnerops() -> Command {
    Command::cargo_bin("partnerops").unwrap()
}

#[test]
fn every_bad_config_is_reported_with_file_line_and_column() {
    let mut cases: Vec<_> = std::fs::read_dir("tests/bad")
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "the corpus has {} cases", cases.len());
    for case in cases {
        let dir = format!("tests/bad/{case}");
        let output = partnerops().args(["validate", &dir]).output().unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(1), "{case}: {stderr}");
        assert!(output.stdout.is_empty(), "{case}: diagnostics go to stderr");
        assert!(!stderr.contains("panicked"), "{case}: {stderr}");
        // Every diagnostic starts with file:line:column but those about the
        // directory (no program) or an entry in it that cannot be read.
        for line in stderr.lines().filter(|l| {
            l.starts_with("tests/bad/") && !l.ends_with("error") && !l.ends_with("errors")
        }) {
            let location = line.split(": ").next().unwrap();
            let is_position = location.rsplitn(3, ':').count() == 3;
            assert!(
                is_position || ["missing-program", "symlink-loop"].contains(&case.as_str()),
                "{case}: `{line}` has no position"
            );
        }
        insta::assert_snapshot!(case, stderr);
    }
}

#[test]
fn the_examples_are_valid() {
    for example in ["examples/gigakick", "examples/partnero-playbook"] {
        let output = partnerops().args(["validate", example]).output().unwrap();
        assert!(
            output.status.success(),
            "{example}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(stdout.starts_with(&format!("{example}: valid")), "{stdout}");
    }
}

#[test]
fn the_committed_schema_is_current() {
    let committed = std::fs::read_to_string(partnerops::schema::COMMITTED_PATH).unwrap();
    assert!(
        committed == partnerops::schema::json_schema(),
        "{} is stale: run `cargo run -- schema --out {}`",
        partnerops::schema::COMMITTED_PATH,
        partnerops::schema::COMMITTED_PATH
    );
    partnerops()
        .args(["schema", "--check", partnerops::schema::COMMITTED_PATH])
        .assert()
        .success();
}

fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// What an editor with yaml-language-server sees: each example file checked
/// against the committed schema that its modeline names.
#[test]
fn example_files_conform_to_the_schema_their_modeline_names() {
    let mut files = Vec::new();
    for example in ["examples/gigakick", "examples/partnero-playbook"] {
        yaml_files(Path::new(example), &mut files);
    }
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let modeline = text.lines().next().unwrap();
        let schema_rel = modeline
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{}: no modeline", file.display()));
        let schema_path = file.parent().unwrap().join(schema_rel);
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let instance: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

/// The schema rejects what validate rejects, for mistakes a schema can express.
#[test]
fn the_schema_rejects_typos_and_out_of_range_values() {
    let schema: serde_json::Value =
        serde_json::from_str(&partnerops::schema::json_schema()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for bad in [
        "tags: [ { key: gold, nmae: Gold } ]",
        "automations: [ { key: a, when: partner_join, then: [ { add_tag: x } ] } ]",
        "automations: [ { key: a, when: { inactive: { days: -3 } }, then: [ { add_tag: x } ] } ]",
        "commission_triggers: [ { key: t, commission: { percent: 120 } } ]",
        "commission_triggers: [ { key: t, commission: { flat: \"1.99999\" } } ]",
        "commission_triggers: [ { key: t, commission: { flat: 1 }, rules: [ { product.sku: { any_of: [x] } } ] } ]",
        "commission_triggers: [ { key: t, commission: { percent: \"101\" } } ]",
        "commission_triggers: [ { key: t, commission: { percent: \"100.01\" } } ]",
        "commission_triggers: [ { key: t, commission: { flat: -1 } } ]",
        "commission_triggers: [ { key: t, commission: { flat: \"-0.01\" } } ]",
        "products: [ { key: p, name: P, price: -19.99 } ]",
        "products: [ { key: p, name: P, price: \"-19.99\" } ]",
        "automations: [ { key: a, when: { milestone: { metric: revenue, at_least: \"-5\" } }, then: [ { add_tag: x } ] } ]",
    ] {
        let instance: serde_json::Value = serde_saphyr::from_str(bad).unwrap();
        assert!(!validator.is_valid(&instance), "schema accepted: {bad}");
    }
}

/// Amounts with cents are valid wherever money goes: a validator that tests
/// `multipleOf: 0.01` in floating point refuses 19.99 and 0.29.
#[test]
fn the_schema_accepts_amounts_with_cents_and_percentages_up_to_100() {
    let schema: serde_json::Value =
        serde_json::from_str(&partnerops::schema::json_schema()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for amount in [
        "19.99",
        "0.29",
        "\"49.90\"",
        "\"0.29\"",
        "1000",
        "0.1",
        "\"7\"",
    ] {
        for good in [
            format!("products: [ {{ key: p, name: P, price: {amount} }} ]"),
            format!("commission_triggers: [ {{ key: t, commission: {{ flat: {amount} }} }} ]"),
            format!(
                "commission_triggers: [ {{ key: t, commission: {{ percent: 5 }}, rules: [ {{ transaction.amount: {{ gte: {amount}, lt: -{} }} }} ] }} ]",
                amount.trim_matches('"')
            ),
            format!(
                "automations: [ {{ key: a, when: {{ milestone: {{ metric: revenue, at_least: {amount} }} }}, then: [ {{ add_tag: x }} ] }} ]"
            ),
        ] {
            let instance: serde_json::Value = serde_saphyr::from_str(&good).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&instance)
                .map(|e| format!("{e} at {}", e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{good}: {errors:#?}");
        }
    }
    for percent in [
        "0",
        "12.5",
        "\"12.5\"",
        "\"0.29\"",
        "99.99",
        "\"99.99\"",
        "100",
        "\"100\"",
        "\"100.00\"",
    ] {
        let good =
            format!("commission_triggers: [ {{ key: t, commission: {{ percent: {percent} }} }} ]");
        let instance: serde_json::Value = serde_saphyr::from_str(&good).unwrap();
        assert!(validator.is_valid(&instance), "schema refused: {good}");
    }
}
