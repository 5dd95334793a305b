//! Runtime data in one write transaction: load what a unit of work needs, write
//! back what it changed, commit.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use super::ledger::{
    CUSTOMER_COLUMNS, CUSTOMER_PRODUCT_COLUMNS, NETS, NETS_GROUP, REFUND_COLUMNS,
    TRANSACTION_COLUMNS, customer_from_row, customer_product_from_row, net_from_row,
    refund_from_row, transaction_from_row,
};
use super::partners::{STATE_COLUMNS, state_from_row, tags_text};
use super::{BATCH, parse_time_opt, rows_per_statement};
use crate::error::{Error, Result};
use crate::spec::{ProductStatus, Resource};
use crate::store::record::{
    Customer, CustomerProduct, LineNet, Mark, PartnerState, RefundRecord, Subject,
    TransactionRecord, timestamp,
};
use crate::store::{History, RuntimeTx, Writes};

pub(super) struct SqliteRuntimeTx {
    pub(super) tx: Transaction<'static, Sqlite>,
    pub(super) program: String,
    /// Decimals of the program's amounts, read once.
    pub(super) exp: Option<u8>,
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

impl SqliteRuntimeTx {
    async fn exp(&mut self) -> Result<u8> {
        if let Some(e) = self.exp {
            return Ok(e);
        }
        let e = self.minor_units().await?.unwrap_or(2);
        self.exp = Some(e);
        Ok(e)
    }

    async fn customers_with_tags(&mut self, keys: &[&str]) -> Result<Vec<Customer>> {
        let program = self.program.clone();
        let rows = rows_in(
            &mut self.tx,
            &format!("SELECT {CUSTOMER_COLUMNS} FROM customers"),
            &program,
            "key",
            keys,
        )
        .await?;
        let mut customers: BTreeMap<String, Customer> = BTreeMap::new();
        for r in rows {
            let c = customer_from_row(&r)?;
            customers.insert(c.key.clone(), c);
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

    async fn transactions_where(
        &mut self,
        column: &str,
        keys: &[&str],
    ) -> Result<Vec<TransactionRecord>> {
        let program = self.program.clone();
        let exp = self.exp().await?;
        let rows = rows_in(
            &mut self.tx,
            &format!("SELECT {TRANSACTION_COLUMNS} FROM transactions"),
            &program,
            column,
            keys,
        )
        .await?;
        rows.iter().map(|r| transaction_from_row(r, exp)).collect()
    }
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
                serde_json::from_str(s)
                    .map_err(|e| Error::Internal(format!("bad resource in store: {e}")))
            })
            .collect()
    }

    async fn minor_units(&mut self) -> Result<Option<u8>> {
        let units: Option<i64> =
            sqlx::query_scalar("SELECT minor_units FROM programs WHERE key = $1")
                .bind(&self.program)
                .fetch_optional(&mut *self.tx)
                .await?;
        Ok(units.and_then(|u| u8::try_from(u).ok()))
    }

    async fn swept_through(&mut self) -> Result<Option<DateTime<Utc>>> {
        let at: Option<Option<String>> =
            sqlx::query_scalar("SELECT swept_through FROM programs WHERE key = $1")
                .bind(&self.program)
                .fetch_optional(&mut *self.tx)
                .await?;
        parse_time_opt(at.flatten())
    }

    async fn set_swept_through(&mut self, at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE programs SET swept_through = $2 WHERE key = $1 AND (swept_through IS NULL OR swept_through < $2)",
        )
        .bind(&self.program)
        .bind(timestamp(at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn backfill_pending(&mut self) -> Result<bool> {
        let pending: Option<i64> =
            sqlx::query_scalar("SELECT backfill_pending FROM programs WHERE key = $1")
                .bind(&self.program)
                .fetch_optional(&mut *self.tx)
                .await?;
        Ok(pending.unwrap_or(0) != 0)
    }

    async fn set_backfill_pending(&mut self, pending: bool) -> Result<()> {
        sqlx::query("UPDATE programs SET backfill_pending = $2 WHERE key = $1")
            .bind(&self.program)
            .bind(i64::from(pending))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn seen_events(&mut self, ids: &[&str]) -> Result<HashSet<String>> {
        let program = self.program.clone();
        let rows = rows_in(&mut self.tx, "SELECT id FROM events", &program, "id", ids).await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    async fn partners(&mut self, keys: &[&str]) -> Result<Vec<PartnerState>> {
        let program = self.program.clone();
        let exp = self.exp().await?;
        let head = format!("SELECT {STATE_COLUMNS} FROM partners");
        let rows = rows_in(&mut self.tx, &head, &program, "key", keys).await?;
        rows.iter().map(|r| state_from_row(r, exp)).collect()
    }

    async fn partners_with_history(&mut self, keys: &[&str]) -> Result<HashSet<String>> {
        let program = self.program.clone();
        let mut found = HashSet::new();
        for (head, column) in [
            ("SELECT subject AS k FROM events", "subject"),
            ("SELECT partner AS k FROM customers", "partner"),
            ("SELECT partner AS k FROM transactions", "partner"),
        ] {
            for r in rows_in(&mut self.tx, head, &program, column, keys).await? {
                found.insert(r.try_get("k")?);
            }
        }
        Ok(found)
    }

    async fn customers(&mut self, keys: &[&str]) -> Result<Vec<Customer>> {
        self.customers_with_tags(keys).await
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

    async fn transactions(&mut self, keys: &[&str]) -> Result<Vec<TransactionRecord>> {
        self.transactions_where("key", keys).await
    }

    async fn transactions_of(&mut self, customers: &[&str]) -> Result<Vec<TransactionRecord>> {
        self.transactions_where("customer", customers).await
    }

    async fn refunds_of(&mut self, transactions: &[&str]) -> Result<Vec<RefundRecord>> {
        let program = self.program.clone();
        let exp = self.exp().await?;
        let rows = rows_in(
            &mut self.tx,
            &format!("SELECT {REFUND_COLUMNS} FROM refunds"),
            &program,
            "transaction_key",
            transactions,
        )
        .await?;
        let mut refunds = rows
            .iter()
            .map(|r| refund_from_row(r, exp))
            .collect::<Result<Vec<_>>>()?;
        // In the order they took effect, whatever order the index gave (the
        // stores differ, and the chunks of a long list come one after another).
        refunds.sort_by(|a, b| (a.at, &a.event_id).cmp(&(b.at, &b.event_id)));
        Ok(refunds)
    }

    async fn known_refunds(&mut self, keys: &[&str]) -> Result<HashSet<String>> {
        let program = self.program.clone();
        let rows = rows_in(
            &mut self.tx,
            "SELECT key FROM refunds",
            &program,
            "key",
            keys,
        )
        .await?;
        rows.iter().map(|r| Ok(r.try_get("key")?)).collect()
    }

    async fn nets(&mut self, transactions: &[&str]) -> Result<Vec<LineNet>> {
        let program = self.program.clone();
        let exp = self.exp().await?;
        let mut out = Vec::new();
        for chunk in transactions.chunks(BATCH) {
            let mut q = QueryBuilder::<Sqlite>::new(NETS);
            q.push(" WHERE program = ").push_bind(program.clone());
            q.push(" AND transaction_key IN (");
            let mut list = q.separated(", ");
            for k in chunk {
                list.push_bind((*k).to_owned());
            }
            q.push(")");
            q.push(NETS_GROUP);
            for r in q.build().fetch_all(&mut *self.tx).await? {
                out.push(net_from_row(&r, exp)?);
            }
        }
        Ok(out)
    }

    async fn history(&mut self, partner: &str) -> Result<History> {
        let program = self.program.clone();
        let exp = self.exp().await?;
        let row = self.partners(&[partner]).await?.into_iter().next();
        let events = sqlx::query(
            "SELECT id, type, at, body FROM events WHERE program = $1 AND subject = $2",
        )
        .bind(&program)
        .bind(partner)
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(|r| {
            let kind: String = r.try_get("type")?;
            let rank = match kind.as_str() {
                "partner.joined" => crate::store::record::RANK_JOINED,
                "partner.updated" => crate::store::record::RANK_UPDATED,
                _ => crate::store::record::RANK_ACTIVE,
            };
            let at: String = r.try_get("at")?;
            let id: String = r.try_get("id")?;
            Ok((
                Mark::from_text(format!("{at}|{rank}|{id}")),
                r.try_get::<String, _>("body")?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
        let signups = sqlx::query(
            "SELECT key, referral FROM customers WHERE program = $1 AND partner = $2 AND referral IS NOT NULL",
        )
        .bind(&program)
        .bind(partner)
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>("key")?,
                Mark::from_text(r.try_get::<String, _>("referral")?),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
        let transactions = self.transactions_where("partner", &[partner]).await?;
        let nets = {
            let mut q = QueryBuilder::<Sqlite>::new(NETS);
            q.push(" WHERE program = ").push_bind(program.clone());
            q.push(" AND partner = ").push_bind(partner.to_owned());
            q.push(NETS_GROUP);
            q.build()
                .fetch_all(&mut *self.tx)
                .await?
                .iter()
                .map(|r| net_from_row(r, exp))
                .collect::<Result<Vec<_>>>()?
        };
        let mine: HashSet<&str> = transactions.iter().map(|t| t.key.as_str()).collect();
        let other_keys: Vec<&str> = {
            let mut v: Vec<&str> = nets
                .iter()
                .map(|n| n.transaction.as_str())
                .filter(|k| !mine.contains(k))
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let others = self.transactions_where("key", &other_keys).await?;
        let keys: Vec<&str> = transactions.iter().map(|t| t.key.as_str()).collect();
        let refunds = self
            .refunds_of(&keys)
            .await?
            .into_iter()
            .filter(|r| r.applied)
            .collect();
        let mut customer_keys: Vec<&str> = signups
            .iter()
            .map(|(c, _)| c.as_str())
            .chain(transactions.iter().map(|t| t.customer.as_str()))
            .chain(others.iter().map(|t| t.customer.as_str()))
            .collect();
        customer_keys.sort_unstable();
        customer_keys.dedup();
        let customers = self.customers_with_tags(&customer_keys).await?;
        let group_renames = sqlx::query(
            "SELECT old_key, new_key FROM renames WHERE program = $1 AND kind = 'group' ORDER BY revision",
        )
        .bind(&program)
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("old_key")?, r.try_get("new_key")?)))
        .collect::<Result<Vec<_>>>()?;
        Ok(History {
            group_renames,
            row,
            events,
            signups,
            transactions,
            others,
            refunds,
            nets,
            customers,
        })
    }

    async fn due_partners(
        &mut self,
        up_to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PartnerState>> {
        let exp = self.exp().await?;
        let sql = format!(
            "SELECT {STATE_COLUMNS} FROM partners WHERE program = $1 AND next_due_at <= $2 \
             ORDER BY next_due_at, key LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&self.program)
            .bind(timestamp(up_to))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(|r| state_from_row(r, exp)).collect()
    }

    async fn partners_after(
        &mut self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PartnerState>> {
        let exp = self.exp().await?;
        let sql = format!(
            "SELECT {STATE_COLUMNS} FROM partners WHERE program = $1 AND key > $2 ORDER BY key LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&self.program)
            .bind(after.unwrap_or(""))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(|r| state_from_row(r, exp)).collect()
    }

    async fn write(&mut self, w: &Writes) -> Result<()> {
        let program = self.program.clone();
        let program = program.as_str();
        let now = timestamp(Utc::now());

        // Webhook messages in the same transaction as the changes they tell
        // of: they exist exactly when the changes do.
        super::outbox::write_messages(&mut self.tx, program, &w.outbox).await?;

        for chunk in w.events.chunks(rows_per_statement(7)) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO events (program, id, type, at, received_at, subject, body) ",
            );
            q.push_values(chunk, |mut b, e| {
                b.push_bind(program)
                    .push_bind(e.id.as_str())
                    .push_bind(e.kind)
                    .push_bind(timestamp(e.at))
                    .push_bind(now.as_str())
                    .push_bind(e.subject.as_deref())
                    .push_bind(e.body.as_str());
            });
            q.build().execute(&mut *self.tx).await?;
        }

        for chunk in w.partners.chunks(rows_per_statement(20)) {
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
                    .push_bind(count(p.stats.sales))
                    .push_bind(p.stats.revenue.minor())
                    .push_bind(p.first_signup_at.map(timestamp))
                    .push_bind(p.first_sale_at.map(timestamp))
                    .push_bind(p.first_commission_at.map(timestamp))
                    .push_bind(tags_text(&p.tags))
                    .push_bind(state.fires.to_text())
                    .push_bind(state.mark.as_ref().map(|m| m.as_str().to_owned()))
                    .push_bind(state.last_fire_at.map(timestamp))
                    .push_bind(state.next_due_at.map(timestamp));
            });
            q.push(
                " ON CONFLICT (program, key) DO UPDATE SET name = excluded.name, email = excluded.email, grp = excluded.grp, \
                 joined_at = excluded.joined_at, last_activity_at = excluded.last_activity_at, last_referral_at = excluded.last_referral_at, \
                 signups = excluded.signups, customers = excluded.customers, sales = excluded.sales, revenue = excluded.revenue, \
                 first_signup_at = excluded.first_signup_at, first_sale_at = excluded.first_sale_at, first_commission_at = excluded.first_commission_at, \
                 tags = excluded.tags, fires = excluded.fires, mark = excluded.mark, last_fire_at = excluded.last_fire_at, next_due_at = excluded.next_due_at",
            );
            q.build().execute(&mut *self.tx).await?;
        }

        for chunk in w.customers.chunks(rows_per_statement(7)) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO customers (program, {CUSTOMER_COLUMNS}) "
            ));
            q.push_values(chunk, |mut b, c| {
                b.push_bind(program)
                    .push_bind(c.key.as_str())
                    .push_bind(c.partner.as_deref())
                    .push_bind(c.referral.as_ref().map(|m| m.as_str().to_owned()))
                    .push_bind(c.signed_up_at.map(timestamp))
                    .push_bind(c.first_purchase_at.map(timestamp))
                    .push_bind(tags_text(&c.bought_through));
            });
            q.push(
                " ON CONFLICT (program, key) DO UPDATE SET partner = excluded.partner, referral = excluded.referral, \
                 signed_up_at = excluded.signed_up_at, first_purchase_at = excluded.first_purchase_at, bought_through = excluded.bought_through",
            );
            q.build().execute(&mut *self.tx).await?;
        }

        for chunk in w.products.chunks(rows_per_statement(9)) {
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
                " ON CONFLICT (program, subscription, product) DO UPDATE SET status = excluded.status, \
                 partner = excluded.partner, created_at = excluded.created_at, updated_at = excluded.updated_at, statuses = excluded.statuses",
            );
            q.build().execute(&mut *self.tx).await?;
        }

        // Each transaction's net commission, kept on its row: what this
        // unit's lines add, in the transaction's own upsert when it writes
        // one, else in place.
        let (added, elsewhere) = w.commissions_added();
        for chunk in w.transactions.chunks(rows_per_statement(18)) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO transactions (program, {TRANSACTION_COLUMNS}, commission) "
            ));
            q.push_values(chunk, |mut b, t| {
                b.push_bind(program)
                    .push_bind(t.key.as_str())
                    .push_bind(t.customer.as_str())
                    .push_bind(t.amount.minor())
                    .push_bind(t.subscription_key.as_deref())
                    .push_bind(t.kind.as_str())
                    .push_bind(timestamp(t.at))
                    .push_bind(t.event_id.as_deref())
                    .push_bind(t.partner.as_deref())
                    .push_bind(t.product.as_deref())
                    .push_bind(i64::try_from(t.revision).unwrap_or(i64::MAX))
                    .push_bind(t.seen.product_status.map(ProductStatus::as_str))
                    .push_bind(t.seen.product_created_at.map(timestamp))
                    .push_bind(t.seen.partner_group.as_deref())
                    .push_bind(tags_text(&t.seen.partner_tags))
                    .push_bind(t.seen.customer_since.map(timestamp))
                    .push_bind(t.refunded.minor())
                    .push_bind(added.get(t.key.as_str()).copied().unwrap_or(0));
            });
            q.push(
                " ON CONFLICT (program, key) DO UPDATE SET partner = excluded.partner, product = excluded.product, \
                 seen_status = excluded.seen_status, seen_created_at = excluded.seen_created_at, seen_group = excluded.seen_group, \
                 seen_tags = excluded.seen_tags, seen_customer_since = excluded.seen_customer_since, refunded = excluded.refunded, \
                 commission = transactions.commission + excluded.commission",
            );
            q.build().execute(&mut *self.tx).await?;
        }
        for (key, amount) in elsewhere {
            sqlx::query(crate::store::ADD_COMMISSION)
                .bind(amount)
                .bind(program)
                .bind(key)
                .execute(&mut *self.tx)
                .await?;
        }

        for chunk in w.refunds.chunks(rows_per_statement(7)) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO refunds (program, key, transaction_key, amount, at, event_id, applied) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(program)
                    .push_bind(r.key.as_str())
                    .push_bind(r.transaction.as_str())
                    .push_bind(r.amount.minor())
                    .push_bind(timestamp(r.at))
                    .push_bind(r.event_id.as_str())
                    .push_bind(i64::from(r.applied));
            });
            q.push(" ON CONFLICT (program, key) DO UPDATE SET applied = excluded.applied");
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
                    .push_bind(c.cause_kind.as_str())
                    .push_bind(c.cause.as_str())
                    .push_bind(c.event_id.as_deref())
                    .push_bind(timestamp(c.at));
            });
            q.build().execute(&mut *self.tx).await?;
        }

        for chunk in w.lines.chunks(rows_per_statement(14)) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO ledger (program, partner, transaction_key, trigger, revision, product, kind, amount, \
                 due_at, installment, installments, clawback, cause, created_at) ",
            );
            q.push_values(chunk, |mut b, l| {
                b.push_bind(program)
                    .push_bind(l.partner.as_str())
                    .push_bind(l.transaction.as_str())
                    .push_bind(l.trigger.as_str())
                    .push_bind(i64::try_from(l.revision).unwrap_or(i64::MAX))
                    .push_bind(l.product.as_deref())
                    .push_bind(l.kind.as_str())
                    .push_bind(l.amount.minor())
                    .push_bind(timestamp(l.due_at))
                    .push_bind(i64::from(l.installment))
                    .push_bind(i64::from(l.installments))
                    .push_bind(i64::from(l.clawback))
                    .push_bind(l.cause.as_deref())
                    .push_bind(timestamp(l.created_at));
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
