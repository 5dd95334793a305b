//! The runtime data one unit of work (a batch of events, a page of the sweep)
//! reads, changes in memory, and hands back to the store to write at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::partner::Partner;
use crate::spec::{Money, ProductStatus, TransactionKind};

/// A partner and when each automation last fired for them.
#[derive(Debug, Clone)]
pub struct PartnerState {
    pub partner: Partner,
    pub fires: Fires,
}

/// When each automation last fired for a partner, by automation key.
///
/// Kept as the store's text (" key=MICROS ... ") and read only when asked:
/// most events and most sweep pages never look, and a partner's record is
/// written back as it was read unless something fired.
#[derive(Debug, Default)]
pub struct Fires {
    text: String,
    parsed: std::sync::OnceLock<BTreeMap<String, DateTime<Utc>>>,
    changed: bool,
}

impl Clone for Fires {
    fn clone(&self) -> Fires {
        Fires::from_text(self.to_text())
    }
}

impl Fires {
    pub fn from_text(text: impl Into<String>) -> Fires {
        Fires {
            text: text.into(),
            parsed: std::sync::OnceLock::new(),
            changed: false,
        }
    }

    fn map(&self) -> &BTreeMap<String, DateTime<Utc>> {
        // Entries of deleted automations are tombstoned with a leading `~`.
        self.parsed.get_or_init(|| {
            self.text
                .split(' ')
                .filter(|e| !e.is_empty() && !e.starts_with('~'))
                .filter_map(|e| {
                    let (key, micros) = e.split_once('=')?;
                    let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
                    Some((key.to_owned(), at))
                })
                .collect()
        })
    }

    pub fn get(&self, automation: &str) -> Option<DateTime<Utc>> {
        self.map().get(automation).copied()
    }

    pub fn contains_key(&self, automation: &str) -> bool {
        self.map().contains_key(automation)
    }

    pub fn insert(&mut self, automation: String, at: DateTime<Utc>) {
        self.map();
        if let Some(map) = self.parsed.get_mut() {
            map.insert(automation, at);
        }
        self.changed = true;
    }

    /// The store's text: as read, unless something fired.
    pub fn to_text(&self) -> std::borrow::Cow<'_, str> {
        if !self.changed {
            return std::borrow::Cow::Borrowed(&self.text);
        }
        let mut text = String::from(" ");
        for (key, at) in self.map() {
            text.push_str(key);
            text.push('=');
            text.push_str(&at.timestamp_micros().to_string());
            text.push(' ');
        }
        std::borrow::Cow::Owned(text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub key: String,
    /// The referring partner.
    pub partner: Option<String>,
    pub signed_up_at: Option<DateTime<Utc>>,
    pub first_purchase_at: Option<DateTime<Utc>>,
    pub tags: BTreeSet<String>,
    /// Partners this customer has made an attributed purchase through.
    pub bought_through: BTreeSet<String>,
}

/// A product a customer holds, identified by its external subscription key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CustomerProduct {
    pub external_subscription_key: String,
    pub customer: String,
    pub product: String,
    /// The latest status.
    pub status: ProductStatus,
    /// The partner who sold it, when not the customer's referrer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every status with the time it took effect, oldest first: a transaction
    /// is judged by the status at its own time, so a late event (a sale
    /// dated before a churn that arrived first) earns what it would have in
    /// order.
    #[serde(skip)]
    pub statuses: StatusHistory,
}

impl CustomerProduct {
    /// The status at `at`: the last change at or before it, else the first
    /// known (a sale a moment before its product's record still matches it).
    pub fn status_at(&self, at: DateTime<Utc>) -> ProductStatus {
        self.statuses
            .0
            .iter()
            .take_while(|(t, _)| *t <= at)
            .last()
            .or(self.statuses.0.first())
            .map_or(self.status, |(_, s)| *s)
    }

    /// Records a status from an upsert at `at`; the latest becomes `status`.
    pub fn record_status(&mut self, at: DateTime<Utc>, status: ProductStatus) {
        let h = &mut self.statuses.0;
        // Same time twice: the later upsert wins, as it would in order.
        let i = h.partition_point(|(t, _)| *t <= at);
        if i > 0 && h[i - 1].0 == at {
            h[i - 1].1 = status;
        } else {
            h.insert(i, (at, status));
        }
        if let Some((_, last)) = h.last() {
            self.status = *last;
        }
    }
}

/// A product's statuses over time, kept by the store as " MICROS=status ... ".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusHistory(pub Vec<(DateTime<Utc>, ProductStatus)>);

impl StatusHistory {
    pub fn to_text(&self) -> String {
        let mut text = String::from(" ");
        for (at, status) in &self.0 {
            text.push_str(&at.timestamp_micros().to_string());
            text.push('=');
            text.push_str(status.as_str());
            text.push(' ');
        }
        text
    }

    pub fn from_text(text: &str) -> Option<StatusHistory> {
        text.split_whitespace()
            .map(|e| {
                let (micros, status) = e.split_once('=')?;
                Some((
                    DateTime::from_timestamp_micros(micros.parse().ok()?)?,
                    ProductStatus::parse(status)?,
                ))
            })
            .collect::<Option<Vec<_>>>()
            .map(StatusHistory)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Partner,
    Customer,
}

impl Subject {
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Partner => "partner",
            Subject::Customer => "customer",
        }
    }
}

/// Why a tag changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Automation,
    Config,
    Person,
}

/// A tag put on or taken off a partner or customer, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TagChange {
    pub subject_kind: Subject,
    pub subject: String,
    pub tag: String,
    pub added: bool,
    pub cause_kind: Cause,
    /// The automation's key, the config revision, or the person.
    pub cause: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TransactionRecord {
    pub key: String,
    pub customer: String,
    pub amount: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_key: Option<String>,
    pub kind: TransactionKind,
    pub at: DateTime<Utc>,
    /// The attributed partner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// The matched product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The config revision it was evaluated under.
    pub revision: u64,
    /// What the commission rules saw when it was evaluated.
    pub seen: Seen,
}

/// The facts commission rules read that change over time, as they were when
/// a transaction was evaluated: `explain` judges it by these, so it agrees
/// with the ledger whatever happened since.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Seen {
    /// The matched product's status at the transaction's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_status: Option<ProductStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_created_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_group: Option<String>,
    /// Sorted.
    #[serde(default)]
    pub partner_tags: Vec<String>,
    /// When the customer was first seen, which their age is counted from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_since: Option<DateTime<Utc>>,
}

/// One commission, or one installment of a drip commission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommissionRecord {
    pub partner: String,
    pub transaction: String,
    pub trigger: String,
    pub amount: Money,
    pub due_at: DateTime<Utc>,
    /// `due_at` as a date in the program's time zone, where month ends are
    /// clamped (set when read from the engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_on: Option<chrono::NaiveDate>,
    /// 1-based; 1 of 1 unless dripped.
    pub installment: u32,
    pub installments: u32,
    /// The config revision it was computed under.
    pub revision: u64,
    pub created_at: DateTime<Utc>,
}

/// An accepted event as it is kept.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: String,
    pub kind: &'static str,
    pub at: DateTime<Utc>,
    pub body: String,
}

/// Everything a unit of work has read, and what it changed.
#[derive(Debug, Default)]
pub struct Workspace {
    pub partners: HashMap<String, PartnerState>,
    pub customers: HashMap<String, Customer>,
    /// By external subscription key.
    pub subscriptions: HashMap<String, CustomerProduct>,
    /// Transaction keys already recorded by earlier batches.
    pub known_transactions: std::collections::HashSet<String>,
    pub writes: Writes,
}

#[derive(Debug, Default)]
pub struct Writes {
    pub events: Vec<StoredEvent>,
    /// Partners whose row changed.
    pub partners: BTreeSet<String>,
    pub customers: BTreeSet<String>,
    pub subscriptions: BTreeSet<String>,
    pub tag_changes: Vec<TagChange>,
    /// Automations fired, one per automation and partner.
    pub fired: u64,
    pub transactions: Vec<TransactionRecord>,
    pub commissions: Vec<CommissionRecord>,
}

impl Writes {
    /// The net effect of the tag changes on each (subject, tag): present or not.
    pub fn net_tags(&self) -> BTreeMap<(Subject, &str, &str), (bool, DateTime<Utc>)> {
        let mut net = BTreeMap::new();
        for c in &self.tag_changes {
            net.insert(
                (c.subject_kind, c.subject.as_str(), c.tag.as_str()),
                (c.added, c.at),
            );
        }
        net
    }
}

impl PartialOrd for Subject {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Subject {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}
