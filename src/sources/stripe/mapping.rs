//! Stripe events in, partnerops events out (as JSON, in the wire format of
//! `POST /v1/programs/{program}/events`).
//!
//! Ids are derived from Stripe's ids, so a Stripe event mapped twice makes
//! the same partnerops events and the engine takes them once:
//! - a signup is `stripe:{customer}:signed_up`, whichever of
//!   `checkout.session.completed` and `customer.created` brings it first;
//! - a customer product change is `stripe:{event}:{subscription item}`;
//! - a transaction is `stripe:{invoice}:{line}`, its key `{invoice}:{line}`;
//! - a refund is `stripe:{charge}:{refunded}:{line}`, its key
//!   `{charge}:{refunded}:{line}`, where `refunded` is Stripe's cumulative
//!   `amount_refunded` the refund brings the charge to.
//!
//! Refunds: `charge.refunded` carries the charge's cumulative
//! `amount_refunded`, not the refund (its `refunds` list is not sent since
//! API 2022-11-15). The source keeps the highest figure seen per charge and
//! how much of it it has passed on, and passes on the difference. Each line
//! of the charge's invoice gets back its share: after refunds of R of a
//! charge of C, a line of amount L has had `round(L × R / C)` back (at most
//! L). Shares only grow with R, so refunds in any order, or a partial one
//! arriving after the full one, end at the same figures, and a full refund
//! gives back every line whole. A refund whose invoice has not arrived waits
//! for it: `invoice.paid` (or, from API 2025-03-31, `invoice_payment.paid`,
//! which says which payment paid it) passes it on.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::object::{
    Charge, CheckoutSession, Customer, Expandable, Invoice, InvoicePayment, Payload, StripeEvent,
    Subscription, SubscriptionBefore, SubscriptionItem, time,
};
use crate::spec::Config;
use crate::store::stripe::{ChargeRecord, InvoiceLineRecord, InvoiceRecord, StripeWrites};

/// What the mapping needs of the program's config.
#[derive(Debug, Clone)]
pub struct ProgramView {
    pub revision: u64,
    /// ISO 4217, upper case.
    pub currency: String,
    /// Decimal places of the currency (USD 2, JPY 0, KWD 3).
    pub exponent: u32,
    /// Price id or lookup key → product key.
    pub prices: HashMap<String, String>,
}

impl ProgramView {
    pub fn new(revision: u64, config: &Config) -> Result<ProgramView, String> {
        let currency = config.program.currency.to_ascii_uppercase();
        let exponent = iso_currency::Currency::from_code(&currency)
            .and_then(iso_currency::Currency::exponent)
            .ok_or_else(|| {
                format!(
                    "program `{}`: currency `{currency}` is not an ISO 4217 currency with minor units",
                    config.program.key
                )
            })?;
        let mut prices = HashMap::new();
        for product in &config.products {
            for price in product.stripe.iter().flat_map(|s| &s.prices) {
                prices.insert(price.clone(), product.key.clone());
            }
        }
        Ok(ProgramView {
            revision,
            currency,
            exponent: u32::from(exponent),
            prices,
        })
    }

    /// The product a subscription item is: by its price id, else its lookup key.
    fn product(&self, item: &SubscriptionItem) -> Option<&str> {
        self.prices
            .get(&item.price.id)
            .or_else(|| {
                item.price
                    .lookup_key
                    .as_ref()
                    .and_then(|k| self.prices.get(k))
            })
            .map(String::as_str)
    }

    fn amount(&self, minor: i64) -> String {
        decimal(minor, self.exponent)
    }

    /// Why an amount in `currency` cannot be taken, if it cannot.
    fn foreign(&self, currency: &str) -> Option<String> {
        (!currency.eq_ignore_ascii_case(&self.currency)).then(|| {
            format!(
                "the amount is in {}, the program's currency is {}: partnerops converts no currencies",
                currency.to_ascii_uppercase(),
                self.currency
            )
        })
    }
}

/// Minor units as a decimal string with `exponent` places: 1999, 2 → "19.99".
pub fn decimal(minor: i64, exponent: u32) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{abs}");
    }
    let unit = 10u64.pow(exponent);
    format!(
        "{sign}{}.{:0width$}",
        abs / unit,
        abs % unit,
        width = exponent as usize
    )
}

/// The records a batch of Stripe events reads and changes, in memory (the
/// store loads them first and writes the changes after).
#[derive(Debug, Clone, Default)]
pub struct Records {
    pub invoices: HashMap<String, InvoiceRecord>,
    /// Payment (charge or payment intent) → the invoice it paid.
    pub payments: HashMap<String, String>,
    pub charges: HashMap<String, ChargeRecord>,
    changed_invoices: HashSet<String>,
    new_payments: Vec<(String, String)>,
    changed_charges: HashSet<String>,
}

impl Records {
    /// What changed, to write.
    pub fn writes(&self) -> StripeWrites {
        StripeWrites {
            events: Vec::new(),
            invoices: self
                .changed_invoices
                .iter()
                .filter_map(|id| self.invoices.get(id).cloned())
                .collect(),
            payments: self.new_payments.clone(),
            charges: self
                .changed_charges
                .iter()
                .filter_map(|id| self.charges.get(id).cloned())
                .collect(),
        }
    }

    fn link(&mut self, payment: &str, invoice: &str) {
        if !self.payments.contains_key(payment) {
            self.payments.insert(payment.to_owned(), invoice.to_owned());
            self.new_payments
                .push((payment.to_owned(), invoice.to_owned()));
        }
    }

    /// The invoice a charge paid, when known.
    fn invoice_of(&self, charge: &ChargeRecord) -> Option<&InvoiceRecord> {
        let id = charge
            .invoice
            .as_ref()
            .or_else(|| self.payments.get(&charge.id))
            .or_else(|| {
                charge
                    .payment_intent
                    .as_ref()
                    .and_then(|pi| self.payments.get(pi))
            })?;
        self.invoices.get(id)
    }

    /// Charges that may belong to `invoice`.
    fn charges_of(&self, invoice: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .charges
            .values()
            .filter(|c| {
                c.invoice.as_deref() == Some(invoice)
                    || self.payments.get(&c.id).is_some_and(|i| i == invoice)
                    || c.payment_intent
                        .as_ref()
                        .and_then(|pi| self.payments.get(pi))
                        .is_some_and(|i| i == invoice)
            })
            .map(|c| c.id.clone())
            .collect();
        ids.sort();
        ids
    }
}

/// What one Stripe event became.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapped {
    /// partnerops events, in the wire format.
    pub events: Vec<Value>,
    /// Why the event became nothing, or what of it was left out.
    pub notes: Vec<String>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn at(seconds: i64, fallback: DateTime<Utc>) -> DateTime<Utc> {
    time(seconds).unwrap_or(fallback)
}

/// Turns one Stripe event into partnerops events, reading and updating
/// `records`.
pub fn map(event: &StripeEvent, program: &ProgramView, records: &mut Records) -> Mapped {
    let mut out = Mapped::default();
    match &event.payload {
        Payload::CheckoutCompleted(session) => checkout(session, event, &mut out),
        Payload::CustomerCreated(customer) => customer_created(customer, event, &mut out),
        Payload::Subscription(subscription, before) => {
            subscription_items(subscription, before, event, program, &mut out);
        }
        Payload::InvoicePaid(invoice) => invoice_paid(invoice, event, program, records, &mut out),
        Payload::ChargeRefunded(charge) => {
            charge_refunded(charge, event, program, records, &mut out);
        }
        Payload::InvoicePaymentPaid(payment) => {
            invoice_payment(payment, program, records, &mut out)
        }
    }
    out
}

fn signup(customer: &str, partner: &str, when: DateTime<Utc>) -> Value {
    json!({
        "id": format!("stripe:{customer}:signed_up"),
        "type": "customer.signed_up",
        "at": rfc3339(when),
        "customer": { "key": customer },
        "partner": { "key": partner },
    })
}

fn partner_in(metadata: Option<&super::object::Metadata>) -> Option<&str> {
    metadata
        .and_then(|m| m.get("partner"))
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
}

fn checkout(session: &CheckoutSession, event: &StripeEvent, out: &mut Mapped) {
    // metadata.partner says so explicitly; client_reference_id is what a
    // pricing page can set from the referral link.
    let partner = partner_in(session.metadata.as_ref()).or_else(|| {
        session
            .client_reference_id
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
    });
    let Some(partner) = partner else {
        out.notes.push(format!(
            "checkout session {} has no client_reference_id or metadata.partner: not a referral",
            session.id
        ));
        return;
    };
    let Some(customer) = &session.customer else {
        out.notes.push(format!(
            "checkout session {} made no Stripe customer (in payment mode, set customer_creation: always): no one to attribute",
            session.id
        ));
        return;
    };
    // Dated when the session was opened: before the invoice it pays, so the
    // first purchase is attributed to the referral.
    out.events.push(signup(
        customer.id(),
        partner,
        at(session.created, event.created),
    ));
}

fn customer_created(customer: &Customer, event: &StripeEvent, out: &mut Mapped) {
    match partner_in(customer.metadata.as_ref()) {
        Some(partner) => out.events.push(signup(
            &customer.id,
            partner,
            at(customer.created, event.created),
        )),
        None => out.notes.push(format!(
            "customer {} has no metadata.partner: not a referral",
            customer.id
        )),
    }
}

/// Stripe's subscription status as a product status; `None` for a
/// subscription that has not started (its first payment is pending or failed).
fn status(stripe: &str) -> Option<&'static str> {
    match stripe {
        "trialing" => Some("trial"),
        "active" | "past_due" => Some("active"),
        // A paused subscription is a trial that ended without a payment method.
        "canceled" | "unpaid" | "paused" => Some("churned"),
        _ => None,
    }
}

fn subscription_items(
    subscription: &Subscription,
    before: &SubscriptionBefore,
    event: &StripeEvent,
    program: &ProgramView,
    out: &mut Mapped,
) {
    let Some(product_status) = status(&subscription.status) else {
        out.notes.push(format!(
            "subscription {} is `{}`: it becomes a customer product once it is trialing or active",
            subscription.id, subscription.status
        ));
        return;
    };
    let customer = subscription.customer.id();
    let upsert = |item: &SubscriptionItem, product: &str, status: &str| {
        json!({
            "id": format!("stripe:{}:{}", event.id, item.id),
            "type": "customer_product.upserted",
            "at": rfc3339(event.created),
            "customer": { "key": customer },
            "product": product,
            "status": status,
            "external_subscription_key": item.id,
        })
    };
    let unlisted = |item: &SubscriptionItem, out: &mut Mapped| {
        let lookup = item
            .price
            .lookup_key
            .as_ref()
            .map(|k| format!(" (lookup_key `{k}`)"))
            .unwrap_or_default();
        out.notes.push(format!(
            "subscription item {}: price `{}`{lookup} is listed by no product's stripe.prices",
            item.id, item.price.id
        ));
    };
    let current: HashSet<&str> = subscription
        .items
        .data
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    for item in &subscription.items.data {
        match program.product(item) {
            Some(product) => out.events.push(upsert(item, product, product_status)),
            None => unlisted(item, out),
        }
    }
    // An item taken off the subscription: its product ends.
    for item in before.items.iter().flat_map(|l| &l.data) {
        if current.contains(item.id.as_str()) {
            continue;
        }
        match program.product(item) {
            Some(product) => out.events.push(upsert(item, product, "churned")),
            None => unlisted(item, out),
        }
    }
    if subscription.items.has_more {
        out.notes.push(format!(
            "subscription {} has more items than the event lists; only those listed were taken",
            subscription.id
        ));
    }
}

fn invoice_paid(
    invoice: &Invoice,
    event: &StripeEvent,
    program: &ProgramView,
    records: &mut Records,
    out: &mut Mapped,
) {
    if let Some(why) = program.foreign(&invoice.currency) {
        out.notes.push(format!("invoice {}: {why}", invoice.id));
        return;
    }
    let Some(customer) = invoice.customer.as_ref().map(Expandable::id) else {
        out.notes.push(format!(
            "invoice {} has no customer: no one to attribute",
            invoice.id
        ));
        return;
    };
    let paid_at = invoice
        .status_transitions
        .as_ref()
        .and_then(|s| s.paid_at)
        .map_or(event.created, |t| at(t, event.created));
    let kind = if invoice.billing_reason.as_deref() == Some("subscription_cycle") {
        "recurring"
    } else {
        "one_time"
    };
    let mut lines = Vec::new();
    for line in &invoice.lines.data {
        let net = line.net();
        if net <= 0 {
            out.notes.push(format!(
                "invoice line {} is {}: not a sale",
                line.id,
                program.amount(net)
            ));
            continue;
        }
        let key = format!("{}:{}", invoice.id, line.id);
        let mut transaction = json!({
            "key": key,
            "customer": customer,
            "amount": program.amount(net),
            "kind": kind,
        });
        if let Some(item) = line.subscription_item() {
            transaction["subscription_key"] = json!(item);
        }
        out.events.push(json!({
            "id": format!("stripe:{key}"),
            "type": "transaction.created",
            "at": rfc3339(paid_at),
            "transaction": transaction,
        }));
        lines.push(InvoiceLineRecord {
            id: line.id.clone(),
            transaction: key,
            amount: net,
        });
    }
    if invoice.lines.has_more {
        out.notes.push(format!(
            "invoice {} has more lines than the event lists; only those listed were taken",
            invoice.id
        ));
    }
    records.invoices.insert(
        invoice.id.clone(),
        InvoiceRecord {
            id: invoice.id.clone(),
            customer: customer.to_owned(),
            currency: program.currency.clone(),
            lines,
        },
    );
    records.changed_invoices.insert(invoice.id.clone());
    for payment in [&invoice.charge, &invoice.payment_intent]
        .into_iter()
        .flatten()
    {
        records.link(payment.id(), &invoice.id);
    }
    // Refunds that came before the invoice.
    for charge in records.charges_of(&invoice.id) {
        pass_on_refunds(&charge, program, records, out);
    }
}

fn charge_refunded(
    charge: &Charge,
    event: &StripeEvent,
    program: &ProgramView,
    records: &mut Records,
    out: &mut Mapped,
) {
    if let Some(why) = program.foreign(&charge.currency) {
        out.notes.push(format!("charge {}: {why}", charge.id));
        return;
    }
    let record = records
        .charges
        .entry(charge.id.clone())
        .or_insert_with(|| ChargeRecord {
            id: charge.id.clone(),
            payment_intent: None,
            invoice: None,
            amount: charge.amount,
            currency: program.currency.clone(),
            refunded: 0,
            passed_on: 0,
            refunded_at: event.created,
        });
    record.amount = charge.amount;
    if record.payment_intent.is_none() {
        record.payment_intent = charge.payment_intent.as_ref().map(|p| p.id().to_owned());
    }
    if record.invoice.is_none() {
        record.invoice = charge.invoice.as_ref().map(|i| i.id().to_owned());
    }
    // Deliveries come in any order: an older, smaller figure changes nothing.
    if charge.amount_refunded > record.refunded {
        record.refunded = charge.amount_refunded;
        record.refunded_at = event.created;
    }
    records.changed_charges.insert(charge.id.clone());
    if records
        .charges
        .get(&charge.id)
        .is_some_and(|c| records.invoice_of(c).is_none())
    {
        out.notes.push(format!(
            "charge {} is refunded but its invoice has not arrived: the refund is passed on when it does",
            charge.id
        ));
        return;
    }
    pass_on_refunds(&charge.id, program, records, out);
}

fn invoice_payment(
    payment: &InvoicePayment,
    program: &ProgramView,
    records: &mut Records,
    out: &mut Mapped,
) {
    let invoice = payment.invoice.id().to_owned();
    for paid_with in [&payment.payment.charge, &payment.payment.payment_intent]
        .into_iter()
        .flatten()
    {
        records.link(paid_with.id(), &invoice);
    }
    for charge in records.charges_of(&invoice) {
        pass_on_refunds(&charge, program, records, out);
    }
    if out.events.is_empty() {
        out.notes.push(format!(
            "invoice payment {} links its payment to invoice {invoice}; nothing to pass on yet",
            payment.id
        ));
    }
}

/// A line's share of a charge's refunds: `round(line × refunded / amount)`,
/// half away from zero, at most the line.
fn share(line: i64, refunded: i64, amount: i64) -> i64 {
    if amount <= 0 || refunded <= 0 {
        return 0;
    }
    if refunded >= amount {
        return line;
    }
    let (n, d) = (i128::from(line) * i128::from(refunded), i128::from(amount));
    let rounded = (2 * n + d) / (2 * d);
    i64::try_from(rounded).unwrap_or(line).min(line)
}

/// Passes on what a charge has had refunded beyond what was passed on, one
/// refund per line of its invoice.
fn pass_on_refunds(charge: &str, program: &ProgramView, records: &mut Records, out: &mut Mapped) {
    let Some(record) = records.charges.get(charge) else {
        return;
    };
    if record.refunded <= record.passed_on {
        return;
    }
    let Some(invoice) = records.invoice_of(record) else {
        return;
    };
    for line in &invoice.lines {
        let back = share(line.amount, record.refunded, record.amount)
            - share(line.amount, record.passed_on, record.amount);
        if back <= 0 {
            continue;
        }
        let key = format!("{}:{}:{}", record.id, record.refunded, line.id);
        out.events.push(json!({
            "id": format!("stripe:{key}"),
            "type": "transaction.refunded",
            "at": rfc3339(record.refunded_at),
            "refund": {
                "key": key,
                "transaction": line.transaction,
                "amount": program.amount(back),
            },
        }));
    }
    let refunded = record.refunded;
    if let Some(record) = records.charges.get_mut(charge) {
        record.passed_on = refunded;
    }
    records.changed_charges.insert(charge.to_owned());
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self as f, Item, Line, Shape};
    use super::super::object::{Read, read};
    use super::*;

    fn view() -> ProgramView {
        ProgramView {
            revision: 1,
            currency: "USD".to_owned(),
            exponent: 2,
            prices: [
                ("price_inbox", "inbox"),
                ("inbox-monthly", "inbox"),
                ("price_chat", "live-chat"),
            ]
            .into_iter()
            .map(|(p, k)| (p.to_owned(), k.to_owned()))
            .collect(),
        }
    }

    /// Maps Stripe events (as JSON) in order, as one source would.
    fn run(events: &[Value], records: &mut Records) -> Vec<Mapped> {
        let view = view();
        events
            .iter()
            .map(|e| match read(&e.to_string()).unwrap() {
                Read::Used(event) => map(&event, &view, records),
                Read::Unused { kind, .. } => panic!("{kind} is used"),
            })
            .collect()
    }

    fn one(event: Value) -> Mapped {
        run(&[event], &mut Records::default()).remove(0)
    }

    const T: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    #[test]
    fn amounts_use_the_currency_exponent() {
        assert_eq!(decimal(1999, 2), "19.99");
        assert_eq!(decimal(5, 2), "0.05");
        assert_eq!(decimal(500, 0), "500");
        assert_eq!(decimal(1234, 3), "1.234");
        assert_eq!(decimal(-250, 2), "-2.50");
        let config = |currency: &str| {
            Config::new(crate::spec::Program {
                key: "p".into(),
                name: "P".into(),
                currency: currency.into(),
                timezone: "UTC".into(),
                payouts: crate::spec::Payouts::default(),
            })
        };
        assert_eq!(ProgramView::new(1, &config("JPY")).unwrap().exponent, 0);
        assert_eq!(ProgramView::new(1, &config("KWD")).unwrap().exponent, 3);
        assert_eq!(ProgramView::new(1, &config("USD")).unwrap().exponent, 2);
        assert!(ProgramView::new(1, &config("XXY")).is_err());
    }

    #[test]
    fn a_checkout_with_a_referral_is_a_signup_dated_when_the_session_opened() {
        let session = f::checkout_session(
            "cs_1",
            T,
            Some("cus_1"),
            Some("alice-agency"),
            None,
            Some("sub_1"),
        );
        let mapped = one(f::event(
            "evt_1",
            "checkout.session.completed",
            T + 90,
            Shape::Basil,
            session,
        ));
        assert_eq!(
            mapped.events,
            [json!({
                "id": "stripe:cus_1:signed_up",
                "type": "customer.signed_up",
                "at": "2026-01-01T00:00:00Z",
                "customer": { "key": "cus_1" },
                "partner": { "key": "alice-agency" },
            })]
        );
        assert!(mapped.notes.is_empty());
        // metadata.partner says so explicitly and wins.
        let session = f::checkout_session(
            "cs_2",
            T,
            Some("cus_2"),
            Some("user-42"),
            Some("bob-blog"),
            None,
        );
        let mapped = one(f::event(
            "evt_2",
            "checkout.session.completed",
            T,
            Shape::Acacia,
            session,
        ));
        assert_eq!(mapped.events[0]["partner"]["key"], "bob-blog");
        // No referral, or no one to attribute: nothing, and why.
        let session = f::checkout_session("cs_3", T, Some("cus_3"), None, None, None);
        let mapped = one(f::event(
            "evt_3",
            "checkout.session.completed",
            T,
            Shape::Acacia,
            session,
        ));
        assert!(mapped.events.is_empty());
        assert!(
            mapped.notes[0].contains("not a referral"),
            "{:?}",
            mapped.notes
        );
        let session = f::checkout_session("cs_4", T, None, Some("alice-agency"), None, None);
        let mapped = one(f::event(
            "evt_4",
            "checkout.session.completed",
            T,
            Shape::Acacia,
            session,
        ));
        assert!(mapped.events.is_empty());
        assert!(
            mapped.notes[0].contains("customer_creation"),
            "{:?}",
            mapped.notes
        );
    }

    #[test]
    fn a_customer_created_with_a_partner_is_a_signup() {
        let mapped = one(f::event(
            "evt_5",
            "customer.created",
            T + 1,
            Shape::Acacia,
            f::customer("cus_9", T, Some("carol-creator")),
        ));
        assert_eq!(
            mapped.events,
            [json!({
                "id": "stripe:cus_9:signed_up",
                "type": "customer.signed_up",
                "at": "2026-01-01T00:00:00Z",
                "customer": { "key": "cus_9" },
                "partner": { "key": "carol-creator" },
            })]
        );
        let mapped = one(f::event(
            "evt_6",
            "customer.created",
            T,
            Shape::Acacia,
            f::customer("cus_8", T, None),
        ));
        assert!(mapped.events.is_empty());
        assert!(mapped.notes[0].contains("no metadata.partner"));
    }

    fn items() -> Vec<Item<'static>> {
        vec![
            Item {
                id: "si_a",
                price: "price_inbox",
                lookup_key: None,
                unit_amount: 4900,
            },
            Item {
                id: "si_b",
                price: "price_1Pgafm",
                lookup_key: Some("inbox-monthly"),
                unit_amount: 4900,
            },
            Item {
                id: "si_c",
                price: "price_addon",
                lookup_key: None,
                unit_amount: 500,
            },
        ]
    }

    #[test]
    fn each_subscription_item_on_a_listed_price_is_a_customer_product() {
        let sub = f::subscription("sub_1", "cus_1", "trialing", T, &items());
        let mapped = one(f::event(
            "evt_7",
            "customer.subscription.created",
            T + 2,
            Shape::Basil,
            sub,
        ));
        assert_eq!(
            mapped.events,
            [
                json!({
                    "id": "stripe:evt_7:si_a",
                    "type": "customer_product.upserted",
                    "at": "2026-01-01T00:00:02Z",
                    "customer": { "key": "cus_1" },
                    "product": "inbox",
                    "status": "trial",
                    "external_subscription_key": "si_a",
                }),
                json!({
                    "id": "stripe:evt_7:si_b",
                    "type": "customer_product.upserted",
                    "at": "2026-01-01T00:00:02Z",
                    "customer": { "key": "cus_1" },
                    "product": "inbox",
                    "status": "trial",
                    "external_subscription_key": "si_b",
                }),
            ]
        );
        assert_eq!(mapped.notes.len(), 1);
        assert!(
            mapped.notes[0].contains("price `price_addon` is listed by no product"),
            "{:?}",
            mapped.notes
        );
        for (stripe, ours) in [
            ("trialing", Some("trial")),
            ("active", Some("active")),
            ("past_due", Some("active")),
            ("canceled", Some("churned")),
            ("unpaid", Some("churned")),
            ("paused", Some("churned")),
            ("incomplete", None),
            ("incomplete_expired", None),
        ] {
            let sub = f::subscription("sub_1", "cus_1", stripe, T, &items()[..1]);
            let kind = if stripe == "canceled" {
                "customer.subscription.deleted"
            } else {
                "customer.subscription.updated"
            };
            let mapped = one(f::event("evt_8", kind, T, Shape::Acacia, sub));
            assert_eq!(
                mapped.events.first().map(|e| e["status"].as_str().unwrap()),
                ours,
                "{stripe}"
            );
        }
    }

    #[test]
    fn an_item_taken_off_a_subscription_churns() {
        let now = f::subscription("sub_1", "cus_1", "active", T, &items()[1..2]);
        let before = f::subscription("sub_1", "cus_1", "active", T, &items()[..2]);
        let event = f::event_with_previous(
            "evt_9",
            "customer.subscription.updated",
            T + 60,
            Shape::Acacia,
            now,
            json!({ "items": before["items"].clone() }),
        );
        let mapped = one(event);
        let got: Vec<(&str, &str)> = mapped
            .events
            .iter()
            .map(|e| {
                (
                    e["external_subscription_key"].as_str().unwrap(),
                    e["status"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, [("si_b", "active"), ("si_a", "churned")]);
    }

    fn lines() -> Vec<Line<'static>> {
        vec![
            Line {
                id: "il_1",
                amount: 4900,
                subscription_item: Some("si_a"),
                price: "price_inbox",
                discount: 0,
            },
            Line {
                id: "il_2",
                amount: 2000,
                subscription_item: Some("si_b"),
                price: "price_chat",
                discount: 500,
            },
            Line {
                id: "il_3",
                amount: -700,
                subscription_item: Some("si_c"),
                price: "price_chat",
                discount: 0,
            },
            Line {
                id: "il_4",
                amount: 0,
                subscription_item: None,
                price: "price_setup",
                discount: 0,
            },
        ]
    }

    #[test]
    fn each_paid_invoice_line_with_an_amount_is_a_transaction_in_both_api_shapes() {
        for shape in [Shape::Acacia, Shape::Basil] {
            let invoice = f::invoice(
                "in_1",
                "cus_1",
                "usd",
                "subscription_cycle",
                T + 30,
                Some("sub_1"),
                Some(("ch_1", "pi_1")),
                shape,
                &lines(),
            );
            let mapped = one(f::event("evt_10", "invoice.paid", T + 31, shape, invoice));
            assert_eq!(
                mapped.events,
                [
                    json!({
                        "id": "stripe:in_1:il_1",
                        "type": "transaction.created",
                        "at": "2026-01-01T00:00:30Z",
                        "transaction": { "key": "in_1:il_1", "customer": "cus_1", "amount": "49.00", "kind": "recurring", "subscription_key": "si_a" },
                    }),
                    json!({
                        "id": "stripe:in_1:il_2",
                        "type": "transaction.created",
                        "at": "2026-01-01T00:00:30Z",
                        "transaction": { "key": "in_1:il_2", "customer": "cus_1", "amount": "15.00", "kind": "recurring", "subscription_key": "si_b" },
                    }),
                ],
                "{shape:?}"
            );
            assert_eq!(mapped.notes.len(), 2, "{:?}", mapped.notes);
            assert!(mapped.notes[0].contains("il_3 is -7.00: not a sale"));
        }
        // A first invoice, or a one-off line: one_time, no subscription key.
        let one_off = [Line {
            id: "il_9",
            amount: 9900,
            subscription_item: None,
            price: "price_setup",
            discount: 0,
        }];
        let invoice = f::invoice(
            "in_2",
            "cus_1",
            "usd",
            "manual",
            T,
            None,
            None,
            Shape::Basil,
            &one_off,
        );
        let mapped = one(f::event("evt_11", "invoice.paid", T, Shape::Basil, invoice));
        assert_eq!(
            mapped.events[0]["transaction"],
            json!({ "key": "in_2:il_9", "customer": "cus_1", "amount": "99.00", "kind": "one_time" })
        );
        let invoice = f::invoice(
            "in_3",
            "cus_1",
            "usd",
            "subscription_create",
            T,
            Some("sub_1"),
            None,
            Shape::Acacia,
            &lines()[..1],
        );
        let mapped = one(f::event(
            "evt_12",
            "invoice.paid",
            T,
            Shape::Acacia,
            invoice,
        ));
        assert_eq!(mapped.events[0]["transaction"]["kind"], "one_time");
    }

    #[test]
    fn another_currency_is_refused_with_its_reason() {
        let invoice = f::invoice(
            "in_1",
            "cus_1",
            "eur",
            "subscription_cycle",
            T,
            None,
            None,
            Shape::Basil,
            &lines()[..1],
        );
        let mapped = one(f::event("evt_1", "invoice.paid", T, Shape::Basil, invoice));
        assert!(mapped.events.is_empty());
        assert!(
            mapped.notes[0].contains("in EUR, the program's currency is USD"),
            "{:?}",
            mapped.notes
        );
        let charge = f::charge(
            "ch_1",
            "pi_1",
            "cus_1",
            4900,
            4900,
            "eur",
            T,
            Some("in_1"),
            Shape::Acacia,
        );
        let mapped = one(f::event(
            "evt_2",
            "charge.refunded",
            T,
            Shape::Acacia,
            charge,
        ));
        assert!(mapped.events.is_empty());
        assert!(mapped.notes[0].contains("EUR"));
    }

    fn refunds(mapped: &[Mapped]) -> Vec<(String, String, String)> {
        mapped
            .iter()
            .flat_map(|m| &m.events)
            .filter(|e| e["type"] == "transaction.refunded")
            .map(|e| {
                (
                    e["refund"]["key"].as_str().unwrap().to_owned(),
                    e["refund"]["transaction"].as_str().unwrap().to_owned(),
                    e["refund"]["amount"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// An invoice of two lines (30.00 and 10.00) paid by charge ch_1.
    fn two_lines(shape: Shape) -> Value {
        let lines = [
            Line {
                id: "il_1",
                amount: 3000,
                subscription_item: Some("si_a"),
                price: "price_inbox",
                discount: 0,
            },
            Line {
                id: "il_2",
                amount: 1000,
                subscription_item: Some("si_b"),
                price: "price_chat",
                discount: 0,
            },
        ];
        let invoice = f::invoice(
            "in_1",
            "cus_1",
            "usd",
            "subscription_cycle",
            T,
            Some("sub_1"),
            Some(("ch_1", "pi_1")),
            shape,
            &lines,
        );
        f::event("evt_inv", "invoice.paid", T, shape, invoice)
    }

    fn refunded(id: &str, amount_refunded: i64, at: i64, shape: Shape) -> Value {
        let charge = f::charge(
            "ch_1",
            "pi_1",
            "cus_1",
            4000,
            amount_refunded,
            "usd",
            T,
            Some("in_1"),
            shape,
        );
        f::event(id, "charge.refunded", at, shape, charge)
    }

    #[test]
    fn a_partial_then_a_full_refund_split_across_lines() {
        let mut records = Records::default();
        let mapped = run(
            &[
                two_lines(Shape::Acacia),
                refunded("evt_r1", 1000, T + 100, Shape::Acacia),
                refunded("evt_r2", 4000, T + 200, Shape::Acacia),
            ],
            &mut records,
        );
        assert_eq!(
            refunds(&mapped),
            [
                ("ch_1:1000:il_1".into(), "in_1:il_1".into(), "7.50".into()),
                ("ch_1:1000:il_2".into(), "in_1:il_2".into(), "2.50".into()),
                ("ch_1:4000:il_1".into(), "in_1:il_1".into(), "22.50".into()),
                ("ch_1:4000:il_2".into(), "in_1:il_2".into(), "7.50".into()),
            ]
        );
        assert_eq!(
            mapped[1].events[0],
            json!({
                "id": "stripe:ch_1:1000:il_1",
                "type": "transaction.refunded",
                "at": "2026-01-01T00:01:40Z",
                "refund": { "key": "ch_1:1000:il_1", "transaction": "in_1:il_1", "amount": "7.50" },
            })
        );
        // The same refund delivered again: nothing more.
        let again = run(
            &[refunded("evt_r2", 4000, T + 200, Shape::Acacia)],
            &mut records,
        );
        assert!(refunds(&again).is_empty());
    }

    #[test]
    fn a_full_refund_before_the_partial_one_ends_the_same() {
        let mut records = Records::default();
        let mapped = run(
            &[
                two_lines(Shape::Acacia),
                refunded("evt_r2", 4000, T + 200, Shape::Acacia),
                refunded("evt_r1", 1000, T + 100, Shape::Acacia),
            ],
            &mut records,
        );
        assert_eq!(
            refunds(&mapped),
            [
                ("ch_1:4000:il_1".into(), "in_1:il_1".into(), "30.00".into()),
                ("ch_1:4000:il_2".into(), "in_1:il_2".into(), "10.00".into()),
            ]
        );
        assert!(mapped[2].events.is_empty());
    }

    #[test]
    fn a_refund_before_its_invoice_waits_for_it() {
        for shape in [Shape::Acacia, Shape::Basil] {
            let mut records = Records::default();
            let mut events = vec![refunded("evt_r1", 1000, T + 100, shape), two_lines(shape)];
            if shape == Shape::Basil {
                // From basil on, the charge does not name its invoice: the
                // invoice payment says which payment paid it.
                events.push(f::event(
                    "evt_ip",
                    "invoice_payment.paid",
                    T,
                    shape,
                    f::invoice_payment("inpay_1", "in_1", "pi_1", 4000, T),
                ));
            }
            let mapped = run(&events, &mut records);
            assert!(mapped[0].events.is_empty());
            assert!(
                mapped[0].notes[0].contains("its invoice has not arrived"),
                "{:?}",
                mapped[0].notes
            );
            let last = mapped.last().unwrap();
            assert_eq!(
                refunds(std::slice::from_ref(last)),
                [
                    ("ch_1:1000:il_1".into(), "in_1:il_1".into(), "7.50".into()),
                    ("ch_1:1000:il_2".into(), "in_1:il_2".into(), "2.50".into()),
                ],
                "{shape:?}"
            );
            // Dated when the refund happened, not when it was passed on.
            assert_eq!(last.events.last().unwrap()["at"], "2026-01-01T00:01:40Z");
            let writes = records.writes();
            assert_eq!(writes.charges[0].passed_on, 1000);
        }
    }

    #[test]
    fn refunds_of_a_charge_with_tax_give_back_each_line_in_proportion() {
        // Lines 33.33 + 66.67 = 100.00, charged 120.00 with tax; shares round
        // half away from zero and a full refund gives back every line whole.
        let lines = [
            Line {
                id: "il_1",
                amount: 3333,
                subscription_item: None,
                price: "p",
                discount: 0,
            },
            Line {
                id: "il_2",
                amount: 6667,
                subscription_item: None,
                price: "p",
                discount: 0,
            },
        ];
        let invoice = f::invoice(
            "in_1",
            "cus_1",
            "usd",
            "manual",
            T,
            None,
            Some(("ch_1", "pi_1")),
            Shape::Acacia,
            &lines,
        );
        let charge = |id: &str, refunded: i64| {
            f::event(
                id,
                "charge.refunded",
                T + 9,
                Shape::Acacia,
                f::charge(
                    "ch_1",
                    "pi_1",
                    "cus_1",
                    12000,
                    refunded,
                    "usd",
                    T,
                    Some("in_1"),
                    Shape::Acacia,
                ),
            )
        };
        let mapped = run(
            &[
                f::event("evt_i", "invoice.paid", T, Shape::Acacia, invoice),
                charge("evt_1", 100),
                charge("evt_2", 6000),
                charge("evt_3", 12000),
            ],
            &mut Records::default(),
        );
        let amounts: Vec<String> = refunds(&mapped).into_iter().map(|r| r.2).collect();
        // 1.00 of 120.00: 0.28 and 0.56; half: 16.67 and 33.34 in all; then the rest.
        assert_eq!(
            amounts,
            ["0.28", "0.56", "16.39", "32.78", "16.66", "33.33"]
        );
        let total: i64 = amounts
            .iter()
            .map(|a| crate::spec::money::parse_decimal(a, 2).unwrap().0)
            .sum();
        assert_eq!(total, 10000);
    }

    #[test]
    fn the_invoice_payment_alone_makes_no_event_and_says_so() {
        let mapped = one(f::event(
            "evt_ip",
            "invoice_payment.paid",
            T,
            Shape::Basil,
            f::invoice_payment("inpay_1", "in_1", "pi_1", 4000, T),
        ));
        assert!(mapped.events.is_empty());
        assert!(mapped.notes[0].contains("links its payment to invoice in_1"));
    }
}
