//! `partnerops db copy`: a whole engine from one store to another (SQLite
//! to PostgreSQL, back, or between two of a kind), verified.
//!
//! Every table is read in its key order and written, row for row, with the
//! numbers the database gave rows (ledger line ids, tag change and webhook
//! message sequence numbers) kept, in one transaction on the destination.
//! Before that transaction commits, each table is read back from the
//! destination in the same order and its row count and SHA-256 over every
//! value compared with the source's: a copy that differs is rolled back and
//! the destination is left as it was. Both stores order keys byte by byte
//! (SQLite's BINARY collation, PostgreSQL's `COLLATE "C"`), so the same
//! rows come in the same order on both.

use std::path::Path;

use futures_util::TryStreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{QueryBuilder, Row};

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::{StoreOptions, is_shared};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Int,
    Text,
}

use Type::{Int, Text};

/// A table: its columns with their types, the columns it is read in order
/// of, and its column numbered by the database, if any.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Type)],
    order: &'static str,
    identity: Option<&'static str>,
}

/// Every table of the engine, parents before children.
const TABLES: &[Table] = &[
    Table {
        name: "programs",
        columns: &[
            ("key", Text),
            ("revision", Int),
            ("created_at", Text),
            ("minor_units", Int),
            ("swept_through", Text),
            ("backfill_pending", Int),
        ],
        order: "key",
        identity: None,
    },
    Table {
        name: "resources",
        columns: &[
            ("program", Text),
            ("kind", Text),
            ("key", Text),
            ("spec", Text),
        ],
        order: "program, kind, key",
        identity: None,
    },
    Table {
        name: "changesets",
        columns: &[
            ("program", Text),
            ("revision", Int),
            ("base_revision", Int),
            ("author", Text),
            ("message", Text),
            ("git_commit", Text),
            ("applied_at", Text),
            ("creates", Int),
            ("updates", Int),
            ("deletes", Int),
            ("changes", Text),
            ("token", Text),
        ],
        order: "program, revision",
        identity: None,
    },
    Table {
        name: "tokens",
        columns: &[
            ("id", Text),
            ("hash", Text),
            ("scopes", Text),
            ("created_at", Text),
            ("program", Text),
            ("expires_at", Text),
            ("revoked_at", Text),
            ("last_used_at", Text),
        ],
        order: "id",
        identity: None,
    },
    Table {
        name: "events",
        columns: &[
            ("program", Text),
            ("id", Text),
            ("type", Text),
            ("at", Text),
            ("received_at", Text),
            ("body", Text),
            ("subject", Text),
        ],
        order: "program, id",
        identity: None,
    },
    Table {
        name: "partners",
        columns: &[
            ("program", Text),
            ("key", Text),
            ("name", Text),
            ("email", Text),
            ("grp", Text),
            ("joined_at", Text),
            ("last_activity_at", Text),
            ("last_referral_at", Text),
            ("signups", Int),
            ("customers", Int),
            ("revenue", Int),
            ("first_signup_at", Text),
            ("first_sale_at", Text),
            ("first_commission_at", Text),
            ("tags", Text),
            ("fires", Text),
            ("sales", Int),
            ("mark", Text),
            ("last_fire_at", Text),
            ("next_due_at", Text),
        ],
        order: "program, key",
        identity: None,
    },
    Table {
        name: "partner_tags",
        columns: &[
            ("program", Text),
            ("partner", Text),
            ("tag", Text),
            ("added_at", Text),
        ],
        order: "program, partner, tag",
        identity: None,
    },
    Table {
        name: "tag_changes",
        columns: &[
            ("seq", Int),
            ("program", Text),
            ("subject_kind", Text),
            ("subject", Text),
            ("tag", Text),
            ("change", Text),
            ("cause_kind", Text),
            ("cause", Text),
            ("event_id", Text),
            ("at", Text),
        ],
        order: "seq",
        identity: Some("seq"),
    },
    Table {
        name: "customers",
        columns: &[
            ("program", Text),
            ("key", Text),
            ("partner", Text),
            ("signed_up_at", Text),
            ("first_purchase_at", Text),
            ("bought_through", Text),
            ("referral", Text),
        ],
        order: "program, key",
        identity: None,
    },
    Table {
        name: "customer_tags",
        columns: &[
            ("program", Text),
            ("customer", Text),
            ("tag", Text),
            ("added_at", Text),
        ],
        order: "program, customer, tag",
        identity: None,
    },
    Table {
        name: "customer_products",
        columns: &[
            ("program", Text),
            ("subscription", Text),
            ("product", Text),
            ("customer", Text),
            ("status", Text),
            ("partner", Text),
            ("created_at", Text),
            ("updated_at", Text),
            ("statuses", Text),
        ],
        order: "program, subscription, product",
        identity: None,
    },
    Table {
        name: "transactions",
        columns: &[
            ("program", Text),
            ("key", Text),
            ("customer", Text),
            ("amount", Int),
            ("subscription", Text),
            ("kind", Text),
            ("at", Text),
            ("partner", Text),
            ("product", Text),
            ("revision", Int),
            ("seen_status", Text),
            ("seen_created_at", Text),
            ("seen_group", Text),
            ("seen_tags", Text),
            ("seen_customer_since", Text),
            ("event_id", Text),
            ("refunded", Int),
            ("commission", Int),
        ],
        order: "program, key",
        identity: None,
    },
    Table {
        name: "refunds",
        columns: &[
            ("program", Text),
            ("key", Text),
            ("transaction_key", Text),
            ("amount", Int),
            ("at", Text),
            ("event_id", Text),
            ("applied", Int),
        ],
        order: "program, key",
        identity: None,
    },
    Table {
        name: "ledger",
        columns: &[
            ("id", Int),
            ("program", Text),
            ("partner", Text),
            ("transaction_key", Text),
            ("trigger", Text),
            ("revision", Int),
            ("product", Text),
            ("kind", Text),
            ("amount", Int),
            ("due_at", Text),
            ("installment", Int),
            ("installments", Int),
            ("clawback", Int),
            ("payout", Int),
            ("cause", Text),
            ("created_at", Text),
        ],
        order: "id",
        identity: Some("id"),
    },
    Table {
        name: "payouts",
        columns: &[
            ("program", Text),
            ("id", Int),
            ("created_at", Text),
            ("as_of", Text),
            ("partners", Int),
            ("lines", Int),
            ("total", Int),
        ],
        order: "program, id",
        identity: None,
    },
    Table {
        name: "renames",
        columns: &[
            ("program", Text),
            ("kind", Text),
            ("old_key", Text),
            ("new_key", Text),
            ("revision", Int),
        ],
        order: "program, revision, kind, old_key, new_key",
        identity: None,
    },
    Table {
        name: "erasures",
        columns: &[
            ("program", Text),
            ("partner", Text),
            ("erased_at", Text),
            ("events", Int),
        ],
        order: "program, partner, erased_at",
        identity: None,
    },
    Table {
        name: "webhook_secrets",
        columns: &[
            ("program", Text),
            ("endpoint", Text),
            ("secret", Text),
            ("previous", Text),
            ("previous_until", Text),
            ("created_at", Text),
        ],
        order: "program, endpoint",
        identity: None,
    },
    Table {
        name: "webhook_messages",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("program", Text),
            ("endpoint", Text),
            ("type", Text),
            ("body", Text),
            ("created_at", Text),
            ("status", Text),
            ("attempts", Int),
            ("next_attempt_at", Text),
            ("last_attempt_at", Text),
            ("last_status", Int),
            ("last_error", Text),
        ],
        order: "seq",
        identity: Some("seq"),
    },
    Table {
        name: "webhook_leases",
        columns: &[
            ("program", Text),
            ("endpoint", Text),
            ("owner", Text),
            ("leased_until", Text),
        ],
        order: "program, endpoint",
        identity: None,
    },
    Table {
        name: "stripe_secrets",
        columns: &[("program", Text), ("secret", Text), ("set_at", Text)],
        order: "program",
        identity: None,
    },
    Table {
        name: "stripe_events",
        columns: &[
            ("program", Text),
            ("id", Text),
            ("type", Text),
            ("created", Text),
            ("received_at", Text),
            ("events", Text),
            ("notes", Text),
        ],
        order: "program, id",
        identity: None,
    },
    Table {
        name: "stripe_invoices",
        columns: &[
            ("program", Text),
            ("id", Text),
            ("customer", Text),
            ("currency", Text),
            ("lines", Text),
        ],
        order: "program, id",
        identity: None,
    },
    Table {
        name: "stripe_payments",
        columns: &[("program", Text), ("payment", Text), ("invoice", Text)],
        order: "program, payment",
        identity: None,
    },
    Table {
        name: "stripe_charges",
        columns: &[
            ("program", Text),
            ("id", Text),
            ("payment_intent", Text),
            ("invoice", Text),
            ("amount", Int),
            ("currency", Text),
            ("refunded", Int),
            ("passed_on", Int),
            ("refunded_at", Text),
        ],
        order: "program, id",
        identity: None,
    },
];

/// One value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl Value {
    fn hash_into(&self, h: &mut Sha256) {
        // Tagged, length-prefixed: no two rows hash alike by accident of
        // where one value ends.
        match self {
            Value::Int(None) | Value::Text(None) => h.update([0]),
            Value::Int(Some(v)) => {
                h.update([1]);
                h.update(v.to_le_bytes());
            }
            Value::Text(Some(s)) => {
                h.update([2]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
        }
    }
}

/// What a table holds: rows and a checksum over them in key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableSum {
    pub table: String,
    pub rows: u64,
    pub sha256: String,
}

/// What `db copy` did: each table's rows and checksum, equal on both sides.
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    pub tables: Vec<TableSum>,
}

impl CopyReport {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// Bound parameters per multi-row insert (SQLite allows 32,766).
const PARAMS: usize = 30_000;

fn select(table: &Table) -> String {
    let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        table.name,
        table.order
    )
}

/// One of the two stores, opened for copying.
enum Side {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// A destination's open transaction.
enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

async fn open(db: &Path, options: &StoreOptions, create: bool) -> Result<Side> {
    if let Some(url) = db.to_str().filter(|_| is_shared(db)) {
        return Ok(Side::Postgres(PgStore::open(url, options).await?));
    }
    if create {
        return Ok(Side::Sqlite(SqliteStore::open(db).await?));
    }
    match SqliteStore::open_read_only(db).await? {
        Some(s) => Ok(Side::Sqlite(s)),
        None => Err(Error::NotFound(format!(
            "{} holds no engine to copy",
            db.display()
        ))),
    }
}

fn decode<R: Row>(row: &R, table: &Table) -> Result<Vec<Value>>
where
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| {
            Ok(match ty {
                Int => Value::Int(row.try_get(i)?),
                Text => Value::Text(row.try_get(i)?),
            })
        })
        .collect()
}

/// Copies `table` in key order, a page of rows at a time, into the open
/// transaction; the count and checksum of what was read.
async fn copy_table(side: &Side, table: &Table, tx: &mut Tx) -> Result<TableSum> {
    let sql = select(table);
    let mut hash = Sha256::new();
    let mut rows = 0u64;
    let per_insert = PARAMS / table.columns.len();
    let mut page = Vec::with_capacity(per_insert);
    macro_rules! stream {
        ($pool:expr) => {{
            let mut stream = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch($pool);
            while let Some(row) = stream.try_next().await? {
                let values = decode(&row, table)?;
                for v in &values {
                    v.hash_into(&mut hash);
                }
                rows += 1;
                page.push(values);
                if page.len() == per_insert {
                    insert(tx, table, std::mem::take(&mut page)).await?;
                }
            }
        }};
    }
    match side {
        Side::Sqlite(s) => stream!(s.pool()),
        Side::Postgres(s) => stream!(s.pool()),
    }
    if !page.is_empty() {
        insert(tx, table, page).await?;
    }
    Ok(TableSum {
        table: table.name.to_owned(),
        rows,
        sha256: hex::encode(hash.finalize()),
    })
}

/// The count and checksum of `table` as the open transaction sees it.
async fn sum_in(tx: &mut Tx, table: &Table) -> Result<TableSum> {
    let sql = select(table);
    let mut hash = Sha256::new();
    let mut rows = 0u64;
    macro_rules! stream {
        ($conn:expr) => {{
            let mut stream = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch($conn);
            while let Some(row) = stream.try_next().await? {
                for v in decode(&row, table)? {
                    v.hash_into(&mut hash);
                }
                rows += 1;
            }
        }};
    }
    match tx {
        Tx::Sqlite(t) => stream!(&mut **t),
        Tx::Postgres(t) => stream!(&mut **t),
    }
    Ok(TableSum {
        table: table.name.to_owned(),
        rows,
        sha256: hex::encode(hash.finalize()),
    })
}

async fn insert(tx: &mut Tx, table: &Table, rows: Vec<Vec<Value>>) -> Result<()> {
    let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    let head = format!("INSERT INTO {} ({}) ", table.name, columns.join(", "));
    macro_rules! run {
        ($db:ty, $conn:expr) => {{
            let mut q = QueryBuilder::<$db>::new(head);
            q.push_values(rows, |mut b, row| {
                for v in row {
                    match v {
                        Value::Int(i) => b.push_bind(i),
                        Value::Text(s) => b.push_bind(s),
                    };
                }
            });
            q.build().execute($conn).await?;
        }};
    }
    match tx {
        Tx::Sqlite(t) => run!(sqlx::Sqlite, &mut **t),
        Tx::Postgres(t) => run!(sqlx::Postgres, &mut **t),
    }
    Ok(())
}

/// How many rows the destination holds in the tables an engine fills.
async fn held(side: &Side) -> Result<i64> {
    let sql = "SELECT (SELECT COUNT(*) FROM programs) + (SELECT COUNT(*) FROM events) \
               + (SELECT COUNT(*) FROM tokens)";
    Ok(match side {
        Side::Sqlite(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await?,
        Side::Postgres(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await?,
    })
}

/// Copies the whole engine at `from` into `to`, which must hold none yet
/// (it is created and migrated as needed), and verifies it; `progress` is
/// told each table as it is done.
pub async fn copy(
    from: &Path,
    to: &Path,
    options: &StoreOptions,
    mut progress: impl FnMut(&TableSum),
) -> Result<CopyReport> {
    if from == to {
        return Err(Error::BadRequest(
            "--from and --to are the same store".to_owned(),
        ));
    }
    let source = open(from, options, false).await?;
    let dest = open(to, options, true).await?;
    if held(&dest).await? > 0 {
        return Err(Error::BadRequest(format!(
            "{} already holds an engine; copy into an empty one",
            super::describe(to)
        )));
    }
    // The source is read in one snapshot where the store gives one: a
    // SQLite read sees one moment per statement, so the copy is of a
    // stopped engine (the README says to stop writers first).
    let mut tx = match &dest {
        Side::Sqlite(s) => Tx::Sqlite(s.pool().begin_with("BEGIN IMMEDIATE").await?),
        Side::Postgres(s) => Tx::Postgres(s.pool().begin().await?),
    };
    let mut tables = Vec::new();
    for table in TABLES {
        let source_sum = copy_table(&source, table, &mut tx).await?;
        if let (Some(column), Tx::Postgres(t)) = (table.identity, &mut tx) {
            // The next number the database gives follows the copied ones.
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{0}', '{column}'), \
                 COALESCE((SELECT MAX({column}) FROM {0}), 0) + 1, false)",
                table.name
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut **t)
                .await?;
        }
        let dest_sum = sum_in(&mut tx, table).await?;
        if dest_sum != source_sum {
            return Err(Error::Internal(format!(
                "copy of table {} differs: {} rows ({}) read, {} rows ({}) written; nothing was kept",
                table.name, source_sum.rows, source_sum.sha256, dest_sum.rows, dest_sum.sha256
            )));
        }
        progress(&source_sum);
        tables.push(source_sum);
    }
    match tx {
        Tx::Sqlite(t) => t.commit().await?,
        Tx::Postgres(t) => t.commit().await?,
    }
    Ok(CopyReport { tables })
}
