use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An endpoint the engine sends messages to (webhooks out). Its signing secret
/// is made by the engine when the endpoint is created and is no part of the
/// spec: it never appears in config files, plans or exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    #[schemars(pattern(super::KEY_PATTERN))]
    pub key: String,
    /// Where messages are POSTed: https, or http to a loopback or private
    /// address (development; `serve` sends there only with
    /// `--allow-private-webhooks`).
    #[schemars(
        length(min = 1, max = 2000),
        regex(pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://")
    )]
    pub url: String,
    /// The message types the endpoint subscribes to. `automation.fired` is
    /// sent by a `notify` action instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Keys this endpoint had before; a rename keeps its secret and deliveries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(super::KEY_PATTERN)))]
    pub previously: Vec<String>,
}

impl Webhook {
    pub fn subscribes(&self, event: EventType) -> bool {
        self.events.contains(&event)
    }
}

/// The types of message the engine sends.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum EventType {
    /// A partner joined the program.
    #[serde(rename = "partner.joined")]
    PartnerJoined,
    /// A tag was put on a partner.
    #[serde(rename = "partner.tag_added")]
    PartnerTagAdded,
    /// A tag was taken off a partner.
    #[serde(rename = "partner.tag_removed")]
    PartnerTagRemoved,
    /// An automation with a `notify` action fired (sent by `notify`, not by subscribing).
    #[serde(rename = "automation.fired")]
    AutomationFired,
    /// A commission (or one installment of a drip) was recorded.
    #[serde(rename = "commission.created")]
    CommissionCreated,
    /// A commission was reversed, in whole or in part, by a refund.
    #[serde(rename = "commission.reversed")]
    CommissionReversed,
    /// A partner was paid in a payout.
    #[serde(rename = "payout.created")]
    PayoutCreated,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::PartnerJoined,
        EventType::PartnerTagAdded,
        EventType::PartnerTagRemoved,
        EventType::AutomationFired,
        EventType::CommissionCreated,
        EventType::CommissionReversed,
        EventType::PayoutCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PartnerJoined => "partner.joined",
            EventType::PartnerTagAdded => "partner.tag_added",
            EventType::PartnerTagRemoved => "partner.tag_removed",
            EventType::AutomationFired => "automation.fired",
            EventType::CommissionCreated => "commission.created",
            EventType::CommissionReversed => "commission.reversed",
            EventType::PayoutCreated => "payout.created",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
