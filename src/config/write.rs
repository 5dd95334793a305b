//! The spec as YAML that `load` reads back to the same config.

use crate::spec::ConfigDocument;

/// Tells yaml-language-server (VS Code, Neovim, …) which schema to check against.
pub fn modeline(schema_path: &str) -> String {
    format!("# yaml-language-server: $schema={schema_path}\n")
}

/// Serializes one config document.
pub fn to_yaml(document: &ConfigDocument) -> String {
    // The spec types are plain data (strings, integers, lists, maps), which the
    // serializer always accepts.
    serde_saphyr::to_string(document).expect("spec types serialize to YAML")
}
