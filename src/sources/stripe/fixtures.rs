//! Stripe events shaped as Stripe sends them (the envelope, and objects with
//! Stripe's field names and nesting, after Stripe's OpenAPI fixtures), for
//! tests and the benchmark. Two API shapes: [`Shape::Acacia`] (2024-06-20,
//! up to 2025-02-24.acacia) and [`Shape::Basil`] (2025-03-31.basil on).

use serde_json::{Value, json};

/// Which API version's shapes to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Acacia,
    Basil,
}

impl Shape {
    pub fn api_version(self) -> &'static str {
        match self {
            Shape::Acacia => "2024-06-20",
            Shape::Basil => "2025-03-31.basil",
        }
    }
}

/// The event envelope around `object`.
pub fn event(id: &str, kind: &str, created: i64, shape: Shape, object: Value) -> Value {
    json!({
        "id": id,
        "object": "event",
        "api_version": shape.api_version(),
        "created": created,
        "data": { "object": object },
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": kind,
    })
}

/// `customer.subscription.updated`'s envelope, with what changed.
pub fn event_with_previous(
    id: &str,
    kind: &str,
    created: i64,
    shape: Shape,
    object: Value,
    previous_attributes: Value,
) -> Value {
    let mut e = event(id, kind, created, shape, object);
    e["data"]["previous_attributes"] = previous_attributes;
    e
}

fn address() -> Value {
    json!({ "city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null })
}

pub fn customer(id: &str, created: i64, partner: Option<&str>) -> Value {
    let mut metadata = json!({});
    if let Some(p) = partner {
        metadata["partner"] = json!(p);
    }
    json!({
        "id": id,
        "object": "customer",
        "address": null,
        "balance": 0,
        "created": created,
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": null,
        "discount": null,
        "email": format!("{id}@example.com"),
        "invoice_prefix": "7FE1103",
        "invoice_settings": { "custom_fields": null, "default_payment_method": null, "footer": null, "rendering_options": null },
        "livemode": false,
        "metadata": metadata,
        "name": null,
        "next_invoice_sequence": 1,
        "phone": null,
        "preferred_locales": [],
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": null,
    })
}

/// A completed Checkout session in subscription mode.
pub fn checkout_session(
    id: &str,
    created: i64,
    customer: Option<&str>,
    client_reference_id: Option<&str>,
    metadata_partner: Option<&str>,
    subscription: Option<&str>,
) -> Value {
    let mut metadata = json!({});
    if let Some(p) = metadata_partner {
        metadata["partner"] = json!(p);
    }
    json!({
        "id": id,
        "object": "checkout.session",
        "after_expiration": null,
        "allow_promotion_codes": null,
        "amount_subtotal": 4900,
        "amount_total": 4900,
        "automatic_tax": { "enabled": false, "liability": null, "status": null },
        "billing_address_collection": null,
        "cancel_url": "https://example.com/cancel",
        "client_reference_id": client_reference_id,
        "consent": null,
        "consent_collection": null,
        "created": created,
        "currency": "usd",
        "custom_fields": [],
        "custom_text": { "after_submit": null, "shipping_address": null, "submit": null, "terms_of_service_acceptance": null },
        "customer": customer,
        "customer_creation": "always",
        "customer_details": { "address": address(), "email": "buyer@example.com", "name": null, "phone": null, "tax_exempt": "none", "tax_ids": [] },
        "customer_email": null,
        "expires_at": created + 86_400,
        "invoice": null,
        "invoice_creation": null,
        "livemode": false,
        "locale": null,
        "metadata": metadata,
        "mode": if subscription.is_some() { "subscription" } else { "payment" },
        "payment_intent": null,
        "payment_link": null,
        "payment_method_collection": "always",
        "payment_method_types": ["card"],
        "payment_status": "paid",
        "phone_number_collection": { "enabled": false },
        "recovered_from": null,
        "setup_intent": null,
        "shipping_address_collection": null,
        "shipping_cost": null,
        "shipping_details": null,
        "shipping_options": [],
        "status": "complete",
        "submit_type": null,
        "subscription": subscription,
        "success_url": "https://example.com/success",
        "total_details": { "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 },
        "ui_mode": "hosted",
        "url": null,
    })
}

/// A subscription item on a price.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    pub id: &'a str,
    pub price: &'a str,
    pub lookup_key: Option<&'a str>,
    pub unit_amount: i64,
}

fn price(item: &Item, currency: &str) -> Value {
    json!({
        "id": item.price,
        "object": "price",
        "active": true,
        "billing_scheme": "per_unit",
        "created": 1_721_948_530,
        "currency": currency,
        "custom_unit_amount": null,
        "livemode": false,
        "lookup_key": item.lookup_key,
        "metadata": {},
        "nickname": null,
        "product": "prod_QXg1hqf4jFNsqG",
        "recurring": { "aggregate_usage": null, "interval": "month", "interval_count": 1, "meter": null, "trial_period_days": null, "usage_type": "licensed" },
        "tax_behavior": "unspecified",
        "tiers_mode": null,
        "transform_quantity": null,
        "type": "recurring",
        "unit_amount": item.unit_amount,
        "unit_amount_decimal": item.unit_amount.to_string(),
    })
}

pub fn subscription(id: &str, customer: &str, status: &str, created: i64, items: &[Item]) -> Value {
    let data: Vec<Value> = items
        .iter()
        .map(|item| subscription_item(id, created, item))
        .collect();
    json!({
        "id": id,
        "object": "subscription",
        "application": null,
        "application_fee_percent": null,
        "automatic_tax": { "enabled": false, "liability": null },
        "billing_cycle_anchor": created,
        "billing_cycle_anchor_config": null,
        "billing_thresholds": null,
        "cancel_at": null,
        "cancel_at_period_end": false,
        "canceled_at": if status == "canceled" { json!(created) } else { Value::Null },
        "cancellation_details": { "comment": null, "feedback": null, "reason": null },
        "collection_method": "charge_automatically",
        "created": created,
        "currency": "usd",
        "customer": customer,
        "days_until_due": null,
        "default_payment_method": null,
        "default_source": null,
        "default_tax_rates": [],
        "description": null,
        "discount": null,
        "discounts": [],
        "ended_at": null,
        "invoice_settings": { "account_tax_ids": null, "issuer": { "type": "self" } },
        "items": {
            "object": "list",
            "data": data,
            "has_more": false,
            "total_count": items.len(),
            "url": format!("/v1/subscription_items?subscription={id}"),
        },
        "latest_invoice": null,
        "livemode": false,
        "metadata": {},
        "next_pending_invoice_item_invoice": null,
        "on_behalf_of": null,
        "pause_collection": null,
        "payment_settings": { "payment_method_options": null, "payment_method_types": null, "save_default_payment_method": "off" },
        "pending_invoice_item_interval": null,
        "pending_setup_intent": null,
        "pending_update": null,
        "schedule": null,
        "start_date": created,
        "status": status,
        "test_clock": null,
        "transfer_data": null,
        "trial_end": null,
        "trial_settings": { "end_behavior": { "missing_payment_method": "create_invoice" } },
        "trial_start": null,
    })
}

pub fn subscription_item(subscription: &str, created: i64, item: &Item) -> Value {
    json!({
        "id": item.id,
        "object": "subscription_item",
        "billing_thresholds": null,
        "created": created,
        "current_period_end": created + 2_592_000,
        "current_period_start": created,
        "discounts": [],
        "metadata": {},
        "plan": {
            "id": item.price,
            "object": "plan",
            "active": true,
            "aggregate_usage": null,
            "amount": item.unit_amount,
            "amount_decimal": item.unit_amount.to_string(),
            "billing_scheme": "per_unit",
            "created": 1_721_948_530,
            "currency": "usd",
            "interval": "month",
            "interval_count": 1,
            "livemode": false,
            "metadata": {},
            "meter": null,
            "nickname": null,
            "product": "prod_QXg1hqf4jFNsqG",
            "tiers_mode": null,
            "transform_usage": null,
            "trial_period_days": null,
            "usage_type": "licensed",
        },
        "price": price(item, "usd"),
        "quantity": 1,
        "subscription": subscription,
        "tax_rates": [],
    })
}

/// An invoice line: its id, amount (minor units), the subscription item it
/// bills (if any) and its discount.
#[derive(Debug, Clone)]
pub struct Line<'a> {
    pub id: &'a str,
    pub amount: i64,
    pub subscription_item: Option<&'a str>,
    pub price: &'a str,
    pub discount: i64,
}

fn invoice_line(
    invoice: &str,
    subscription: Option<&str>,
    currency: &str,
    shape: Shape,
    line: &Line,
) -> Value {
    let discount_amounts = if line.discount > 0 {
        json!([{ "amount": line.discount, "discount": "di_1PgbKfB7WZ01zgkW9QnKxHxy" }])
    } else {
        json!([])
    };
    let mut v = json!({
        "id": line.id,
        "object": "line_item",
        "amount": line.amount,
        "currency": currency,
        "description": "1 × Inbox (at $49.00 / month)",
        "discount_amounts": discount_amounts,
        "discountable": true,
        "discounts": [],
        "invoice": invoice,
        "livemode": false,
        "metadata": {},
        "period": { "end": 1_724_632_454, "start": 1_721_954_054 },
        "quantity": 1,
    });
    match shape {
        Shape::Acacia => {
            v["amount_excluding_tax"] = json!(line.amount);
            v["invoice_item"] = Value::Null;
            v["plan"] = Value::Null;
            v["price"] = price(
                &Item {
                    id: line.subscription_item.unwrap_or(""),
                    price: line.price,
                    lookup_key: None,
                    unit_amount: line.amount,
                },
                currency,
            );
            v["proration"] = json!(false);
            v["proration_details"] = json!({ "credited_items": null });
            v["subscription"] = json!(subscription);
            v["subscription_item"] = json!(line.subscription_item);
            v["tax_amounts"] = json!([]);
            v["tax_rates"] = json!([]);
            v["type"] = json!(if line.subscription_item.is_some() {
                "subscription"
            } else {
                "invoiceitem"
            });
            v["unit_amount_excluding_tax"] = json!(line.amount.to_string());
        }
        Shape::Basil => {
            v["parent"] = match line.subscription_item {
                Some(si) => json!({
                    "invoice_item_details": null,
                    "subscription_item_details": {
                        "invoice_item": null,
                        "proration": false,
                        "proration_details": { "credited_items": null },
                        "subscription": subscription,
                        "subscription_item": si,
                    },
                    "type": "subscription_item_details",
                }),
                None => json!({
                    "invoice_item_details": {
                        "invoice_item": "ii_1PgbKfB7WZ01zgkWfQ2Dq8wG",
                        "proration": false,
                        "proration_details": { "credited_items": null },
                        "subscription": null,
                    },
                    "subscription_item_details": null,
                    "type": "invoice_item_details",
                }),
            };
            v["pretax_credit_amounts"] = json!([]);
            v["pricing"] = json!({
                "price_details": { "price": line.price, "product": "prod_QXg1hqf4jFNsqG" },
                "type": "price_details",
                "unit_amount_decimal": line.amount.to_string(),
            });
            v["subtotal"] = json!(line.amount);
            v["taxes"] = json!([]);
        }
    }
    v
}

/// A paid invoice. In the acacia shape it names its charge and payment intent.
#[allow(clippy::too_many_arguments)]
pub fn invoice(
    id: &str,
    customer: &str,
    currency: &str,
    billing_reason: &str,
    paid_at: i64,
    subscription: Option<&str>,
    charge: Option<(&str, &str)>,
    shape: Shape,
    lines: &[Line],
) -> Value {
    let total: i64 = lines.iter().map(|l| l.amount - l.discount).sum();
    let data: Vec<Value> = lines
        .iter()
        .map(|l| invoice_line(id, subscription, currency, shape, l))
        .collect();
    let mut v = json!({
        "id": id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "GigaKick",
        "account_tax_ids": null,
        "amount_due": total,
        "amount_paid": total,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": null,
        "attempt_count": 1,
        "attempted": true,
        "auto_advance": false,
        "automatic_tax": { "enabled": false, "liability": null, "status": null },
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": paid_at - 5,
        "currency": currency,
        "custom_fields": null,
        "customer": customer,
        "customer_address": null,
        "customer_email": format!("{customer}@example.com"),
        "customer_name": null,
        "customer_phone": null,
        "customer_shipping": null,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": null,
        "default_source": null,
        "default_tax_rates": [],
        "description": null,
        "discounts": [],
        "due_date": null,
        "effective_at": paid_at - 5,
        "ending_balance": 0,
        "footer": null,
        "from_invoice": null,
        "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1Pgaf/test",
        "invoice_pdf": "https://pay.stripe.com/invoice/acct_1Pgaf/test/pdf",
        "issuer": { "type": "self" },
        "last_finalization_error": null,
        "latest_revision": null,
        "lines": {
            "object": "list",
            "data": data,
            "has_more": false,
            "total_count": lines.len(),
            "url": format!("/v1/invoices/{id}/lines"),
        },
        "livemode": false,
        "metadata": {},
        "next_payment_attempt": null,
        "number": "7FE1103-0001",
        "on_behalf_of": null,
        "payment_settings": { "default_mandate": null, "payment_method_options": null, "payment_method_types": null },
        "period_end": paid_at - 5,
        "period_start": paid_at - 5,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": null,
        "rendering": null,
        "shipping_cost": null,
        "shipping_details": null,
        "starting_balance": 0,
        "statement_descriptor": null,
        "status": "paid",
        "status_transitions": {
            "finalized_at": paid_at - 5,
            "marked_uncollectible_at": null,
            "paid_at": paid_at,
            "voided_at": null,
        },
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "test_clock": null,
        "total": total,
        "total_discount_amounts": [],
        "total_excluding_tax": total,
        "webhooks_delivered_at": paid_at - 5,
    });
    match shape {
        Shape::Acacia => {
            v["charge"] = json!(charge.map(|c| c.0));
            v["payment_intent"] = json!(charge.map(|c| c.1));
            v["paid"] = json!(true);
            v["paid_out_of_band"] = json!(false);
            v["subscription"] = json!(subscription);
            v["subscription_details"] = json!({ "metadata": {} });
            v["tax"] = Value::Null;
            v["total_tax_amounts"] = json!([]);
        }
        Shape::Basil => {
            v["parent"] = match subscription {
                Some(sub) => json!({
                    "quote_details": null,
                    "subscription_details": { "metadata": {}, "subscription": sub },
                    "type": "subscription_details",
                }),
                None => Value::Null,
            };
            v["total_pretax_credit_amounts"] = json!([]);
            v["total_taxes"] = json!([]);
            v["amount_overpaid"] = json!(0);
        }
    }
    v
}

/// A charge after a refund: `amount_refunded` is everything refunded so far.
/// In the acacia shape it names its invoice.
#[allow(clippy::too_many_arguments)]
pub fn charge(
    id: &str,
    payment_intent: &str,
    customer: &str,
    amount: i64,
    amount_refunded: i64,
    currency: &str,
    created: i64,
    invoice: Option<&str>,
    shape: Shape,
) -> Value {
    let mut v = json!({
        "id": id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount_refunded,
        "application": null,
        "application_fee": null,
        "application_fee_amount": null,
        "balance_transaction": "txn_1PgaxNB7WZ01zgkWEV3TLf40",
        "billing_details": { "address": address(), "email": null, "name": "Jenny Rosen", "phone": null },
        "calculated_statement_descriptor": "GIGAKICK",
        "captured": true,
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": "Subscription update",
        "disputed": false,
        "failure_balance_transaction": null,
        "failure_code": null,
        "failure_message": null,
        "fraud_details": {},
        "livemode": false,
        "metadata": {},
        "on_behalf_of": null,
        "outcome": { "network_status": "approved_by_network", "reason": null, "risk_level": "normal", "risk_score": 32, "seller_message": "Payment complete.", "type": "authorized" },
        "paid": true,
        "payment_intent": payment_intent,
        "payment_method": "pm_1PgaftB7WZ01zgkWm3waTcFp",
        "payment_method_details": { "card": { "brand": "visa", "country": "US", "exp_month": 8, "exp_year": 2030, "funding": "credit", "last4": "4242", "network": "visa" }, "type": "card" },
        "receipt_email": null,
        "receipt_number": null,
        "receipt_url": "https://pay.stripe.com/receipts/payment/test",
        "refunded": amount_refunded >= amount,
        "review": null,
        "shipping": null,
        "source_transfer": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": "succeeded",
        "transfer_data": null,
        "transfer_group": null,
    });
    if shape == Shape::Acacia {
        v["invoice"] = json!(invoice);
    }
    v
}

/// From basil: the payment that paid an invoice.
pub fn invoice_payment(
    id: &str,
    invoice: &str,
    payment_intent: &str,
    amount: i64,
    created: i64,
) -> Value {
    json!({
        "id": id,
        "object": "invoice_payment",
        "amount_paid": amount,
        "amount_requested": amount,
        "created": created,
        "currency": "usd",
        "invoice": invoice,
        "is_default": true,
        "livemode": false,
        "payment": { "type": "payment_intent", "payment_intent": payment_intent },
        "status": "paid",
        "status_transitions": { "canceled_at": null, "paid_at": created },
    })
}
