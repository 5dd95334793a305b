//! Reads of money and the records around it: transactions, refunds, ledger
//! lines, customers and the products they hold, payouts, reports.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteExecutor};

use super::{parse_time, parse_time_opt};
use crate::error::{Error, Result};
use crate::spec::{Money, ProductStatus, TransactionKind};
use crate::store::record::{
    Customer, CustomerProduct, LedgerLine, LineKind, LineNet, LineStatus, Mark, Payout,
    PayoutPartner, PlanRows, PlanWindow, RefundRecord, Seen, StatusHistory, TransactionRecord,
    timestamp,
};
use crate::store::{LineFilter, PayoutRule, ProductRow};

fn wire<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| Error::Internal(format!("bad value `{text}` in store: {e}")))
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The columns [`transaction_from_row`] reads.
pub(super) const TRANSACTION_COLUMNS: &str = "key, customer, amount, subscription, kind, at, event_id, partner, product, revision, \
     seen_status, seen_created_at, seen_group, seen_tags, seen_customer_since, refunded";

pub(super) fn transaction_from_row(r: &SqliteRow, exp: u8) -> Result<TransactionRecord> {
    Ok(TransactionRecord {
        key: r.try_get("key")?,
        customer: r.try_get("customer")?,
        amount: Money::new(r.try_get("amount")?, exp),
        subscription_key: r.try_get("subscription")?,
        kind: wire::<TransactionKind>(&r.try_get::<String, _>("kind")?)?,
        at: parse_time(&r.try_get::<String, _>("at")?)?,
        event_id: r.try_get("event_id")?,
        partner: r.try_get("partner")?,
        product: r.try_get("product")?,
        revision: count(r.try_get("revision")?),
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
        refunded: Money::new(r.try_get("refunded")?, exp),
    })
}

pub(super) async fn transaction<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    key: &str,
    exp: u8,
) -> Result<Option<TransactionRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE program = $1 AND key = $2"
    )))
    .bind(program)
    .bind(key)
    .fetch_optional(executor)
    .await?;
    row.map(|r| transaction_from_row(&r, exp)).transpose()
}

pub(super) async fn waiting<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    unattributed: bool,
    unmatched: bool,
    after: Option<&str>,
    limit: usize,
    exp: u8,
) -> Result<Vec<TransactionRecord>> {
    let which = match (unattributed, unmatched) {
        (true, false) => "partner IS NULL",
        (false, true) => "subscription IS NOT NULL AND product IS NULL",
        _ => "(partner IS NULL OR (subscription IS NOT NULL AND product IS NULL))",
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE program = $1 AND {which} AND key > $2 \
         ORDER BY key LIMIT $3"
    )))
    .bind(program)
    .bind(after.unwrap_or(""))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(executor)
    .await?;
    rows.iter().map(|r| transaction_from_row(r, exp)).collect()
}

pub(super) fn refund_from_row(r: &SqliteRow, exp: u8) -> Result<RefundRecord> {
    Ok(RefundRecord {
        key: r.try_get("key")?,
        transaction: r.try_get("transaction_key")?,
        amount: Money::new(r.try_get("amount")?, exp),
        at: parse_time(&r.try_get::<String, _>("at")?)?,
        event_id: r.try_get("event_id")?,
        applied: r.try_get::<i64, _>("applied")? != 0,
    })
}

pub(super) const REFUND_COLUMNS: &str = "key, transaction_key, amount, at, event_id, applied";

pub(super) async fn refunds<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    transaction: &str,
    exp: u8,
) -> Result<Vec<RefundRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {REFUND_COLUMNS} FROM refunds WHERE program = $1 AND transaction_key = $2 ORDER BY at, event_id"
    )))
    .bind(program)
    .bind(transaction)
    .fetch_all(executor)
    .await?;
    rows.iter().map(|r| refund_from_row(r, exp)).collect()
}

pub(super) fn status(text: &str) -> Result<ProductStatus> {
    ProductStatus::parse(text)
        .ok_or_else(|| Error::Internal(format!("bad product status `{text}` in store")))
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
        statuses: StatusHistory::from_text(&statuses)
            .ok_or_else(|| Error::Internal(format!("bad status history `{statuses}` in store")))?,
    })
}

pub(super) const LINE_COLUMNS: &str = "id, partner, transaction_key, trigger, revision, product, kind, amount, due_at, \
     installment, installments, clawback, payout, cause, created_at";

pub(super) fn line_from_row(r: &SqliteRow, exp: u8) -> Result<LedgerLine> {
    let kind: String = r.try_get("kind")?;
    Ok(LedgerLine {
        id: count(r.try_get("id")?),
        partner: r.try_get("partner")?,
        transaction: r.try_get("transaction_key")?,
        trigger: r.try_get("trigger")?,
        revision: count(r.try_get("revision")?),
        product: r.try_get("product")?,
        kind: LineKind::parse(&kind)
            .ok_or_else(|| Error::Internal(format!("bad line kind `{kind}` in store")))?,
        amount: Money::new(r.try_get("amount")?, exp),
        due_at: parse_time(&r.try_get::<String, _>("due_at")?)?,
        due_on: None,
        installment: u32::try_from(r.try_get::<i64, _>("installment")?).unwrap_or(1),
        installments: u32::try_from(r.try_get::<i64, _>("installments")?).unwrap_or(1),
        status: LineStatus::Pending,
        payout: r.try_get::<Option<i64>, _>("payout")?.map(count),
        clawback: r.try_get::<i64, _>("clawback")? != 0,
        cause: r.try_get("cause")?,
        created_at: parse_time(&r.try_get::<String, _>("created_at")?)?,
    })
}

pub(super) async fn lines<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    f: &LineFilter,
    exp: u8,
) -> Result<Vec<LedgerLine>> {
    let mut q = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {LINE_COLUMNS} FROM ledger WHERE program = "
    ));
    q.push_bind(program.to_owned());
    if let Some(p) = &f.partner {
        q.push(" AND partner = ").push_bind(p.clone());
    }
    if let Some(t) = &f.transaction {
        q.push(" AND transaction_key = ").push_bind(t.clone());
    }
    if let Some(s) = f.since {
        q.push(" AND due_at >= ").push_bind(timestamp(s));
    }
    if let Some(u) = f.until {
        q.push(" AND due_at < ").push_bind(timestamp(u));
    }
    if let Some(p) = f.payout {
        q.push(" AND payout = ")
            .push_bind(i64::try_from(p).unwrap_or(i64::MAX));
    }
    if f.unpaid {
        q.push(" AND payout IS NULL");
    }
    if let Some(a) = f.after {
        q.push(" AND id > ")
            .push_bind(i64::try_from(a).unwrap_or(i64::MAX));
    }
    q.push(" ORDER BY id");
    if let Some(l) = f.limit {
        q.push(" LIMIT ")
            .push_bind(i64::try_from(l).unwrap_or(i64::MAX));
    }
    let rows = q.build().fetch_all(executor).await?;
    rows.iter().map(|r| line_from_row(r, exp)).collect()
}

pub(super) fn net_from_row(r: &SqliteRow, exp: u8) -> Result<LineNet> {
    Ok(LineNet {
        partner: r.try_get("partner")?,
        transaction: r.try_get("transaction_key")?,
        trigger: r.try_get("trigger")?,
        installment: u32::try_from(r.try_get::<i64, _>("installment")?).unwrap_or(1),
        installments: u32::try_from(r.try_get::<i64, _>("installments")?).unwrap_or(1),
        revision: count(r.try_get("revision")?),
        product: r.try_get("product")?,
        due_at: parse_time(&r.try_get::<String, _>("due_at")?)?,
        net: Money::new(r.try_get("net")?, exp),
        paid: Money::new(r.try_get("paid")?, exp),
    })
}

/// The grouping that turns lines into nets; `{where}` is filled in.
pub(super) const NETS: &str = "SELECT partner, transaction_key, trigger, installment, MAX(installments) AS installments, \
     MIN(revision) AS revision, MAX(product) AS product, MIN(due_at) AS due_at, SUM(amount) AS net, \
     SUM(CASE WHEN payout IS NULL THEN 0 ELSE amount END) AS paid FROM ledger";
pub(super) const NETS_GROUP: &str = " GROUP BY partner, transaction_key, trigger, installment";

pub(super) fn customer_from_row(r: &SqliteRow) -> Result<Customer> {
    Ok(Customer {
        key: r.try_get("key")?,
        partner: r.try_get("partner")?,
        referral: r
            .try_get::<Option<String>, _>("referral")?
            .map(Mark::from_text),
        signed_up_at: parse_time_opt(r.try_get("signed_up_at")?)?,
        first_purchase_at: parse_time_opt(r.try_get("first_purchase_at")?)?,
        tags: Default::default(),
        bought_through: r
            .try_get::<String, _>("bought_through")?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    })
}

pub(super) const CUSTOMER_COLUMNS: &str =
    "key, partner, referral, signed_up_at, first_purchase_at, bought_through";

/// A customer with their tags.
pub(super) async fn customer(
    pool: &sqlx::SqlitePool,
    program: &str,
    key: &str,
) -> Result<Option<Customer>> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE program = $1 AND key = $2"
    )))
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
    let mut c = customer_from_row(&r)?;
    c.tags = tags.into_iter().collect();
    Ok(Some(c))
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
         WHERE program = $1 AND customer = $2 ORDER BY created_at, subscription, product"
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
        "SELECT {CUSTOMER_PRODUCT_COLUMNS} FROM customer_products WHERE program = $1 AND subscription = $2 \
         ORDER BY updated_at DESC LIMIT 1"
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
    exp: u8,
) -> Result<Option<Money>> {
    // Another customer's transaction naming this key matched no product of
    // theirs, and is none of this product's business.
    let amount: Option<i64> = sqlx::query_scalar(
        "SELECT amount FROM transactions WHERE program = $1 AND customer = $2 AND subscription = $3 AND amount > 0 ORDER BY at DESC LIMIT 1",
    )
    .bind(program)
    .bind(customer)
    .bind(subscription)
    .fetch_optional(executor)
    .await?;
    Ok(amount.map(|a| Money::new(a, exp)))
}

/// The cutoff a line's due date must be at or before to be approved.
pub(super) fn cutoff(rule: PayoutRule) -> String {
    timestamp(rule.as_of - chrono::Duration::days(i64::from(rule.hold_days)))
}

/// Per partner the rule pays: the approved unpaid net and line count,
/// with name and email.
pub(super) async fn payable<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    rule: PayoutRule,
    exp: u8,
) -> Result<Vec<PayoutPartner>> {
    // The unpaid lines in line order (see migration 0016), summed per
    // partner, then named.
    let rows = sqlx::query(
        "SELECT u.partner, p.name, p.email, u.amount, u.lines FROM \
           (SELECT partner, SUM(amount) AS amount, COUNT(*) AS lines \
            FROM ledger INDEXED BY ledger_unpaid \
            WHERE program = $1 AND payout IS NULL AND (clawback = 1 OR due_at <= $2) \
            GROUP BY partner \
            HAVING SUM(amount) > 0 AND SUM(amount) >= $3) u \
         LEFT JOIN partners p ON p.program = $1 AND p.key = u.partner ORDER BY u.partner",
    )
    .bind(program)
    .bind(cutoff(rule))
    .bind(rule.minimum)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PayoutPartner {
                partner: r.try_get("partner")?,
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                amount: Money::new(r.try_get("amount")?, exp),
                lines: count(r.try_get("lines")?),
            })
        })
        .collect()
}

/// A payout plan: the unpaid approved lines summed per partner once (in
/// line order, see migration 0016), then counted and added up per side in
/// the database, and only the rows of `window` named and returned. The
/// dashboard shows a page of a plan that can pay every partner: sending
/// 100,000 rows and naming each took most of its time.
pub(super) async fn plan<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    rule: PayoutRule,
    window: Option<PlanWindow>,
    exp: u8,
) -> Result<PlanRows> {
    let big = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    // LIMIT -1 is no limit in SQLite.
    let (limit, paid_from, carried_from) = window.map_or((-1, 0, 0), |w| {
        (big(w.limit), big(w.paid_from), big(w.carried_from))
    });
    let rows = sqlx::query(
        "WITH u AS MATERIALIZED ( \
           SELECT partner, SUM(amount) AS amount, COUNT(*) AS lines, \
             (SUM(amount) > 0 AND SUM(amount) >= $3) AS paid \
           FROM ledger INDEXED BY ledger_unpaid \
           WHERE program = $1 AND payout IS NULL AND (clawback = 1 OR due_at <= $2) \
           GROUP BY partner), \
         shown AS ( \
           SELECT * FROM (SELECT * FROM u WHERE paid ORDER BY partner LIMIT $4 OFFSET $5) \
           UNION ALL \
           SELECT * FROM (SELECT * FROM u WHERE NOT paid ORDER BY partner LIMIT $4 OFFSET $6)) \
         SELECT 1 AS side, paid, NULL AS partner, NULL AS name, NULL AS email, \
           SUM(amount) AS amount, SUM(lines) AS lines, COUNT(*) AS partners \
         FROM u GROUP BY paid \
         UNION ALL \
         SELECT 0, s.paid, s.partner, p.name, p.email, s.amount, s.lines, 1 \
         FROM shown s LEFT JOIN partners p ON p.program = $1 AND p.key = s.partner \
         ORDER BY 1 DESC, 2 DESC, 3",
    )
    .bind(program)
    .bind(cutoff(rule))
    .bind(rule.minimum)
    .bind(limit)
    .bind(paid_from)
    .bind(carried_from)
    .fetch_all(executor)
    .await?;
    let mut plan = PlanRows::default();
    for r in &rows {
        let side = if r.try_get::<bool, _>("paid")? {
            &mut plan.paid
        } else {
            &mut plan.carried
        };
        if r.try_get::<i64, _>("side")? == 1 {
            side.partners = count(r.try_get("partners")?);
            side.amount = r.try_get("amount")?;
            side.lines = count(r.try_get("lines")?);
        } else {
            side.rows.push(PayoutPartner {
                partner: r.try_get("partner")?,
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                amount: Money::new(r.try_get("amount")?, exp),
                lines: count(r.try_get("lines")?),
            });
        }
    }
    Ok(plan)
}

pub(super) fn payout_from_row(r: &SqliteRow, exp: u8, currency: &str) -> Result<Payout> {
    Ok(Payout {
        id: count(r.try_get("id")?),
        program: r.try_get("program")?,
        created_at: parse_time(&r.try_get::<String, _>("created_at")?)?,
        as_of: parse_time(&r.try_get::<String, _>("as_of")?)?,
        partners: count(r.try_get("partners")?),
        lines: count(r.try_get("lines")?),
        total: Money::new(r.try_get("total")?, exp),
        currency: currency.to_owned(),
    })
}

/// One payout's partners: what the lines it holds add up to per partner.
pub(super) async fn payout_partners<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    id: u64,
    exp: u8,
) -> Result<Vec<PayoutPartner>> {
    let rows = sqlx::query(
        "SELECT l.partner, p.name, p.email, SUM(l.amount) AS amount, COUNT(*) AS lines \
         FROM ledger l LEFT JOIN partners p ON p.program = l.program AND p.key = l.partner \
         WHERE l.program = $1 AND l.payout = $2 GROUP BY l.partner, p.name, p.email ORDER BY l.partner",
    )
    .bind(program)
    .bind(i64::try_from(id).unwrap_or(i64::MAX))
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PayoutPartner {
                partner: r.try_get("partner")?,
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                amount: Money::new(r.try_get("amount")?, exp),
                lines: count(r.try_get("lines")?),
            })
        })
        .collect()
}

/// Per product (and partner): customers, sales and revenue from
/// transactions in the window, net commissions from the ledger lines of
/// those transactions.
///
/// The transactions are read in table order: without statistics SQLite
/// walked them through the index by partner, a row lookup each. Their
/// commissions are the net each row keeps (migration 0018), so the lines
/// are not read at all.
pub(super) async fn product_report<'e>(
    executor: impl SqliteExecutor<'e> + Copy,
    program: &str,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    by_partner: bool,
) -> Result<Vec<ProductRow>> {
    let partner = if by_partner { "t.partner" } else { "NULL" };
    let sql = format!(
        "SELECT t.product AS product, {partner} AS partner, \
           COUNT(DISTINCT CASE WHEN t.amount > 0 THEN t.customer END) AS customers, \
           SUM(CASE WHEN t.amount > 0 THEN 1 ELSE 0 END) AS sales, \
           SUM(t.amount - t.refunded) AS revenue, \
           SUM(t.commission) AS commissions \
         FROM transactions t NOT INDEXED \
         WHERE t.program = $1 AND t.at >= $2 AND t.at < $3 \
         GROUP BY t.product{} ORDER BY t.product{}",
        if by_partner { ", t.partner" } else { "" },
        if by_partner { ", t.partner" } else { "" },
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(program)
        .bind(since.map_or_else(String::new, timestamp))
        .bind(until.map_or_else(|| "~".to_owned(), timestamp))
        .fetch_all(executor)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ProductRow {
                product: r.try_get("product")?,
                partner: r.try_get("partner")?,
                customers: count(r.try_get("customers")?),
                sales: count(r.try_get("sales")?),
                revenue: i128::from(r.try_get::<i64, _>("revenue")?),
                commissions: i128::from(r.try_get::<i64, _>("commissions")?),
            })
        })
        .collect()
}
