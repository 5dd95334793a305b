//! Serialising a config to YAML and loading it back gives the same config.

mod support;

use partnerops::config;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn yaml_round_trip_gives_the_same_config(original in support::arbitrary::config()) {
        let dir = tempfile::tempdir().unwrap();
        let yaml = config::to_yaml(&original.to_document());
        std::fs::write(dir.path().join("config.yaml"), &yaml).unwrap();
        let loaded = config::load(dir.path()).map_err(|diagnostics| {
            let text: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            TestCaseError::fail(format!("{}\n--- yaml ---\n{yaml}", text.join("\n")))
        })?;
        prop_assert_eq!(loaded, original, "yaml:\n{}", yaml);
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
