//! Serialising a config to YAML and loading it back gives the same config.

mod support;

use partnerops::config;
use partnerops::spec::{Config, ConfigDocument, Resource};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// Where the files of a config go: the loader reads subdirectories and both
/// extensions.
const FILES: [&str; 4] = [
    "program.yaml",
    "tags.yml",
    "more/a.yaml",
    "more/deeper/b.yaml",
];

/// The config's resources spread over `files` documents, resource `i` in the
/// one `places[i]` picks.
fn spread(config: &Config, files: usize, places: &[Index]) -> Vec<ConfigDocument> {
    let mut documents = vec![ConfigDocument::default(); files];
    for (i, resource) in config.resources().enumerate() {
        let document = &mut documents[places[i % places.len()].index(files)];
        match resource {
            Resource::Program(r) => document.program = Some(r),
            Resource::Group(r) => document.groups.push(r),
            Resource::Tag(r) => document.tags.push(r),
            Resource::Product(r) => document.products.push(r),
            Resource::Webhook(r) => document.webhooks.push(r),
            Resource::Automation(r) => document.automations.push(r),
            Resource::CommissionTrigger(r) => document.commission_triggers.push(r),
        }
    }
    documents
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn yaml_round_trip_gives_the_same_config(
        original in support::arbitrary::config(),
        files in 1..=FILES.len(),
        places in vec(any::<Index>(), 1..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut written = String::new();
        for (name, document) in FILES.iter().zip(spread(&original, files, &places)) {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let yaml = config::to_yaml(&document);
            std::fs::write(&path, &yaml).unwrap();
            written.push_str(&format!("--- {name}\n{yaml}"));
        }
        let loaded = config::load(dir.path()).map_err(|diagnostics| {
            let text: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            TestCaseError::fail(format!("{}\n--- files ---\n{written}", text.join("\n")))
        })?;
        prop_assert_eq!(loaded, original, "files:\n{}", written);
    }

    #[test]
    fn json_round_trip_gives_the_same_resources(original in support::arbitrary::config()) {
        for resource in original.resources() {
            let json = serde_json::to_string(&resource).unwrap();
            let back: partnerops::spec::Resource = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, resource, "json: {}", json);
        }
    }
}

/// The generators give some resources previous keys, so the round trip covers them.
#[test]
fn generated_configs_rename_some_resources() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = support::arbitrary::config();
    let renamed = (0..64)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .filter(|c: &Config| c.resources().any(|r| !r.previously().is_empty()))
        .count();
    assert!(renamed > 16, "{renamed} of 64 configs rename something");
}
