//! The errors an engine call can answer, shared by every layer: the store
//! returns them, the engine adds its own, the server maps each to a status.

use thiserror::Error;

/// Everything an engine call can answer besides success, the same whether the
/// engine is embedded or across HTTP (where each maps to a status code and back).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    #[error("{0}")]
    NotFound(String),
    #[error(
        "stale plan: it was made against revision {base} but the engine is at revision {current}; run plan again"
    )]
    Stale { base: u64, current: u64 },
    #[error("the changeset was refused:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
    /// A safety refusal, not a bad changeset: customers came to hold the
    /// product, possibly after the plan was made, so the CLI exits 3 for it.
    #[error(
        "product `{product}` is held by {customers} customer{}: it cannot be deleted; archive it instead (`archived: true`)",
        if *.customers == 1 { "" } else { "s" }
    )]
    ProductHeld { product: String, customers: u64 },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A limit of the server (a rate, a concurrency or connection limit, a
    /// body size) refused the request before doing any of it: 429 or 503, to
    /// be tried again after `retry_after` seconds, or 413. `limit` names it
    /// (the `serve` flag).
    #[error("{detail}")]
    Limited {
        status: u16,
        limit: String,
        detail: String,
        retry_after: u64,
    },
    #[error("the engine failed: {0}")]
    Internal(String),
    #[error("cannot reach the engine: {0}")]
    Unreachable(String),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Error {
        Error::Internal(format!("store: {e}"))
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Error {
        Error::Internal(format!("store migration: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
