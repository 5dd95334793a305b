//! The records the store keeps for a program's runtime: partners, customers,
//! the products they hold, transactions, refunds, the ledger and payouts.
//!
//! They live below the engine: the engine computes them, the store reads and
//! writes them, the API shows them. Nothing here imports the engine.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::{Metric, Money, ProductStatus, Threshold, TransactionKind, Trigger};

/// A time as the store writes it: RFC 3339 in UTC with microseconds, which
/// sorts as text in time order.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Where an event stands in the order events take effect: by `at`, then by
/// kind at one instant (who the partner is, then the signup, the product,
/// the purchase, the refund), then by id. Kept as text that sorts the same
/// way, so the store can compare it too.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Mark(String);

impl Mark {
    pub fn new(at: DateTime<Utc>, rank: u8, id: &str) -> Mark {
        Mark(format!("{}|{rank}|{id}", timestamp(at)))
    }

    pub fn from_text(text: String) -> Mark {
        Mark(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The time part.
    pub fn at(&self) -> Option<DateTime<Utc>> {
        let (t, _) = self.0.split_once('|')?;
        DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The event id part.
    pub fn id(&self) -> &str {
        self.0.splitn(3, '|').nth(2).unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Stats {
    /// Referral signups (leads).
    pub signups: u64,
    /// Distinct referred customers with a purchase.
    pub customers: u64,
    /// Attributed transactions above zero.
    #[serde(default)]
    pub sales: u64,
    /// Sum of the attributed transactions, less refunds.
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
    /// Whether the partner's value of `metric` reaches `threshold`.
    pub fn reaches(&self, metric: Metric, threshold: Threshold) -> bool {
        match metric {
            Metric::Signups => threshold.reached_by_count(self.stats.signups),
            Metric::Customers => threshold.reached_by_count(self.stats.customers),
            Metric::Sales => threshold.reached_by_count(self.stats.sales),
            Metric::Revenue => threshold.reached_by(self.stats.revenue),
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
            Trigger::Milestone(m) => self.reaches(m.metric, m.at_least),
            Trigger::Anniversary(_)
            | Trigger::Inactive(_)
            | Trigger::NoReferrals(_)
            | Trigger::Sale(_) => false,
        }
    }
}

/// A partner as the runtime carries it: the record, when each automation
/// last fired, and where the partner's history stands.
#[derive(Debug, Clone)]
pub struct PartnerState {
    pub partner: Partner,
    pub fires: Fires,
    /// The last event applied to the partner: an event ordered before it is
    /// late, and the partner's history is replayed. `None` for a partner
    /// recorded before the engine kept it.
    pub mark: Option<Mark>,
    /// When a daily check last fired (the moment it came due): an event
    /// dated before it is late too.
    pub last_fire_at: Option<DateTime<Utc>>,
    /// When the next daily check comes due, for the sweep's index; `None`
    /// when none can.
    pub next_due_at: Option<DateTime<Utc>>,
}

/// When each automation last fired for a partner, by automation key.
///
/// Kept as the store's text (" key=MICROS ... ") and read only when asked:
/// most events never look, and a partner's record is written back as it was
/// read unless something fired.
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

    /// Every record, by automation key.
    pub fn entries(&self) -> &BTreeMap<String, DateTime<Utc>> {
        self.map()
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
    /// The referring partner: the earliest referral signup.
    pub partner: Option<String>,
    /// When that signup happened, and its event: a signup dated earlier
    /// takes its place, one dated later is refused.
    pub referral: Option<Mark>,
    /// When the customer was first seen: the signup, or the first product or
    /// purchase of a customer who came without one.
    pub signed_up_at: Option<DateTime<Utc>>,
    pub first_purchase_at: Option<DateTime<Utc>>,
    pub tags: BTreeSet<String>,
    /// Partners this customer has made an attributed purchase through.
    pub bought_through: BTreeSet<String>,
}

impl Customer {
    pub fn new(key: &str) -> Customer {
        Customer {
            key: key.to_owned(),
            partner: None,
            referral: None,
            signed_up_at: None,
            first_purchase_at: None,
            tags: BTreeSet::new(),
            bought_through: BTreeSet::new(),
        }
    }

    /// When the referral signup happened.
    pub fn referred_at(&self) -> Option<DateTime<Utc>> {
        self.referral.as_ref().and_then(Mark::at)
    }
}

/// One product a customer holds on one external subscription key. A key that
/// moves to another product (an upgrade) keeps a record per product, each
/// with its own created date and status history.
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
    /// When the key first held this product.
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every upsert with its status and seller, oldest first: a
    /// transaction is judged by the product as it stood at its own time.
    #[serde(skip)]
    pub statuses: StatusHistory,
}

impl CustomerProduct {
    /// The status at `at`: the last upsert at or before it, else the first
    /// known (a sale a moment before its product's record still matches it).
    pub fn status_at(&self, at: DateTime<Utc>) -> ProductStatus {
        self.statuses
            .by(at)
            .last()
            .or(self.statuses.0.first())
            .map_or(self.status, |u| u.status)
    }

    /// The partner who sold it at `at`: of the last upsert at or before it
    /// that names one; before its first upsert, that upsert's.
    pub fn partner_at(&self, at: DateTime<Utc>) -> Option<&str> {
        let h = &self.statuses.0;
        if h.first().is_some_and(|u| u.at > at) {
            return h[0].partner.as_deref();
        }
        self.statuses
            .by(at)
            .rev()
            .find_map(|u| u.partner.as_deref())
    }

    /// Records an upsert; the record's status, seller and dates follow its
    /// upserts in (time, event id) order, however they arrived.
    pub fn record(&mut self, upsert: Upsert) {
        let h = &mut self.statuses.0;
        let key = (upsert.at, upsert.event.clone());
        let i = h.partition_point(|u| (u.at, u.event.clone()) <= key);
        if i > 0 && (h[i - 1].at, &h[i - 1].event) == (upsert.at, &upsert.event) {
            h[i - 1] = upsert;
        } else {
            h.insert(i, upsert);
        }
        if let Some(last) = h.last() {
            self.status = last.status;
            self.updated_at = last.at;
        }
        if let Some(first) = h.first() {
            self.created_at = first.at;
        }
        self.partner = h.iter().rev().find_map(|u| u.partner.clone());
    }

    /// The last upsert at or before `at`, if any: (time, event id).
    fn last_upsert_by(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, &str)> {
        self.statuses
            .by(at)
            .last()
            .map(|u| (u.at, u.event.as_str()))
    }
}

/// One `customer_product.upserted` as a product record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upsert {
    pub at: DateTime<Utc>,
    /// The event's id: upserts at one instant go in id order.
    pub event: String,
    pub status: ProductStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
}

/// A product's upserts over time, in (time, event id) order; the store
/// keeps them as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusHistory(pub Vec<Upsert>);

impl StatusHistory {
    /// The upserts at or before `at`.
    fn by(&self, at: DateTime<Utc>) -> std::slice::Iter<'_, Upsert> {
        let n = self.0.partition_point(|u| u.at <= at);
        self.0[..n].iter()
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
    }

    /// JSON, or " MICROS=status ... " as stores before kept it.
    pub fn from_text(text: &str) -> Option<StatusHistory> {
        if text.trim_start().starts_with('[') {
            return serde_json::from_str(text).ok().map(StatusHistory);
        }
        text.split_whitespace()
            .map(|e| {
                let (micros, status) = e.split_once('=')?;
                Some(Upsert {
                    at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
                    event: String::new(),
                    status: ProductStatus::parse(status)?,
                    partner: None,
                })
            })
            .collect::<Option<Vec<_>>>()
            .map(StatusHistory)
    }
}

/// Which of a subscription key's product records stands at `at`: the one
/// with the latest upsert at or before it, else the earliest record (a sale a
/// moment before its product's record still matches it).
pub fn product_at(records: &[CustomerProduct], at: DateTime<Utc>) -> Option<&CustomerProduct> {
    records
        .iter()
        .filter_map(|r| r.last_upsert_by(at).map(|t| (t, r)))
        .max_by(|(a, ra), (b, rb)| a.cmp(b).then_with(|| ra.product.cmp(&rb.product)))
        .map(|(_, r)| r)
        .or_else(|| {
            records
                .iter()
                .min_by(|a, b| (a.created_at, &a.product).cmp(&(b.created_at, &b.product)))
        })
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
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
    /// An event that arrived after later ones changed what should have
    /// happened: the tag is set right (cause `late event ID`).
    Correction,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Automation => "automation",
            Cause::Config => "config",
            Cause::Person => "person",
            Cause::Correction => "correction",
        }
    }

    pub fn parse(s: &str) -> Cause {
        match s {
            "automation" => Cause::Automation,
            "config" => Cause::Config,
            "correction" => Cause::Correction,
            _ => Cause::Person,
        }
    }
}

/// A tag put on or taken off a partner or customer, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TagChange {
    pub subject_kind: Subject,
    pub subject: String,
    pub tag: String,
    pub added: bool,
    pub cause_kind: Cause,
    /// The automation's key, the config revision, the person, or `late
    /// event ID`.
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
    /// The event that recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The attributed partner; none while it waits for a referral signup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// The matched product; none while it waits for a product record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The config revision its commissions are priced under: the one in
    /// force when it came in.
    pub revision: u64,
    /// What the commission rules see, as things stood at its time.
    pub seen: Seen,
    /// Refunded so far.
    pub refunded: Money,
}

impl TransactionRecord {
    /// Where it stands in event order.
    pub fn mark(&self) -> Mark {
        Mark::new(
            self.at,
            RANK_TRANSACTION,
            self.event_id.as_deref().unwrap_or(&self.key),
        )
    }

    /// What is left to refund.
    pub fn refundable(&self) -> Money {
        Money::new(
            self.amount.minor() - self.refunded.minor(),
            self.amount.exp(),
        )
    }
}

/// Ranks of event kinds at one instant, for [`Mark`].
pub const RANK_JOINED: u8 = 0;
pub const RANK_UPDATED: u8 = 1;
pub const RANK_ACTIVE: u8 = 2;
pub const RANK_SIGNUP: u8 = 3;
pub const RANK_PRODUCT: u8 = 4;
pub const RANK_TRANSACTION: u8 = 5;
pub const RANK_REFUND: u8 = 6;

/// The facts commission rules read that change over time, as they were at a
/// transaction's time: `explain` judges it by these, so it agrees with the
/// ledger whatever happened since.
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

/// Money given back on a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RefundRecord {
    pub key: String,
    pub transaction: String,
    pub amount: Money,
    pub at: DateTime<Utc>,
    pub event_id: String,
    /// False while its transaction has not arrived.
    pub applied: bool,
}

impl RefundRecord {
    pub fn mark(&self) -> Mark {
        Mark::new(self.at, RANK_REFUND, &self.event_id)
    }
}

/// What a ledger line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Earned on a transaction.
    Commission,
    /// Taken back in proportion to a refund.
    Reversal,
    /// A correction: an event that arrived late changed what was earned.
    Adjustment,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Commission => "commission",
            LineKind::Reversal => "reversal",
            LineKind::Adjustment => "adjustment",
        }
    }

    pub fn parse(s: &str) -> Option<LineKind> {
        match s {
            "commission" => Some(LineKind::Commission),
            "reversal" => Some(LineKind::Reversal),
            "adjustment" => Some(LineKind::Adjustment),
            _ => None,
        }
    }
}

/// Where a line stands: from time and from the payout that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// Not yet past its hold period.
    Pending,
    /// Payable in the next payout.
    Approved,
    /// In a payout.
    Paid,
}

impl LineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LineStatus::Pending => "pending",
            LineStatus::Approved => "approved",
            LineStatus::Paid => "paid",
        }
    }

    pub fn parse(s: &str) -> Option<LineStatus> {
        match s {
            "pending" => Some(LineStatus::Pending),
            "approved" => Some(LineStatus::Approved),
            "paid" => Some(LineStatus::Paid),
            _ => None,
        }
    }
}

/// One line of the append-only ledger. Once written, its partner,
/// transaction, trigger, amount and dates never change, and it is never
/// deleted; only `payout` is set, once, when a payout takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LedgerLine {
    pub id: u64,
    pub partner: String,
    pub transaction: String,
    pub trigger: String,
    /// The config revision the commission was priced under.
    pub revision: u64,
    /// The product the transaction matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    pub kind: LineKind,
    pub amount: Money,
    pub due_at: DateTime<Utc>,
    /// `due_at` as a date in the program's time zone, where month ends are
    /// clamped (set when read from the engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_on: Option<chrono::NaiveDate>,
    /// 1-based; 1 of 1 unless dripped.
    pub installment: u32,
    pub installments: u32,
    /// Set when read from the engine.
    pub status: LineStatus,
    /// The payout that paid it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout: Option<u64>,
    /// A negative line against money already paid: approved at once, so the
    /// next payout nets it (a clawback).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clawback: bool,
    /// The event that caused a reversal or an adjustment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl LedgerLine {
    /// Its status at `now` with a hold of `hold_days`.
    pub fn status_at(&self, now: DateTime<Utc>, hold_days: u32) -> LineStatus {
        if self.payout.is_some() {
            LineStatus::Paid
        } else if self.clawback || now >= self.due_at + chrono::Duration::days(hold_days.into()) {
            LineStatus::Approved
        } else {
            LineStatus::Pending
        }
    }
}

/// A ledger line to write: a [`LedgerLine`] before the store numbers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub partner: String,
    pub transaction: String,
    pub trigger: String,
    pub revision: u64,
    pub product: Option<String>,
    pub kind: LineKind,
    pub amount: Money,
    pub due_at: DateTime<Utc>,
    pub installment: u32,
    pub installments: u32,
    pub clawback: bool,
    pub cause: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What lines of a (partner, transaction, trigger, installment) add up to,
/// and whether any of them was paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineNet {
    pub partner: String,
    pub transaction: String,
    pub trigger: String,
    pub installment: u32,
    pub installments: u32,
    pub revision: u64,
    pub product: Option<String>,
    pub due_at: DateTime<Utc>,
    pub net: Money,
    pub paid: Money,
}

/// A batch of payments to partners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Payout {
    pub id: u64,
    pub program: String,
    pub created_at: DateTime<Utc>,
    /// Lines approved at this time were taken.
    pub as_of: DateTime<Utc>,
    pub partners: u64,
    pub lines: u64,
    pub total: Money,
    pub currency: String,
}

/// One partner's part of a payout (or of a payout plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PayoutPartner {
    pub partner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub amount: Money,
    pub lines: u64,
}

/// One side of a payout plan, the partners paid or those carried over:
/// how many, what they add up to, and the rows asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanSide {
    pub partners: u64,
    /// In minor units.
    pub amount: i64,
    pub lines: u64,
    pub rows: Vec<PayoutPartner>,
}

/// A payout plan as the store sums it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanRows {
    pub paid: PlanSide,
    pub carried: PlanSide,
}

/// Which rows of a payout plan to return: from each side, `limit` rows
/// (in partner order) after skipping `paid_from` or `carried_from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanWindow {
    pub paid_from: u64,
    pub carried_from: u64,
    pub limit: u64,
}

/// An accepted event as it is kept.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: String,
    pub kind: &'static str,
    pub at: DateTime<Utc>,
    /// The partner a partner event (joined, updated, active) is about: what
    /// a replay of that partner reads.
    pub subject: Option<String>,
    pub body: String,
}
