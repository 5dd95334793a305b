//! The Stripe source's records on SQLite.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::Utc;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use super::{BATCH, SqliteStore, parse_time, rows_per_statement, timestamp};
use crate::error::{Error, Result};
use crate::store::stripe::{
    ChargeRecord, InvoiceRecord, StripeEventRecord, StripeStore, StripeTx, StripeWrites,
};

#[async_trait]
impl StripeStore for SqliteStore {
    async fn stripe_secret(&self, program: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT secret FROM stripe_secrets WHERE program = $1")
                .bind(program)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn set_stripe_secret(&self, program: &str, secret: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO stripe_secrets (program, secret, set_at) VALUES ($1, $2, $3) \
             ON CONFLICT (program) DO UPDATE SET secret = excluded.secret, set_at = excluded.set_at",
        )
        .bind(program)
        .bind(secret)
        .bind(timestamp(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn stripe_tx(&self, program: &str) -> Result<Box<dyn StripeTx>> {
        Ok(Box::new(SqliteStripeTx {
            tx: self.write_tx().await?,
            program: program.to_owned(),
        }))
    }
}

struct SqliteStripeTx {
    tx: Transaction<'static, Sqlite>,
    program: String,
}

fn bad(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("bad {what} in store: {e}"))
}

impl SqliteStripeTx {
    /// `SELECT <columns> FROM <table> WHERE program = $1 AND (<column> IN (...) OR ...)`,
    /// over every (column, keys) given, in chunks.
    async fn rows_where_any(
        &mut self,
        select: &str,
        conditions: &[(&str, &[&str])],
    ) -> Result<Vec<sqlx::sqlite::SqliteRow>> {
        let mut out = Vec::new();
        for (column, keys) in conditions {
            for chunk in keys.chunks(BATCH) {
                let mut q = QueryBuilder::<Sqlite>::new(select);
                q.push(" WHERE program = ").push_bind(self.program.clone());
                q.push(format!(" AND {column} IN ("));
                let mut list = q.separated(", ");
                for k in chunk {
                    list.push_bind((*k).to_owned());
                }
                q.push(")");
                out.extend(q.build().fetch_all(&mut *self.tx).await?);
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl StripeTx for SqliteStripeTx {
    async fn revision(&mut self) -> Result<u64> {
        let rev: Option<i64> = sqlx::query_scalar("SELECT revision FROM programs WHERE key = $1")
            .bind(&self.program)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(rev.map_or(0, |r| u64::try_from(r).unwrap_or(0)))
    }

    async fn recorded(&mut self, ids: &[&str]) -> Result<HashMap<String, StripeEventRecord>> {
        let rows = self
            .rows_where_any(
                "SELECT id, type, created, events, notes FROM stripe_events",
                &[("id", ids)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let notes: String = r.try_get("notes")?;
                let record = StripeEventRecord {
                    id: r.try_get("id")?,
                    kind: r.try_get("type")?,
                    created: parse_time(&r.try_get::<String, _>("created")?)?,
                    events: r.try_get("events")?,
                    notes: serde_json::from_str(&notes)
                        .map_err(|e| bad("Stripe event notes", e))?,
                };
                Ok((record.id.clone(), record))
            })
            .collect()
    }

    async fn payments(
        &mut self,
        payments: &[&str],
        invoices: &[&str],
    ) -> Result<Vec<(String, String)>> {
        let rows = self
            .rows_where_any(
                "SELECT payment, invoice FROM stripe_payments",
                &[("payment", payments), ("invoice", invoices)],
            )
            .await?;
        let mut links: Vec<(String, String)> = rows
            .iter()
            .map(|r| Ok((r.try_get("payment")?, r.try_get("invoice")?)))
            .collect::<Result<_>>()?;
        links.sort();
        links.dedup();
        Ok(links)
    }

    async fn invoices(&mut self, ids: &[&str]) -> Result<Vec<InvoiceRecord>> {
        let rows = self
            .rows_where_any(
                "SELECT id, customer, currency, lines FROM stripe_invoices",
                &[("id", ids)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let lines: String = r.try_get("lines")?;
                Ok(InvoiceRecord {
                    id: r.try_get("id")?,
                    customer: r.try_get("customer")?,
                    currency: r.try_get("currency")?,
                    lines: serde_json::from_str(&lines).map_err(|e| bad("invoice lines", e))?,
                })
            })
            .collect()
    }

    async fn charges(
        &mut self,
        ids: &[&str],
        payment_intents: &[&str],
        invoices: &[&str],
    ) -> Result<Vec<ChargeRecord>> {
        let rows = self
            .rows_where_any(
                "SELECT id, payment_intent, invoice, amount, currency, refunded, passed_on, refunded_at FROM stripe_charges",
                &[
                    ("id", ids),
                    ("payment_intent", payment_intents),
                    ("invoice", invoices),
                ],
            )
            .await?;
        let mut charges: HashMap<String, ChargeRecord> = HashMap::new();
        for r in &rows {
            let charge = ChargeRecord {
                id: r.try_get("id")?,
                payment_intent: r.try_get("payment_intent")?,
                invoice: r.try_get("invoice")?,
                amount: r.try_get("amount")?,
                currency: r.try_get("currency")?,
                refunded: r.try_get("refunded")?,
                passed_on: r.try_get("passed_on")?,
                refunded_at: parse_time(&r.try_get::<String, _>("refunded_at")?)?,
            };
            charges.insert(charge.id.clone(), charge);
        }
        Ok(charges.into_values().collect())
    }

    async fn write(&mut self, w: &StripeWrites) -> Result<()> {
        let now = timestamp(Utc::now());
        for chunk in w.events.chunks(rows_per_statement(7)) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO stripe_events (program, id, type, created, received_at, events, notes) ",
            );
            q.push_values(chunk, |mut b, e| {
                b.push_bind(self.program.clone())
                    .push_bind(e.id.clone())
                    .push_bind(e.kind.clone())
                    .push_bind(timestamp(e.created))
                    .push_bind(now.clone())
                    .push_bind(e.events.clone())
                    .push_bind(serde_json::to_string(&e.notes).unwrap_or_else(|_| "[]".to_owned()));
            });
            q.build().execute(&mut *self.tx).await?;
        }
        for chunk in w.invoices.chunks(rows_per_statement(5)) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO stripe_invoices (program, id, customer, currency, lines) ",
            );
            q.push_values(chunk, |mut b, i| {
                b.push_bind(self.program.clone())
                    .push_bind(i.id.clone())
                    .push_bind(i.customer.clone())
                    .push_bind(i.currency.clone())
                    .push_bind(serde_json::to_string(&i.lines).unwrap_or_else(|_| "[]".to_owned()));
            });
            q.push(
                " ON CONFLICT (program, id) DO UPDATE SET customer = excluded.customer, \
                 currency = excluded.currency, lines = excluded.lines",
            );
            q.build().execute(&mut *self.tx).await?;
        }
        for chunk in w.payments.chunks(rows_per_statement(3)) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO stripe_payments (program, payment, invoice) ",
            );
            q.push_values(chunk, |mut b, (payment, invoice)| {
                b.push_bind(self.program.clone())
                    .push_bind(payment.clone())
                    .push_bind(invoice.clone());
            });
            q.push(" ON CONFLICT (program, payment) DO NOTHING");
            q.build().execute(&mut *self.tx).await?;
        }
        for chunk in w.charges.chunks(rows_per_statement(9)) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO stripe_charges (program, id, payment_intent, invoice, amount, currency, refunded, passed_on, refunded_at) ",
            );
            q.push_values(chunk, |mut b, c| {
                b.push_bind(self.program.clone())
                    .push_bind(c.id.clone())
                    .push_bind(c.payment_intent.clone())
                    .push_bind(c.invoice.clone())
                    .push_bind(c.amount)
                    .push_bind(c.currency.clone())
                    .push_bind(c.refunded)
                    .push_bind(c.passed_on)
                    .push_bind(timestamp(c.refunded_at));
            });
            q.push(
                " ON CONFLICT (program, id) DO UPDATE SET payment_intent = excluded.payment_intent, \
                 invoice = excluded.invoice, amount = excluded.amount, currency = excluded.currency, \
                 refunded = excluded.refunded, passed_on = excluded.passed_on, refunded_at = excluded.refunded_at",
            );
            q.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
