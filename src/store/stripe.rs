//! What the Stripe source keeps: its signing secret per program, the Stripe
//! events it has taken, and the invoices, payments and charges it needs to
//! turn a refund into partnerops refunds. Records only; the source decides.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A Stripe event the source has taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeEventRecord {
    pub id: String,
    pub kind: String,
    pub created: DateTime<Utc>,
    /// The partnerops events it became, NDJSON.
    pub events: String,
    /// Why it became no event, or what of it was left out.
    pub notes: Vec<String>,
}

/// A line of a paid invoice that became a partnerops transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLineRecord {
    /// Stripe's line id (`il_...`).
    pub id: String,
    /// The partnerops transaction key.
    pub transaction: String,
    /// In the currency's minor units.
    pub amount: i64,
}

/// A paid invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRecord {
    pub id: String,
    pub customer: String,
    /// ISO 4217, upper case.
    pub currency: String,
    pub lines: Vec<InvoiceLineRecord>,
}

/// A refunded charge: how much Stripe says is refunded, and how much of that
/// the source has turned into partnerops refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRecord {
    pub id: String,
    pub payment_intent: Option<String>,
    /// The invoice, when the charge names it (API versions before 2025-03-31).
    pub invoice: Option<String>,
    pub amount: i64,
    pub currency: String,
    /// The highest `amount_refunded` seen.
    pub refunded: i64,
    pub passed_on: i64,
    /// When `refunded` was last raised.
    pub refunded_at: DateTime<Utc>,
}

/// What one unit of the source's work writes.
#[derive(Debug, Clone, Default)]
pub struct StripeWrites {
    pub events: Vec<StripeEventRecord>,
    pub invoices: Vec<InvoiceRecord>,
    /// (payment, invoice): a charge or payment intent that paid an invoice.
    pub payments: Vec<(String, String)>,
    pub charges: Vec<ChargeRecord>,
}

#[async_trait]
pub trait StripeStore: Send + Sync {
    async fn stripe_secret(&self, program: &str) -> Result<Option<String>>;
    async fn set_stripe_secret(&self, program: &str, secret: &str) -> Result<()>;
    /// A write transaction on a program's Stripe records, held until commit;
    /// dropped without commit, it rolls back.
    async fn stripe_tx(&self, program: &str) -> Result<Box<dyn StripeTx>>;
}

#[async_trait]
pub trait StripeTx: Send {
    /// The program's config revision now (0: no config).
    async fn revision(&mut self) -> Result<u64>;
    /// The events of `ids` already taken.
    async fn recorded(&mut self, ids: &[&str]) -> Result<HashMap<String, StripeEventRecord>>;
    /// (payment, invoice) links whose payment is one of `payments` or whose
    /// invoice is one of `invoices`.
    async fn payments(
        &mut self,
        payments: &[&str],
        invoices: &[&str],
    ) -> Result<Vec<(String, String)>>;
    async fn invoices(&mut self, ids: &[&str]) -> Result<Vec<InvoiceRecord>>;
    /// Charges with one of `ids`, one of `payment_intents` or one of `invoices`.
    async fn charges(
        &mut self,
        ids: &[&str],
        payment_intents: &[&str],
        invoices: &[&str],
    ) -> Result<Vec<ChargeRecord>>;
    async fn write(&mut self, writes: &StripeWrites) -> Result<()>;
    async fn commit(self: Box<Self>) -> Result<()>;
}
