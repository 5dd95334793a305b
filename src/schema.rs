//! The JSON Schema of a config file, generated from the spec types.

use crate::spec::ConfigDocument;

/// Where the schema is committed, relative to the repository root.
pub const COMMITTED_PATH: &str = "schemas/partnerops.schema.json";

/// The schema as pretty JSON with a trailing newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(ConfigDocument);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema is valid JSON");
    text.push('\n');
    text
}
