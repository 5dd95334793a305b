//! examples/ci/partnerops.yml is documentation users copy: every partnerops
//! command it runs must be one this partnerops accepts.

use partnerops::cli::parse_from;

/// The partnerops commands in a step's script, as argument lists: the line
/// up to a redirection or pipe, split on spaces, quotes dropped.
fn commands(script: &str) -> Vec<Vec<String>> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("partnerops "))
        .map(|l| {
            let end = l.find(['>', '|', ';', '&']).unwrap_or(l.len());
            l[..end]
                .split_whitespace()
                .map(|w| w.trim_matches('"').to_owned())
                .collect()
        })
        .collect()
}

#[test]
fn the_ci_example_uses_only_flags_that_exist() {
    let text = std::fs::read_to_string("examples/ci/partnerops.yml").unwrap();
    let workflow: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let mut seen = Vec::new();
    for job in workflow["jobs"].as_object().unwrap().values() {
        for step in job["steps"].as_array().unwrap() {
            if let Some(script) = step["run"].as_str() {
                seen.extend(commands(script));
            }
        }
    }
    let mut subcommands: Vec<&str> = seen.iter().map(|c| c[1].as_str()).collect();
    subcommands.sort_unstable();
    assert_eq!(subcommands, ["apply", "plan", "plan", "validate"]);
    for args in &seen {
        if let Err(e) = parse_from(args) {
            panic!("{args:?} does not parse: {e}");
        }
    }
}
