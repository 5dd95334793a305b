//! Tokens: stored hashed, listed by id, revoked and expired in place.

use std::str::FromStr;

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqliteExecutor, Transaction};

use super::{parse_time, parse_time_opt, timestamp};
use crate::error::{Error, Result};
use crate::store::token::{Scope, TokenRecord};

const COLUMNS: &str = "id, hash, scopes, program, created_at, expires_at, revoked_at, last_used_at";

pub(super) async fn insert(
    tx: &mut Transaction<'static, Sqlite>,
    token: &TokenRecord,
) -> Result<()> {
    let scopes = token
        .scopes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    sqlx::query(
        "INSERT INTO tokens (id, hash, scopes, program, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&token.id)
    .bind(&token.hash)
    .bind(scopes)
    .bind(&token.program)
    .bind(timestamp(token.created_at))
    .bind(token.expires_at.map(timestamp))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The token whose `column` (id or hash) is `value`.
pub(super) async fn by<'e>(
    column: &'static str,
    executor: impl SqliteExecutor<'e>,
    value: &str,
) -> Result<Option<TokenRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM tokens WHERE {column} = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn page<'e>(
    executor: impl SqliteExecutor<'e>,
    program: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<TokenRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM tokens WHERE id > $1 AND ($2 IS NULL OR program = $2) ORDER BY id LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(after.unwrap_or(""))
        .bind(program)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(executor)
        .await?;
    rows.iter().map(from_row).collect()
}

fn from_row(row: &SqliteRow) -> Result<TokenRecord> {
    let scopes: String = row.try_get("scopes")?;
    Ok(TokenRecord {
        id: row.try_get("id")?,
        hash: row.try_get("hash")?,
        scopes: scopes
            .split_whitespace()
            .map(Scope::from_str)
            .collect::<Result<_, _>>()
            .map_err(Error::Internal)?,
        program: row.try_get("program")?,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        expires_at: parse_time_opt(row.try_get("expires_at")?)?,
        revoked_at: parse_time_opt(row.try_get("revoked_at")?)?,
        last_used_at: parse_time_opt(row.try_get("last_used_at")?)?,
    })
}
