//! Webhooks out on SQLite: the outbox, secrets and leases (see
//! [`crate::store::outbox`]). Every query is portable SQL; where PostgreSQL
//! would do it differently, the comment says how.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder, Row, Transaction};

use super::{PgStore, parse_time, parse_time_opt, rows_per_statement, timestamp};
use crate::error::{Error, Result};
use crate::spec::{EventType, Kind};
use crate::store::changeset::Delta;
use crate::store::outbox::{
    Attempt, Delivery, DeliveryQuery, DeliveryStatus, EndpointSecrets, OutboxMessage, OutboxStore,
    Outcome, Queued,
};

/// Set in a crash test's child process: the store then says on stderr, with
/// [`OUTBOX_WRITTEN_MARKER`], when a unit of work has written its outbox
/// rows and not committed, so a kill that follows lands inside the
/// transaction.
#[doc(hidden)]
pub const MARK_OUTBOX_WRITTEN_ENV: &str = "PARTNEROPS_TEST_MARK_OUTBOX_WRITTEN";
#[doc(hidden)]
pub const OUTBOX_WRITTEN_MARKER: &str = "partnerops-test: outbox rows written, not committed";

/// Writes a unit of work's messages in its transaction.
pub(super) async fn write_messages(
    tx: &mut Transaction<'static, Postgres>,
    program: &str,
    messages: &[OutboxMessage],
) -> Result<()> {
    if messages.is_empty() {
        return Ok(());
    }
    for chunk in messages.chunks(rows_per_statement(9)) {
        let mut q = QueryBuilder::<Postgres>::new(
            "INSERT INTO webhook_messages (id, program, endpoint, type, body, created_at, status, attempts, next_attempt_at) ",
        );
        q.push_values(chunk, |mut b, m| {
            let created = timestamp(m.created_at);
            b.push_bind(m.id.as_str())
                .push_bind(program)
                .push_bind(m.endpoint.as_str())
                .push_bind(m.event_type.as_str())
                .push_bind(m.body.as_str())
                .push_bind(created.clone())
                .push_bind("pending")
                .push_bind(0_i64)
                .push_bind(created);
        });
        q.build().execute(&mut **tx).await?;
    }
    if std::env::var_os(MARK_OUTBOX_WRITTEN_ENV).is_some() {
        eprintln!("{OUTBOX_WRITTEN_MARKER}");
    }
    Ok(())
}

/// What a config change means for webhooks: a renamed endpoint keeps its
/// secret, queue and history; a deleted one loses its secret, and what it
/// had not been sent fails; a new one gets the secret the engine made.
pub(super) async fn carry_config(
    tx: &mut Transaction<'static, Postgres>,
    program: &str,
    revision: u64,
    delta: &Delta,
    now: DateTime<Utc>,
) -> Result<()> {
    for (kind, old, new) in &delta.renamed {
        if *kind != Kind::Webhook {
            continue;
        }
        for table in ["webhook_secrets", "webhook_messages", "webhook_leases"] {
            let sql =
                format!("UPDATE {table} SET endpoint = $3 WHERE program = $1 AND endpoint = $2");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(program)
                .bind(old)
                .bind(new)
                .execute(&mut **tx)
                .await?;
        }
    }
    for (kind, key) in &delta.deleted {
        if *kind != Kind::Webhook {
            continue;
        }
        sqlx::query("DELETE FROM webhook_secrets WHERE program = $1 AND endpoint = $2")
            .bind(program)
            .bind(key)
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM webhook_leases WHERE program = $1 AND endpoint = $2")
            .bind(program)
            .bind(key)
            .execute(&mut **tx)
            .await?;
        fail_pending_in(
            tx,
            program,
            key,
            &format!("the endpoint was deleted in revision {revision}"),
            now,
        )
        .await?;
    }
    for (endpoint, secret) in &delta.webhook_secrets {
        sqlx::query(
            "INSERT INTO webhook_secrets (program, endpoint, secret, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (program, endpoint) DO NOTHING",
        )
        .bind(program)
        .bind(endpoint)
        .bind(secret)
        .bind(timestamp(now))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn fail_pending_in(
    tx: &mut Transaction<'static, Postgres>,
    program: &str,
    endpoint: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE webhook_messages SET status = 'failed', last_error = $3, last_attempt_at = COALESCE(last_attempt_at, $4) \
         WHERE status = 'pending' AND program = $1 AND endpoint = $2",
    )
    .bind(program)
    .bind(endpoint)
    .bind(reason)
    .bind(timestamp(at))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

const DELIVERY_COLUMNS: &str = "id, endpoint, type, status, attempts, created_at, next_attempt_at, last_attempt_at, last_status, last_error";

fn delivery_from_row(row: &sqlx::postgres::PgRow, with_body: bool) -> Result<Delivery> {
    let kind: String = row.try_get("type")?;
    let status: String = row.try_get("status")?;
    let status = DeliveryStatus::parse(&status)
        .ok_or_else(|| Error::Internal(format!("bad delivery status `{status}` in store")))?;
    let body = if with_body {
        let text: String = row.try_get("body")?;
        Some(
            serde_json::from_str(&text)
                .map_err(|e| Error::Internal(format!("bad message body in store: {e}")))?,
        )
    } else {
        None
    };
    Ok(Delivery {
        id: row.try_get("id")?,
        endpoint: row.try_get("endpoint")?,
        event_type: EventType::parse(&kind)
            .ok_or_else(|| Error::Internal(format!("bad message type `{kind}` in store")))?,
        status,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        next_attempt_at: if status == DeliveryStatus::Pending {
            parse_time_opt(row.try_get("next_attempt_at")?)?
        } else {
            None
        },
        last_attempt_at: parse_time_opt(row.try_get("last_attempt_at")?)?,
        last_status: row
            .try_get::<Option<i64>, _>("last_status")?
            .and_then(|s| u16::try_from(s).ok()),
        last_error: row.try_get("last_error")?,
        body,
    })
}

#[async_trait]
impl OutboxStore for PgStore {
    async fn due_endpoints(&self, now: DateTime<Utc>) -> Result<Vec<(String, String)>> {
        // The head of each queue (its first pending message) decides: later
        // messages wait for it whatever their own times.
        let rows = sqlx::query(
            "SELECT m.program, m.endpoint FROM webhook_messages m \
             JOIN (SELECT program, endpoint, MIN(seq) AS seq FROM webhook_messages WHERE status = 'pending' GROUP BY program, endpoint) h \
               ON m.seq = h.seq \
             LEFT JOIN webhook_leases l ON l.program = m.program AND l.endpoint = m.endpoint \
             WHERE m.next_attempt_at <= $1 AND (l.leased_until IS NULL OR l.leased_until < $1) \
             ORDER BY m.seq",
        )
        .bind(timestamp(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("program")?, r.try_get("endpoint")?)))
            .collect()
    }

    async fn lease_endpoint(
        &self,
        program: &str,
        endpoint: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        // One statement takes a free lease, an expired one, or renews our
        // own; the row's lock (SQLite's write lock here, the row lock in
        // PostgreSQL, where ON CONFLICT DO UPDATE ... WHERE is atomic too)
        // lets one replica through. Rows affected says who won.
        let mut tx = self.write_tx(program).await?;
        let taken = sqlx::query(
            "INSERT INTO webhook_leases (program, endpoint, owner, leased_until) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (program, endpoint) DO UPDATE SET owner = excluded.owner, leased_until = excluded.leased_until \
             WHERE webhook_leases.owner = excluded.owner OR webhook_leases.leased_until < $5",
        )
        .bind(program)
        .bind(endpoint)
        .bind(owner)
        .bind(timestamp(until))
        .bind(timestamp(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(taken.rows_affected() == 1)
    }

    async fn release_endpoint(&self, program: &str, endpoint: &str, owner: &str) -> Result<()> {
        let mut tx = self.write_tx(program).await?;
        sqlx::query(
            "DELETE FROM webhook_leases WHERE program = $1 AND endpoint = $2 AND owner = $3",
        )
        .bind(program)
        .bind(endpoint)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn queued(&self, program: &str, endpoint: &str, limit: usize) -> Result<Vec<Queued>> {
        // Only the lease holder reads to send, so no row lock is needed; in
        // PostgreSQL a per-message claim would be SELECT ... FOR UPDATE SKIP
        // LOCKED, which the endpoint lease makes unnecessary here.
        let rows = sqlx::query(
            "SELECT seq, id, body, attempts, next_attempt_at FROM webhook_messages \
             WHERE status = 'pending' AND program = $1 AND endpoint = $2 ORDER BY seq LIMIT $3",
        )
        .bind(program)
        .bind(endpoint)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Queued {
                    seq: r.try_get("seq")?,
                    id: r.try_get("id")?,
                    body: r.try_get("body")?,
                    attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                    next_attempt_at: parse_time(&r.try_get::<String, _>("next_attempt_at")?)?,
                })
            })
            .collect()
    }

    async fn record_attempts(
        &self,
        program: &str,
        endpoint: &str,
        owner: &str,
        attempts: &[Attempt],
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.write_tx(program).await?;
        // Renewing the lease first proves it is still ours; a sender whose
        // lease ran out and was taken records nothing (its sends count as
        // at-least-once deliveries the new holder may repeat).
        let held = sqlx::query(
            "UPDATE webhook_leases SET leased_until = $4 WHERE program = $1 AND endpoint = $2 AND owner = $3",
        )
        .bind(program)
        .bind(endpoint)
        .bind(owner)
        .bind(timestamp(until))
        .execute(&mut *tx)
        .await?;
        if held.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        for a in attempts {
            let (status, next) = match &a.outcome {
                Outcome::Delivered => ("delivered", a.at),
                Outcome::RetryAt(t) => ("pending", *t),
                Outcome::Failed => ("failed", a.at),
            };
            sqlx::query(
                "UPDATE webhook_messages SET status = $2, attempts = attempts + 1, next_attempt_at = $3, \
                 last_attempt_at = $4, last_status = $5, last_error = $6 WHERE seq = $1 AND status = 'pending'",
            )
            .bind(a.seq)
            .bind(status)
            .bind(timestamp(next))
            .bind(timestamp(a.at))
            .bind(a.status.map(i64::from))
            .bind(a.error.as_deref())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn fail_pending(
        &self,
        program: &str,
        endpoint: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let mut tx = self.write_tx(program).await?;
        let n = fail_pending_in(&mut tx, program, endpoint, reason, at).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn deliveries(&self, program: &str, query: &DeliveryQuery) -> Result<Vec<Delivery>> {
        let body = if query.with_body { ", body" } else { "" };
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {DELIVERY_COLUMNS}{body} FROM webhook_messages WHERE program = "
        ));
        q.push_bind(program);
        if let Some(endpoint) = &query.endpoint {
            q.push(" AND endpoint = ").push_bind(endpoint.as_str());
        }
        if let Some(status) = query.status {
            q.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(before) = &query.before {
            q.push(" AND seq < (SELECT seq FROM webhook_messages WHERE id = ")
                .push_bind(before.as_str())
                .push(")");
        }
        q.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(i64::try_from(query.limit).unwrap_or(i64::MAX));
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| delivery_from_row(r, query.with_body))
            .collect()
    }

    async fn redeliver(
        &self,
        program: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>> {
        let mut tx = self.write_tx(program).await?;
        sqlx::query(
            "UPDATE webhook_messages SET status = 'pending', attempts = 0, next_attempt_at = $3 \
             WHERE program = $1 AND id = $2",
        )
        .bind(program)
        .bind(id)
        .bind(timestamp(now))
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_messages WHERE program = $1 AND id = $2"
        )))
        .bind(program)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.map(|r| delivery_from_row(&r, false)).transpose()
    }

    async fn endpoint_secrets(
        &self,
        program: &str,
        endpoint: &str,
    ) -> Result<Option<EndpointSecrets>> {
        let row = sqlx::query(
            "SELECT secret, previous, previous_until FROM webhook_secrets WHERE program = $1 AND endpoint = $2",
        )
        .bind(program)
        .bind(endpoint)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let previous: Option<String> = row.try_get("previous")?;
        let until = parse_time_opt(row.try_get("previous_until")?)?;
        Ok(Some(EndpointSecrets {
            current: row.try_get("secret")?,
            previous: previous.zip(until),
        }))
    }

    async fn rotate_secret(
        &self,
        program: &str,
        endpoint: &str,
        secret: &str,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.write_tx(program).await?;
        sqlx::query(
            "INSERT INTO webhook_secrets (program, endpoint, secret, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (program, endpoint) DO UPDATE SET previous = webhook_secrets.secret, \
             previous_until = $5, secret = excluded.secret",
        )
        .bind(program)
        .bind(endpoint)
        .bind(secret)
        .bind(timestamp(now))
        .bind(timestamp(keep_until))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
