use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The partner program a config directory describes; exactly one per directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Program {
    /// Identifies the program in the engine and in API paths.
    #[schemars(pattern(super::KEY_PATTERN))]
    pub key: String,
    /// Display name.
    pub name: String,
    /// ISO 4217 code of the currency all amounts are in, e.g. USD.
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    pub currency: String,
    /// IANA time zone used for calendar-day and calendar-month rules, e.g. Europe/Berlin.
    #[serde(default = "utc")]
    pub timezone: String,
}

fn utc() -> String {
    "UTC".to_owned()
}
