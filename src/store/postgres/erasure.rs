//! Erasing a partner's name and email from their row and from stored event
//! bodies (see `engine::erasure`).

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};

use super::{parse_time, timestamp};
use crate::error::Result;
use crate::store::erasure::Erasure;

/// Event types whose `partner` object may hold a name and an email.
const WITH_PERSONAL_DATA: &str = "('partner.joined', 'partner.updated')";

pub(super) async fn erase(
    pool: &PgPool,
    program: &str,
    partner: &str,
    at: DateTime<Utc>,
) -> Result<Erasure> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(super::LOCK_SPACE)
        .bind(program)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE partners SET name = NULL, email = NULL WHERE program = $1 AND key = $2")
        .bind(program)
        .bind(partner)
        .execute(&mut *tx)
        .await?;
    // jsonb rewrites the body without the two fields (its own key order
    // and spacing; the engine reads bodies as JSON, not as text). Bodies of
    // these types are JSON objects: the engine stored them after parsing.
    let sql = format!(
        "UPDATE events SET body = ((body::jsonb) #- '{{partner,name}}' #- '{{partner,email}}')::text \
         WHERE program = $1 AND type IN {WITH_PERSONAL_DATA} \
         AND (body::jsonb) -> 'partner' ->> 'key' = $2 \
         AND ((body::jsonb) -> 'partner' ? 'name' OR (body::jsonb) -> 'partner' ? 'email')"
    );
    let events = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(program)
        .bind(partner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query(
        "INSERT INTO erasures (program, partner, erased_at, events) VALUES ($1, $2, $3, $4)",
    )
    .bind(program)
    .bind(partner)
    .bind(timestamp(at))
    .bind(i64::try_from(events).unwrap_or(i64::MAX))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Erasure {
        partner: partner.to_owned(),
        erased_at: parse_time(&timestamp(at))?,
        events,
    })
}

pub(super) async fn list(pool: &PgPool, program: &str, partner: &str) -> Result<Vec<Erasure>> {
    let rows = sqlx::query(
        "SELECT erased_at, events FROM erasures WHERE program = $1 AND partner = $2 ORDER BY erased_at DESC",
    )
    .bind(program)
    .bind(partner)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Erasure {
                partner: partner.to_owned(),
                erased_at: parse_time(&r.try_get::<String, _>("erased_at")?)?,
                events: u64::try_from(r.try_get::<i64, _>("events")?).unwrap_or(0),
            })
        })
        .collect()
}
