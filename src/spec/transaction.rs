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
