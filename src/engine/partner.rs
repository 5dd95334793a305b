//! A partner as the runtime sees it: who they are, their stats, their tags.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::{Metric, Money, Trigger};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Stats {
    /// Referral signups (leads).
    pub signups: u64,
    /// Distinct referred customers with a purchase.
    pub customers: u64,
    /// Sum of the attributed transactions.
    pub revenue: Money,
    /// Join, activity or referral signup.
    pub last_activity_at: DateTime<Utc>,
    /// Last referral signup, else the join.
    pub last_referral_at: DateTime<Utc>,
}

/// A partner's record in the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Partner {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub group: Option<String>,
    pub joined_at: DateTime<Utc>,
    /// Sorted.
    pub tags: BTreeSet<String>,
    pub stats: Stats,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_signup_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_sale_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_commission_at: Option<DateTime<Utc>>,
}

impl Partner {
    /// The value a milestone counts, in hundredths (as thresholds are held).
    pub fn metric(&self, metric: Metric) -> i64 {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX).saturating_mul(100);
        match metric {
            Metric::Signups => count(self.stats.signups),
            Metric::Customers => count(self.stats.customers),
            Metric::Revenue => self.stats.revenue.cents(),
        }
    }

    /// Whether the partner is past an event-style trigger's condition: what
    /// `backfill` fires for. Daily checks and `sale` are never "past".
    pub fn is_past(&self, trigger: &Trigger) -> bool {
        match trigger {
            Trigger::PartnerJoined => true,
            Trigger::FirstSignup => self.first_signup_at.is_some(),
            Trigger::FirstSale => self.first_sale_at.is_some(),
            Trigger::FirstCommission => self.first_commission_at.is_some(),
            Trigger::Milestone(m) => self.metric(m.metric) >= m.at_least.hundredths(),
            Trigger::Anniversary(_)
            | Trigger::Inactive(_)
            | Trigger::NoReferrals(_)
            | Trigger::Sale(_) => false,
        }
    }
}
