//! Reads of money: transactions, commissions, the products customers hold.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor};

use super::{parse_time, parse_time_opt};
use crate::engine::Result;
use crate::engine::runtime::state::{
    CommissionRecord, Customer, CustomerProduct, Seen, StatusHistory, TransactionRecord,
};
use crate::spec::{Money, ProductStatus, TransactionKind};

fn wire<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| crate::engine::Error::Internal(format!("bad value `{text}` in store: {e}")))
}

fn revision(row: &SqliteRow) -> Result<u64> {
    Ok(u64::try_from(row.try_get::<i64, _>("revision")?).unwrap_or(0))
}

pub(super) async fn transaction<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    key: &str,
) -> Result<Option<TransactionRecord>> {
    let row = sqlx::query(
        "SELECT key, customer, amount, subscription, kind, at, partner, product, revision, \
         seen_status, seen_created_at, seen_group, seen_tags, seen_customer_since FROM transactions WHERE program = $1 AND key = $2",
    )
    .bind(program)
    .bind(key)
    .fetch_optional(executor)
    .await?;
    row.map(|r| {
        Ok(TransactionRecord {
            key: r.try_get("key")?,
            customer: r.try_get("customer")?,
            amount: Money(r.try_get("amount")?),
            subscription_key: r.try_get("subscription")?,
            kind: wire::<TransactionKind>(&r.try_get::<String, _>("kind")?)?,
            at: parse_time(&r.try_get::<String, _>("at")?)?,
            partner: r.try_get("partner")?,
            product: r.try_get("product")?,
            revision: revision(&r)?,
            seen: Seen {
                product_status: r
                    .try_get::<Option<String>, _>("seen_status")?
                    .map(|s| status(&s))
                    .transpose()?,
                product_created_at: parse_time_opt(r.try_get("seen_created_at")?)?,
                partner_group: r.try_get("seen_group")?,
                partner_tags: r
                    .try_get::<String, _>("seen_tags")?
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                customer_since: parse_time_opt(r.try_get("seen_customer_since")?)?,
            },
        })
    })
    .transpose()
}

pub(super) fn status(text: &str) -> Result<ProductStatus> {
    ProductStatus::parse(text).ok_or_else(|| {
        crate::engine::Error::Internal(format!("bad product status `{text}` in store"))
    })
}

/// The columns [`customer_product_from_row`] reads.
pub(super) const CUSTOMER_PRODUCT_COLUMNS: &str =
    "subscription, customer, product, status, partner, created_at, updated_at, statuses";

pub(super) fn customer_product_from_row(r: &SqliteRow) -> Result<CustomerProduct> {
    let statuses: String = r.try_get("statuses")?;
    Ok(CustomerProduct {
        external_subscription_key: r.try_get("subscription")?,
        customer: r.try_get("customer")?,
        product: r.try_get("product")?,
        status: status(&r.try_get::<String, _>("status")?)?,
        partner: r.try_get("partner")?,
        created_at: parse_time(&r.try_get::<String, _>("created_at")?)?,
        updated_at: parse_time(&r.try_get::<String, _>("updated_at")?)?,
        statuses: StatusHistory::from_text(&statuses).ok_or_else(|| {
            crate::engine::Error::Internal(format!("bad status history `{statuses}` in store"))
        })?,
    })
}

/// Commissions, by due date, for one partner and/or one transaction.
pub(super) async fn commissions<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    partner: Option<&str>,
    transaction: Option<&str>,
) -> Result<Vec<CommissionRecord>> {
    let rows = sqlx::query(
        "SELECT partner, transaction_key, trigger, amount, due_at, installment, installments, revision, created_at FROM commissions \
         WHERE program = $1 AND ($2 IS NULL OR partner = $2) AND ($3 IS NULL OR transaction_key = $3) \
         ORDER BY due_at, transaction_key, trigger, installment",
    )
    .bind(program)
    .bind(partner)
    .bind(transaction)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CommissionRecord {
                partner: r.try_get("partner")?,
                transaction: r.try_get("transaction_key")?,
                trigger: r.try_get("trigger")?,
                amount: Money(r.try_get("amount")?),
                due_at: parse_time(&r.try_get::<String, _>("due_at")?)?,
                due_on: None,
                installment: u32::try_from(r.try_get::<i64, _>("installment")?).unwrap_or(1),
                installments: u32::try_from(r.try_get::<i64, _>("installments")?).unwrap_or(1),
                revision: revision(r)?,
                created_at: parse_time(&r.try_get::<String, _>("created_at")?)?,
            })
        })
        .collect()
}

/// A customer with their tags.
pub(super) async fn customer(
    pool: &sqlx::SqlitePool,
    program: &str,
    key: &str,
) -> Result<Option<Customer>> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query("SELECT key, partner, signed_up_at, first_purchase_at, bought_through FROM customers WHERE program = $1 AND key = $2")
        .bind(program)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let tags: Vec<String> =
        sqlx::query_scalar("SELECT tag FROM customer_tags WHERE program = $1 AND customer = $2")
            .bind(program)
            .bind(key)
            .fetch_all(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(Some(Customer {
        key: r.try_get("key")?,
        partner: r.try_get("partner")?,
        signed_up_at: parse_time_opt(r.try_get("signed_up_at")?)?,
        first_purchase_at: parse_time_opt(r.try_get("first_purchase_at")?)?,
        tags: tags.into_iter().collect(),
        bought_through: r
            .try_get::<String, _>("bought_through")?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    }))
}

/// A partner's customers: referred by them, or holding a product they sold.
pub(super) async fn customers_of<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    partner: &str,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT key FROM customers WHERE program = $1 AND partner = $2 \
         UNION SELECT customer FROM customer_products WHERE program = $1 AND partner = $2 ORDER BY 1",
    )
    .bind(program)
    .bind(partner)
    .fetch_all(executor)
    .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

pub(super) async fn products_of<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    customer: &str,
) -> Result<Vec<CustomerProduct>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CUSTOMER_PRODUCT_COLUMNS} FROM customer_products \
         WHERE program = $1 AND customer = $2 ORDER BY created_at, subscription"
    )))
    .bind(program)
    .bind(customer)
    .fetch_all(executor)
    .await?;
    rows.iter().map(customer_product_from_row).collect()
}

pub(super) async fn customer_product<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    subscription: &str,
) -> Result<Option<CustomerProduct>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CUSTOMER_PRODUCT_COLUMNS} FROM customer_products WHERE program = $1 AND subscription = $2"
    )))
    .bind(program)
    .bind(subscription)
    .fetch_optional(executor)
    .await?
    .as_ref()
    .map(customer_product_from_row)
    .transpose()
}

/// The amount of the latest transaction on a subscription: what it is worth.
pub(super) async fn last_amount<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    customer: &str,
    subscription: &str,
) -> Result<Option<Money>> {
    // Another customer's transaction naming this key matched no product of
    // theirs, and is none of this product's business; a refund is not what
    // the product costs.
    let amount: Option<i64> = sqlx::query_scalar(
        "SELECT amount FROM transactions WHERE program = $1 AND customer = $2 AND subscription = $3 AND amount > 0 ORDER BY at DESC LIMIT 1",
    )
    .bind(program)
    .bind(customer)
    .bind(subscription)
    .fetch_optional(executor)
    .await?;
    Ok(amount.map(Money))
}
