//! The spec as YAML that `load` reads back to the same config.

use serde::Serialize;

use crate::spec::{Config, ConfigDocument, Resource};

/// Tells yaml-language-server (VS Code, Neovim, …) which schema to check against.
pub fn modeline(schema_path: &str) -> String {
    format!("# yaml-language-server: $schema={schema_path}\n")
}

fn yaml<T: Serialize>(value: &T) -> String {
    // The spec types are plain data (strings, integers, lists, maps) that the
    // serializer always accepts; a failure would be a bug in it, not bad input.
    serde_saphyr::to_string(value).expect("spec types serialize to YAML")
}

/// Serializes one config document.
pub fn to_yaml(document: &ConfigDocument) -> String {
    yaml(document)
}

/// The files `export --out` writes, one per kind, in dependency order. A kind
/// the config has none of gets an empty document, which export does not write.
pub fn files_per_kind(config: &Config) -> [(&'static str, ConfigDocument); 7] {
    let doc = ConfigDocument::default;
    [
        (
            "program.yaml",
            ConfigDocument {
                program: Some(config.program.clone()),
                ..doc()
            },
        ),
        (
            "groups.yaml",
            ConfigDocument {
                groups: config.groups.clone(),
                ..doc()
            },
        ),
        (
            "tags.yaml",
            ConfigDocument {
                tags: config.tags.clone(),
                ..doc()
            },
        ),
        (
            "products.yaml",
            ConfigDocument {
                products: config.products.clone(),
                ..doc()
            },
        ),
        (
            "webhooks.yaml",
            ConfigDocument {
                webhooks: config.webhooks.clone(),
                ..doc()
            },
        ),
        (
            "automations.yaml",
            ConfigDocument {
                automations: config.automations.clone(),
                ..doc()
            },
        ),
        (
            "commission-triggers.yaml",
            ConfigDocument {
                commission_triggers: config.commission_triggers.clone(),
                ..doc()
            },
        ),
    ]
}

/// One resource's fields as YAML, as it would appear in a list item.
pub fn resource_to_yaml(resource: &Resource) -> String {
    match resource {
        Resource::Program(r) => yaml(r),
        Resource::Group(r) => yaml(r),
        Resource::Tag(r) => yaml(r),
        Resource::Product(r) => yaml(r),
        Resource::Webhook(r) => yaml(r),
        Resource::Automation(r) => yaml(r),
        Resource::CommissionTrigger(r) => yaml(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Tag;

    #[test]
    fn control_characters_serialize() {
        let tag = Resource::Tag(Tag {
            key: "t".into(),
            name: Some("bell \u{7} nul \u{0} del \u{7f} bom \u{feff}".into()),
            description: Some("tab\there\r\nwindows".into()),
            previously: Vec::new(),
        });
        let text = resource_to_yaml(&tag);
        assert!(text.contains("key: t"), "{text}");
    }
}
