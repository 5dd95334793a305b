//! What each message says: the `data` of `{type, timestamp, data}` for every
//! message type, and the envelope. These are the wire format receivers
//! code against; the README shows an example of each.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::partner::Partner;
use crate::engine::runtime::state::Cause;
use crate::spec::{EventType, Money};

/// The body of every message (Standard Webhooks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Envelope<T> {
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When what the message tells of happened.
    pub timestamp: DateTime<Utc>,
    pub data: T,
}

/// A partner as messages name them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PartnerRef {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl PartnerRef {
    pub fn of(partner: &Partner) -> PartnerRef {
        PartnerRef {
            key: partner.key.clone(),
            name: partner.name.clone(),
            email: partner.email.clone(),
            group: partner.group.clone(),
        }
    }

    /// A partner known by key only.
    pub fn key(key: &str) -> PartnerRef {
        PartnerRef {
            key: key.to_owned(),
            name: None,
            email: None,
            group: None,
        }
    }
}

/// `partner.joined`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PartnerJoined {
    pub program: String,
    pub partner: PartnerRef,
    pub joined_at: DateTime<Utc>,
    /// The `partner.joined` event that created the partner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

/// `partner.tag_added` and `partner.tag_removed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PartnerTagChanged {
    pub program: String,
    pub partner: PartnerRef,
    pub tag: String,
    /// What changed it: an automation (its key), the config (a revision) or a person.
    pub cause: TagCause,
    /// The event that made the automation fire; none for the daily checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TagCause {
    pub kind: Cause,
    pub key: String,
}

/// `automation.fired`, sent by a `notify` action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AutomationFired {
    pub program: String,
    pub automation: AutomationRef,
    pub partner: PartnerRef,
    /// The event that made it fire; none for the daily checks and backfills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AutomationRef {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `commission.created`: one per ledger line (a drip sends one per installment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommissionCreated {
    pub program: String,
    pub partner: PartnerRef,
    pub commission: CommissionLine,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommissionLine {
    pub transaction: String,
    /// The commission trigger that paid it.
    pub trigger: String,
    /// A decimal string in `currency`.
    pub amount: Money,
    pub currency: String,
    pub installment: u32,
    pub installments: u32,
    pub due_at: DateTime<Utc>,
}

/// A reversal of a commission line by a refund, as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommissionReversal {
    pub transaction: String,
    pub trigger: String,
    /// The refund that caused it.
    pub refund: String,
    /// Negative: what is taken back.
    pub amount: Money,
    pub currency: String,
    pub installment: u32,
    pub installments: u32,
    /// When the refund happened.
    pub at: DateTime<Utc>,
}

/// `commission.reversed`: one per reversal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommissionReversed {
    pub program: String,
    pub partner: PartnerRef,
    pub reversal: CommissionReversal,
}

/// What one partner was paid in a payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PayoutLine {
    /// The payout batch.
    pub payout: String,
    /// The net of the partner's lines in it, a decimal string in `currency`.
    pub amount: Money,
    pub currency: String,
    /// How many ledger lines it pays.
    pub lines: u64,
    /// The time the payout was made as of.
    pub as_of: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// `payout.created`: one per partner paid in the payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PayoutCreated {
    pub program: String,
    pub partner: PartnerRef,
    pub payout: PayoutLine,
}
