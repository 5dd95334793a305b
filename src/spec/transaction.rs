use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a sale came about (Stack's affiliate sales trigger distinguishes these).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    OneTime,
    Recurring,
    Manual,
}

impl TransactionKind {
    /// As written in events and config.
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionKind::OneTime => "one_time",
            TransactionKind::Recurring => "recurring",
            TransactionKind::Manual => "manual",
        }
    }
}
