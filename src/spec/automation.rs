use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::days::Days;
use super::money::Threshold;
use super::transaction::TransactionKind;

/// When something happens to a partner (`when`), change tags (`then`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Automation {
    #[schemars(pattern(super::KEY_PATTERN))]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub when: Trigger,
    /// Actions, applied in order.
    #[schemars(length(min = 1))]
    pub then: Vec<Action>,
    /// A disabled automation never fires.
    #[serde(default = "super::yes", skip_serializing_if = "super::is_true")]
    pub enabled: bool,
    /// On apply, also fire once for partners already past the condition.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backfill: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(super::KEY_PATTERN)))]
    pub previously: Vec<String>,
}

impl Automation {
    /// Whether applying this automation (replacing `before`, if any) fires its
    /// backfill: it has `backfill: true` and is enabled, and it is new, or its
    /// backfill, enablement or trigger just changed.
    pub fn backfills_after(&self, before: Option<&Automation>) -> bool {
        self.backfill
            && self.enabled
            && before.is_none_or(|b| !b.backfill || !b.enabled || b.when != self.when)
    }
}

/// What makes an automation fire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// Once, when the partner joins the program.
    PartnerJoined,
    /// Once, at the partner's first referral signup (lead).
    FirstSignup,
    /// Once, when a referred customer first buys.
    FirstSale,
    /// Once, at the partner's first commission above zero.
    FirstCommission,
    /// Once, when the metric first reaches `at_least`.
    Milestone(Milestone),
    /// Daily check: once, when the partner is `days` old.
    Anniversary(DaysCondition),
    /// Daily check: once after `days` whole days without activity; re-arms on activity.
    Inactive(DaysCondition),
    /// Daily check: once after `days` whole days without a referral; re-arms on a referral.
    NoReferrals(DaysCondition),
    /// Every attributed transaction (optionally only some kinds).
    Sale(SaleCondition),
}

impl Trigger {
    /// Daily checks are evaluated by the sweep rather than by an event.
    pub fn is_daily_check(&self) -> bool {
        matches!(
            self,
            Trigger::Anniversary(_) | Trigger::Inactive(_) | Trigger::NoReferrals(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    pub metric: Metric,
    /// Signups or customers (a whole number), or revenue (an amount).
    pub at_least: Threshold,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Referral signups.
    Signups,
    /// Distinct referred customers with a purchase.
    Customers,
    /// Attributed transactions above zero.
    Sales,
    /// Attributed transactions less refunds.
    Revenue,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Signups => "signups",
            Metric::Customers => "customers",
            Metric::Sales => "sales",
            Metric::Revenue => "revenue",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DaysCondition {
    pub days: Days,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleCondition {
    /// Only these kinds of transaction; all kinds when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub kinds: Option<Vec<TransactionKind>>,
}

/// What an automation does: a tag change (the value is a tag key), or a
/// message to a webhook endpoint (the value is its key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    AddTag(String),
    RemoveTag(String),
    /// Tags the customer of the triggering sale.
    TagCustomer(String),
    /// Sends an `automation.fired` message to this webhook endpoint.
    Notify(String),
}

impl Action {
    /// The tag a tag action changes; `None` for `notify`.
    pub fn tag(&self) -> Option<&str> {
        match self {
            Action::AddTag(t) | Action::RemoveTag(t) | Action::TagCustomer(t) => Some(t),
            Action::Notify(_) => None,
        }
    }

    /// The webhook endpoint a `notify` action sends to.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            Action::Notify(e) => Some(e),
            _ => None,
        }
    }

    pub fn tag_mut(&mut self) -> Option<&mut String> {
        match self {
            Action::AddTag(t) | Action::RemoveTag(t) | Action::TagCustomer(t) => Some(t),
            Action::Notify(_) => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Action::AddTag(_) => "add_tag",
            Action::RemoveTag(_) => "remove_tag",
            Action::TagCustomer(_) => "tag_customer",
            Action::Notify(_) => "notify",
        }
    }
}
