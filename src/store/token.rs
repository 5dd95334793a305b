//! Tokens as the store keeps them, and the scopes they carry.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a token allows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Read config: plan, export, history.
    ConfigRead,
    /// Apply changesets (includes config:read).
    ConfigWrite,
    /// Send partner events.
    EventsWrite,
    /// Read partners, commissions, explanations, reports, payouts.
    DataRead,
    /// Create payouts.
    PayoutsWrite,
    /// Everything, including creating tokens.
    Admin,
    /// One partner's own view only.
    Partner(String),
}

impl Scope {
    pub const NAMES: &'static str =
        "config:read, config:write, events:write, data:read, payouts:write, admin, partner:KEY";
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::ConfigRead => f.write_str("config:read"),
            Scope::ConfigWrite => f.write_str("config:write"),
            Scope::EventsWrite => f.write_str("events:write"),
            Scope::DataRead => f.write_str("data:read"),
            Scope::PayoutsWrite => f.write_str("payouts:write"),
            Scope::Admin => f.write_str("admin"),
            Scope::Partner(key) => write!(f, "partner:{key}"),
        }
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Scope, String> {
        Ok(match s {
            "config:read" => Scope::ConfigRead,
            "config:write" => Scope::ConfigWrite,
            "events:write" => Scope::EventsWrite,
            "data:read" => Scope::DataRead,
            "payouts:write" => Scope::PayoutsWrite,
            "admin" => Scope::Admin,
            _ => match s.strip_prefix("partner:") {
                Some(key) => match crate::spec::check::key_problem(key) {
                    None => Scope::Partner(key.to_owned()),
                    Some(problem) => return Err(format!("scope `{s}`: {problem}")),
                },
                _ => {
                    return Err(format!(
                        "unknown scope `{s}`; expected one of {}",
                        Scope::NAMES
                    ));
                }
            },
        })
    }
}

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Scope {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Scope".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(config:read|config:write|events:write|data:read|payouts:write|admin|partner:.+)$"
        })
    }
}

/// A token as the store keeps it, and as `token list` shows it: never the
/// token itself, nor its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TokenRecord {
    /// What names the token in lists, logs and history, and `token revoke ID`.
    pub id: String,
    #[serde(skip)]
    pub hash: String,
    pub scopes: Vec<Scope>,
    /// The one program the token may reach; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the token stops working; never when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When the token was revoked; it no longer works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the token was last used, to within about a minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    /// Why the token no longer works at `now`, if it does not.
    pub fn unusable(&self, now: DateTime<Utc>) -> Option<String> {
        if let Some(at) = self.revoked_at {
            return Some(format!(
                "the token `{}` was revoked at {}",
                self.id,
                at.to_rfc3339()
            ));
        }
        match self.expires_at {
            Some(at) if at <= now => Some(format!(
                "the token `{}` expired at {}",
                self.id,
                at.to_rfc3339()
            )),
            _ => None,
        }
    }
}
