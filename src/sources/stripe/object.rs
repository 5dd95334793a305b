//! Stripe's objects as its webhooks send them, reduced to the fields the
//! source reads. Unknown fields are ignored: Stripe adds fields in every API
//! version, and an event must not be refused for one.
//!
//! Two shapes of the billing objects are read: API versions up to
//! 2025-02-24.acacia (an invoice line names its `subscription_item`, a charge
//! its `invoice`, an invoice its `charge` and `payment_intent`), and
//! 2025-03-31.basil and later (the line's
//! `parent.subscription_item_details.subscription_item`; which payment paid
//! an invoice comes in `invoice_payment.paid`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

/// An id, or the object it names when the sender expanded it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    pub fn id(&self) -> &str {
        match self {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }
    }
}

/// Stripe's list object: `{object: "list", data: [...], has_more}`.
#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// The event envelope, its object still unread.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    pub id: String,
    pub object: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds.
    pub created: i64,
    pub data: EventData,
    #[serde(default)]
    pub api_version: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: Box<RawValue>,
    #[serde(default)]
    pub previous_attributes: Option<Box<RawValue>>,
}

pub type Metadata = HashMap<String, String>;

#[derive(Debug, Clone, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    pub created: i64,
    #[serde(default)]
    pub customer: Option<Expandable>,
    #[serde(default)]
    pub client_reference_id: Option<String>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Customer {
    pub id: String,
    pub created: i64,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Price {
    pub id: String,
    #[serde(default)]
    pub lookup_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionItem {
    pub id: String,
    pub price: Price,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub customer: Expandable,
    pub status: String,
    pub items: List<SubscriptionItem>,
}

/// What `customer.subscription.updated` says changed: the items before, when
/// they changed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SubscriptionBefore {
    #[serde(default)]
    pub items: Option<List<SubscriptionItem>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DiscountAmount {
    pub amount: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionItemDetails {
    #[serde(default)]
    pub subscription_item: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LineParent {
    #[serde(default)]
    pub subscription_item_details: Option<SubscriptionItemDetails>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InvoiceLine {
    pub id: String,
    /// Before discounts and tax, in minor units.
    pub amount: i64,
    #[serde(default)]
    pub discount_amounts: Option<Vec<DiscountAmount>>,
    /// Up to 2025-02-24.acacia.
    #[serde(default)]
    pub subscription_item: Option<Expandable>,
    /// From 2025-03-31.basil.
    #[serde(default)]
    pub parent: Option<LineParent>,
}

impl InvoiceLine {
    /// The subscription item the line bills, in either API shape.
    pub fn subscription_item(&self) -> Option<&str> {
        self.subscription_item
            .as_ref()
            .map(Expandable::id)
            .or_else(|| {
                self.parent
                    .as_ref()?
                    .subscription_item_details
                    .as_ref()?
                    .subscription_item
                    .as_deref()
            })
    }

    /// What the customer pays for the line: its amount less its discounts
    /// (tax is not the seller's revenue).
    pub fn net(&self) -> i64 {
        let discounts: i64 = self
            .discount_amounts
            .iter()
            .flatten()
            .map(|d| d.amount)
            .sum();
        self.amount.saturating_sub(discounts)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatusTransitions {
    #[serde(default)]
    pub paid_at: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Invoice {
    pub id: String,
    #[serde(default)]
    pub customer: Option<Expandable>,
    pub currency: String,
    #[serde(default)]
    pub billing_reason: Option<String>,
    #[serde(default)]
    pub status_transitions: Option<StatusTransitions>,
    pub lines: List<InvoiceLine>,
    /// Up to 2025-02-24.acacia.
    #[serde(default)]
    pub charge: Option<Expandable>,
    /// Up to 2025-02-24.acacia.
    #[serde(default)]
    pub payment_intent: Option<Expandable>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    pub id: String,
    pub amount: i64,
    /// Everything refunded so far: Stripe's figure, not this refund's.
    pub amount_refunded: i64,
    pub currency: String,
    /// Up to 2025-02-24.acacia.
    #[serde(default)]
    pub invoice: Option<Expandable>,
    #[serde(default)]
    pub payment_intent: Option<Expandable>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InvoicePaymentDetails {
    #[serde(default)]
    pub payment_intent: Option<Expandable>,
    #[serde(default)]
    pub charge: Option<Expandable>,
}

/// From 2025-03-31.basil: which payment paid (part of) an invoice.
#[derive(Debug, Clone, Deserialize)]
pub struct InvoicePayment {
    pub id: String,
    pub invoice: Expandable,
    pub payment: InvoicePaymentDetails,
}

/// What a Stripe event carries, for the types the source uses.
#[derive(Debug, Clone)]
pub enum Payload {
    CheckoutCompleted(CheckoutSession),
    CustomerCreated(Customer),
    Subscription(Subscription, SubscriptionBefore),
    InvoicePaid(Invoice),
    ChargeRefunded(Charge),
    InvoicePaymentPaid(InvoicePayment),
}

/// The event types the source uses; every other type is answered and ignored.
pub const TYPES: [&str; 8] = [
    "checkout.session.completed",
    "customer.created",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "charge.refunded",
    "invoice_payment.paid",
];

/// A Stripe event the source uses, read.
#[derive(Debug, Clone)]
pub struct StripeEvent {
    pub id: String,
    pub kind: String,
    pub created: DateTime<Utc>,
    pub payload: Payload,
}

/// A Stripe event as read.
#[derive(Debug, Clone)]
pub enum Read {
    Used(Box<StripeEvent>),
    /// Of a type the source does not use.
    Unused {
        id: String,
        kind: String,
    },
}

/// Reads a Stripe event: its envelope, and its object for the types the
/// source uses.
pub fn read(text: &str) -> Result<Read, String> {
    let envelope: Envelope =
        serde_json::from_str(text).map_err(|e| format!("not a Stripe event: {}", plain(&e)))?;
    if envelope.object != "event" {
        return Err(format!(
            "not a Stripe event: `object` is `{}`, not `event`",
            envelope.object
        ));
    }
    let created = time(envelope.created)
        .ok_or_else(|| format!("`created` {} is not a time", envelope.created))?;
    let object = envelope.data.object.get();
    let what = |e: serde_json::Error| {
        format!(
            "event {} ({}): data.object: {}",
            envelope.id,
            envelope.kind,
            plain(&e)
        )
    };
    let payload = match envelope.kind.as_str() {
        "checkout.session.completed" => {
            Payload::CheckoutCompleted(serde_json::from_str(object).map_err(what)?)
        }
        "customer.created" => Payload::CustomerCreated(serde_json::from_str(object).map_err(what)?),
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let before = match &envelope.data.previous_attributes {
                Some(raw) => serde_json::from_str(raw.get()).map_err(what)?,
                None => SubscriptionBefore::default(),
            };
            Payload::Subscription(serde_json::from_str(object).map_err(what)?, before)
        }
        "invoice.paid" => Payload::InvoicePaid(serde_json::from_str(object).map_err(what)?),
        "charge.refunded" => Payload::ChargeRefunded(serde_json::from_str(object).map_err(what)?),
        "invoice_payment.paid" => {
            Payload::InvoicePaymentPaid(serde_json::from_str(object).map_err(what)?)
        }
        _ => {
            return Ok(Read::Unused {
                id: envelope.id,
                kind: envelope.kind,
            });
        }
    };
    Ok(Read::Used(Box::new(StripeEvent {
        id: envelope.id,
        kind: envelope.kind,
        created,
        payload,
    })))
}

/// Unix seconds as a time.
pub fn time(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

/// serde_json's message without "at line 1 column 40": the body is one line.
fn plain(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}
