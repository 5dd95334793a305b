use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::money::Money;

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
    /// When commissions become payable and how little is worth paying.
    #[serde(default, skip_serializing_if = "Payouts::is_default")]
    pub payouts: Payouts,
}

/// The commission lifecycle: a line is pending until its due date plus
/// `hold_days` (time for refunds to come), then approved; a payout pays a
/// partner's approved lines when they add up to at least `minimum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Payouts {
    /// Days a commission is held before it is approved (default 30).
    #[serde(default = "thirty")]
    #[schemars(range(max = 3650))]
    pub hold_days: u32,
    /// The least a partner is paid; less is carried over (default 0).
    #[serde(default)]
    #[schemars(schema_with = "super::money::non_negative_schema")]
    pub minimum: Money,
}

impl Default for Payouts {
    fn default() -> Payouts {
        Payouts {
            hold_days: 30,
            minimum: Money::ZERO,
        }
    }
}

impl Payouts {
    pub fn is_default(&self) -> bool {
        *self == Payouts::default()
    }
}

fn thirty() -> u32 {
    30
}

fn utc() -> String {
    "UTC".to_owned()
}
