//! Webhooks out, as the store keeps them: the outbox (one row per message
//! and endpoint, written in the transaction of the change that caused it),
//! each endpoint's signing secrets, and the leases that make one replica the
//! only sender of an endpoint's messages at a time.
//!
//! Signing secrets are kept as they are, not hashed: the engine must sign
//! with them. They are read only to sign and by `webhooks secret`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::spec::EventType;

/// A message to write to the outbox: its body is final, so every attempt
/// sends the same bytes under the same id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The `webhook-id` header: `msg_` and 32 hex digits, the same on every
    /// attempt, so a receiver can drop a message it has already seen.
    pub id: String,
    pub endpoint: String,
    pub event_type: EventType,
    /// `{type, timestamp, data}` as JSON.
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or a retry.
    Pending,
    /// A 2xx answer came back.
    Delivered,
    /// Every attempt failed, or the endpoint was deleted; `redeliver` sends it again.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// A message and where its delivery stands, as `webhooks deliveries` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Delivery {
    /// The `webhook-id`.
    pub id: String,
    pub endpoint: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    /// When a pending message is next tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last answer, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The message as sent (`{type, timestamp, data}`); in a listing only
    /// when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

/// An endpoint's signing secrets: the current one, and the one it replaced
/// while that still signs too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSecrets {
    pub current: String,
    pub previous: Option<(String, DateTime<Utc>)>,
}

/// A message read for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// Its place in the outbox: the order of sending per endpoint.
    pub seq: i64,
    pub id: String,
    pub body: String,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    RetryAt(DateTime<Utc>),
    Failed,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryQuery {
    pub endpoint: Option<String>,
    pub status: Option<DeliveryStatus>,
    /// Newest first, from before this id (paging).
    pub before: Option<String>,
    pub limit: usize,
    pub with_body: bool,
}

/// The store's part in webhooks out. Queries are portable SQL (`$n`
/// placeholders, `ON CONFLICT`), so a PostgreSQL store runs the same ones.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Endpoints (program, key) whose first pending message is due at `now`
    /// and that no live lease holds: what a dispatch pass has to do.
    async fn due_endpoints(&self, now: DateTime<Utc>) -> Result<Vec<(String, String)>>;

    /// Takes or renews the lease on an endpoint's queue until `until`, unless
    /// another owner holds it past `now`; `true` when `owner` holds it.
    async fn lease_endpoint(
        &self,
        program: &str,
        endpoint: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;

    async fn release_endpoint(&self, program: &str, endpoint: &str, owner: &str) -> Result<()>;

    /// Up to `limit` pending messages of an endpoint, in the order they were written.
    async fn queued(&self, program: &str, endpoint: &str, limit: usize) -> Result<Vec<Queued>>;

    /// Records attempts, and renews the lease until `until`, in one
    /// transaction, only while `owner` still holds the lease; `false` (and
    /// nothing recorded) when it has lost it.
    async fn record_attempts(
        &self,
        program: &str,
        endpoint: &str,
        owner: &str,
        attempts: &[Attempt],
        until: DateTime<Utc>,
    ) -> Result<bool>;

    /// Fails every pending message of an endpoint the config no longer has.
    async fn fail_pending(
        &self,
        program: &str,
        endpoint: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<u64>;

    async fn deliveries(&self, program: &str, query: &DeliveryQuery) -> Result<Vec<Delivery>>;

    /// Puts a message back in its endpoint's queue, due at `now`, with no
    /// attempts made; `None` when the program has no message with that id.
    async fn redeliver(
        &self,
        program: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>>;

    async fn endpoint_secrets(
        &self,
        program: &str,
        endpoint: &str,
    ) -> Result<Option<EndpointSecrets>>;

    /// Makes `secret` the endpoint's secret; the one it replaces, if any,
    /// keeps signing until `keep_until`.
    async fn rotate_secret(
        &self,
        program: &str,
        endpoint: &str,
        secret: &str,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<()>;
}
