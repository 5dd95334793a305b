//! Runtime data in one write transaction: load what a unit of work needs, write
//! back what it changed, commit.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use super::ledger::{CUSTOMER_PRODUCT_COLUMNS, customer_product_from_row};
use super::partners::{DUE_COLUMNS, STATE_COLUMNS, due_state_from_row, state_from_row, tags_text};
use super::{BATCH, parse_time_opt, rows_per_statement, timestamp};
use crate::engine::Result;
use crate::engine::runtime::state::{Customer, CustomerProduct, PartnerState, Subject, Workspace};
use crate::spec::{ProductStatus, Resource};
use crate::store::RuntimeTx;

pub(super) struct SqliteRuntimeTx {
    pub(super) tx: Transaction<'static, Sqlite>,
    pub(super) program: String,
}

/// `SELECT ... WHERE program = $1 AND <column> IN (...)` over `keys` in chunks.
async fn rows_in(
    tx: &mut Transaction<'static, Sqlite>,
    head: &str,
    program: &str,
    column: &str,
    keys: &[&str],
) -> Result<Vec<sqlx::sqlite::SqliteRow>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(BATCH) {
        let mut q = QueryBuilder::<Sqlite>::new(head);
        q.push(" WHERE program = ").push_bind(program.to_owned());
        q.push(format!(" AND {column} IN ("));
        let mut list = q.separated(", ");
        for k in chunk {
            list.push_bind((*k).to_owned());
        }
        q.push(")");
        out.extend(q.build().fetch_all(&mut **tx).await?);
    }
    Ok(out)
}

#[async_trait]
impl RuntimeTx for SqliteRuntimeTx {
    async fn revision(&mut self) -> Result<u64> {
        let rev: Option<i64> = sqlx::query_scalar("SELECT revision FROM programs WHERE key = $1")
            .bind(&self.program)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(rev.map_or(0, |r| u64::try_from(r).unwrap_or(0)))
    }

    async fn resources(&mut self) -> Result<Vec<Resource>> {
        let specs: Vec<String> =
            sqlx::query_scalar("SELECT spec FROM resources WHERE program = $1")
                .bind(&self.program)
                .fetch_all(&mut *self.tx)
                .await?;
        specs
            .iter()
            .map(|s| {
                serde_json::from_str(s).map_err(|e| {
                    crate::engine::Error::Internal(format!("bad resource in store: {e}"))
                })
            })
            .collect()
    }

    async fn seen_events(&mut self, ids: &[&str]) -> Result<HashSet<String>> {
        let program = self.program.clone();
        let rows = rows_in(&mut self.tx, "SELECT id FROM events", &program, "id", ids).await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    async fn known_transactions(&mut self, keys: &[&str]) -> Result<HashSet<String>> {
        let program = self.program.clone();
        let rows = rows_in(
            &mut self.tx,
            "SELECT key FROM transactions",
            &program,
            "key",
            keys,
        )
        .await?;
        rows.iter().map(|r| Ok(r.try_get("key")?)).collect()
    }

    async fn subscriptions(&mut self, keys: &[&str]) -> Result<Vec<CustomerProduct>> {
        let program = self.program.clone();
        let rows = rows_in(
            &mut self.tx,
            &format!("SELECT {CUSTOMER_PRODUCT_COLUMNS} FROM customer_products"),
            &program,
            "subscription",
            keys,
        )
        .await?;
        rows.iter().map(customer_product_from_row).collect()
    }

    async fn customers(&mut self, keys: &[&str]) -> Result<Vec<Customer>> {
        let program = self.program.clone();
        let rows = rows_in(
            &mut self.tx,
            "SELECT key, partner, signed_up_at, first_purchase_at, bought_through FROM customers",
            &program,
            "key",
            keys,
        )
        .await?;
        let mut customers: BTreeMap<String, Customer> = BTreeMap::new();
        for r in rows {
            let key: String = r.try_get("key")?;
            customers.insert(
                key.clone(),
                Customer {
                    key,
                    partner: r.try_get("partner")?,
                    signed_up_at: parse_time_opt(r.try_get("signed_up_at")?)?,
                    first_purchase_at: parse_time_opt(r.try_get("first_purchase_at")?)?,
                    tags: BTreeSet::new(),
                    bought_through: r
                        .try_get::<String, _>("bought_through")?
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                },
            );
        }
        let found: Vec<&str> = customers.keys().map(String::as_str).collect();
        let tags = rows_in(
            &mut self.tx,
            "SELECT customer, tag FROM customer_tags",
            &program,
            "customer",
            &found,
        )
        .await?;
        for r in tags {
            if let Some(c) = customers.get_mut(&r.try_get::<String, _>("customer")?) {
                c.tags.insert(r.try_get("tag")?);
            }
        }
        Ok(customers.into_values().collect())
    }

    async fn partners(&mut self, keys: &[&str]) -> Result<Vec<PartnerState>> {
        let program = self.program.clone();
        let head = format!("SELECT {STATE_COLUMNS} FROM partners");
        let rows = rows_in(&mut self.tx, &head, &program, "key", keys).await?;
        rows.iter().map(state_from_row).collect()
    }

    async fn partners_after(
        &mut self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PartnerState>> {
        let sql = format!(
            "SELECT {DUE_COLUMNS} FROM partners WHERE program = $1 AND key > $2 ORDER BY key LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&self.program)
            .bind(after.unwrap_or(""))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(due_state_from_row).collect()
    }

    async fn write(&mut self, ws: &Workspace) -> Result<()> {
        let program = self.program.clone();
        let program = program.as_str();
        let w = &ws.writes;
        let now = timestamp(Utc::now());

        for chunk in w.events.chunks(rows_per_statement(6)) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO events (program, id, type, at, received_at, body) ",
            );
            q.push_values(chunk, |mut b, e| {
                b.push_bind(program)
                    .push_bind(e.id.as_str())
                    .push_bind(e.kind)
                    .push_bind(timestamp(e.at))
                    .push_bind(now.as_str())
                    .push_bind(e.body.as_str());
            });
            q.build().execute(&mut *self.tx).await?;
        }

        let partners: Vec<&PartnerState> = w
            .partners
            .iter()
            .filter_map(|k| ws.partners.get(k))
            .collect();
        for chunk in partners.chunks(rows_per_statement(16)) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO partners (program, {STATE_COLUMNS}) "
            ));
            q.push_values(chunk, |mut b, state| {
                let p = &state.partner;
                let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                b.push_bind(program)
                    .push_bind(p.key.as_str())
                    .push_bind(p.name.as_deref())
                    .push_bind(p.email.as_deref())
                    .push_bind(p.group.as_deref())
                    .push_bind(timestamp(p.joined_at))
                    .push_bind(timestamp(p.stats.last_activity_at))
                    .push_bind(timestamp(p.stats.last_referral_at))
                    .push_bind(count(p.stats.signups))
                    .push_bind(count(p.stats.customers))
                    .push_bind(p.stats.revenue.cents())
                    .push_bind(p.first_signup_at.map(timestamp))
                    .push_bind(p.first_sale_at.map(timestamp))
                    .push_bind(p.first_commission_at.map(timestamp))
                    .push_bind(tags_text(&p.tags))
                    .push_bind(state.fires.to_text());
            });
            q.push(
                " ON CONFLICT (program, key) DO UPDATE SET name = excluded.name, email = excluded.email, grp = excluded.grp, \
                 joined_at = excluded.joined_at, last_activity_at = excluded.last_activity_at, last_referral_at = excluded.last_referral_at, \
                 signups = excluded.signups, customers = excluded.customers, revenue = excluded.revenue, \
                 first_signup_at = excluded.first_signup_at, first_sale_at = excluded.first_sale_at, first_commission_at = excluded.first_commission_at, tags = excluded.tags, fires = excluded.fires",
            );
            q.build().execute(&mut *self.tx).await?;
        }

        let customers: Vec<&Customer> = w
            .customers
            .iter()
            .filter_map(|k| ws.customers.get(k))
            .collect();
        for chunk in customers.chunks(rows_per_statement(6)) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO customers (program, key, partner, signed_up_at, first_purchase_at, bought_through) ",
            );
            q.push_values(chunk, |mut b, c| {
                b.push_bind(program)
                    .push_bind(c.key.as_str())
                    .push_bind(c.partner.as_deref())
                    .push_bind(c.signed_up_at.map(timestamp))
                    .push_bind(c.first_purchase_at.map(timestamp))
                    .push_bind(tags_text(&c.bought_through));
            });
            q.push(
                " ON CONFLICT (program, key) DO UPDATE SET partner = excluded.partner, signed_up_at = excluded.signed_up_at, \
                 first_purchase_at = excluded.first_purchase_at, bought_through = excluded.bought_through",
            );
            q.build().execute(&mut *self.tx).await?;
        }

        let products: Vec<&CustomerProduct> = w
            .subscriptions
            .iter()
            .filter_map(|k| ws.subscriptions.get(k))
            .collect();
        for chunk in products.chunks(rows_per_statement(9)) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO customer_products (program, {CUSTOMER_PRODUCT_COLUMNS}) "
            ));
            q.push_values(chunk, |mut b, p| {
                b.push_bind(program)
                    .push_bind(p.external_subscription_key.as_str())
                    .push_bind(p.customer.as_str())
                    .push_bind(p.product.as_str())
                    .push_bind(p.status.as_str())
                    .push_bind(p.partner.as_deref())
                    .push_bind(timestamp(p.created_at))
                    .push_bind(timestamp(p.updated_at))
                    .push_bind(p.statuses.to_text());
            });
            q.push(
                " ON CONFLICT (program, subscription) DO UPDATE SET product = excluded.product, status = excluded.status, \
                 partner = excluded.partner, created_at = excluded.created_at, updated_at = excluded.updated_at, statuses = excluded.statuses",
            );
            q.build().execute(&mut *self.tx).await?;
        }

        // Tags: the net effect per (subject, tag), then the history of changes.
        let net = w.net_tags();
        for (subject_kind, table, column) in [
            (Subject::Partner, "partner_tags", "partner"),
            (Subject::Customer, "customer_tags", "customer"),
        ] {
            let added: Vec<(&str, &str, DateTime<Utc>)> = net
                .iter()
                .filter(|((k, _, _), (on, _))| *k == subject_kind && *on)
                .map(|((_, s, t), (_, at))| (*s, *t, *at))
                .collect();
            for chunk in added.chunks(rows_per_statement(4)) {
                let mut q = QueryBuilder::<Sqlite>::new(format!(
                    "INSERT INTO {table} (program, {column}, tag, added_at) "
                ));
                q.push_values(chunk, |mut b, (s, t, at)| {
                    b.push_bind(program)
                        .push_bind(*s)
                        .push_bind(*t)
                        .push_bind(timestamp(*at));
                });
                q.push(" ON CONFLICT DO NOTHING");
                q.build().execute(&mut *self.tx).await?;
            }
            let delete =
                format!("DELETE FROM {table} WHERE program = $1 AND {column} = $2 AND tag = $3");
            for ((_, s, t), _) in net
                .iter()
                .filter(|((k, _, _), (on, _))| *k == subject_kind && !*on)
            {
                sqlx::query(sqlx::AssertSqlSafe(delete.clone()))
                    .bind(program)
                    .bind(*s)
                    .bind(*t)
                    .execute(&mut *self.tx)
                    .await?;
            }
        }
        // seq is left to the database: it numbers rows in VALUES order, the
        // order the runtime made the changes, which history reads back.
        for chunk in w.tag_changes.chunks(rows_per_statement(9)) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO tag_changes (program, subject_kind, subject, tag, change, cause_kind, cause, event_id, at) ",
            );
            q.push_values(chunk, |mut b, c| {
                b.push_bind(program)
                    .push_bind(c.subject_kind.as_str())
                    .push_bind(c.subject.as_str())
                    .push_bind(c.tag.as_str())
                    .push_bind(if c.added { "added" } else { "removed" })
                    .push_bind(match c.cause_kind {
                        crate::engine::runtime::state::Cause::Automation => "automation",
                        crate::engine::runtime::state::Cause::Config => "config",
                        crate::engine::runtime::state::Cause::Person => "person",
                    })
                    .push_bind(c.cause.as_str())
                    .push_bind(c.event_id.as_deref())
                    .push_bind(timestamp(c.at));
            });
            q.build().execute(&mut *self.tx).await?;
        }

        for chunk in w.transactions.chunks(rows_per_statement(15)) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO transactions (program, key, customer, amount, subscription, kind, at, partner, product, revision, \
                 seen_status, seen_created_at, seen_group, seen_tags, seen_customer_since) ",
            );
            q.push_values(chunk, |mut b, t| {
                b.push_bind(program)
                    .push_bind(t.key.as_str())
                    .push_bind(t.customer.as_str())
                    .push_bind(t.amount.cents())
                    .push_bind(t.subscription_key.as_deref())
                    .push_bind(
                        serde_json::to_value(t.kind)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned)),
                    )
                    .push_bind(timestamp(t.at))
                    .push_bind(t.partner.as_deref())
                    .push_bind(t.product.as_deref())
                    .push_bind(i64::try_from(t.revision).unwrap_or(i64::MAX))
                    .push_bind(t.seen.product_status.map(ProductStatus::as_str))
                    .push_bind(t.seen.product_created_at.map(timestamp))
                    .push_bind(t.seen.partner_group.as_deref())
                    .push_bind(tags_text(&t.seen.partner_tags))
                    .push_bind(t.seen.customer_since.map(timestamp));
            });
            q.build().execute(&mut *self.tx).await?;
        }

        for chunk in w.commissions.chunks(rows_per_statement(10)) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO commissions (program, transaction_key, trigger, installment, installments, partner, amount, due_at, revision, created_at) ",
            );
            q.push_values(chunk, |mut b, c| {
                b.push_bind(program)
                    .push_bind(c.transaction.as_str())
                    .push_bind(c.trigger.as_str())
                    .push_bind(i64::from(c.installment))
                    .push_bind(i64::from(c.installments))
                    .push_bind(c.partner.as_str())
                    .push_bind(c.amount.cents())
                    .push_bind(timestamp(c.due_at))
                    .push_bind(i64::try_from(c.revision).unwrap_or(i64::MAX))
                    .push_bind(timestamp(c.created_at));
            });
            q.build().execute(&mut *self.tx).await?;
        }

        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
