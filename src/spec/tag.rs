use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A label automations put on partners (and customers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    #[schemars(pattern(super::KEY_PATTERN))]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Keys this tag had before; a rename then keeps it on its partners.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(super::KEY_PATTERN)))]
    pub previously: Vec<String>,
}
