//! Erasures of a partner's personal data, as recorded.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An erasure, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Erasure {
    pub partner: String,
    pub erased_at: DateTime<Utc>,
    /// Stored event bodies whose name and email were removed.
    pub events: u64,
}
