//! The shared store: one PostgreSQL database that several `partnerops serve`
//! processes (replicas) use at once.
//!
//! Writers of one program queue for a transaction-scoped advisory lock on
//! the program (taken as a write transaction's first statement, released at
//! commit or rollback), so each write sees every write committed before it,
//! as SQLite's `BEGIN IMMEDIATE` gives the embedded store: an event id takes
//! effect once whichever replica receives it, a changeset on a stale base
//! revision is refused, a payout line is paid once, and a daily check that
//! one replica's sweep fired is no longer due when another's reads it.
//! Programs do not wait for each other. Reads that must see one moment run
//! in a REPEATABLE READ transaction.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{ConnectOptions, Postgres, QueryBuilder, Row, Transaction};

mod access;
mod dashboard;
mod erasure;
mod ledger;
mod outbox;
mod partners;
mod runtime;
mod stripe;

use std::collections::BTreeMap;

use super::record::{
    Customer, CustomerProduct, LedgerLine, Partner, PartnerState, Payout, PayoutPartner, PlanRows,
    PlanWindow, RefundRecord, Subject, TagChange, TransactionRecord,
};
use super::{Commit, LineFilter, PayoutRule, ProductRow, RuntimeTx, Store, StoreOptions};
use crate::error::{Error, Result};
use crate::spec::{Kind, Resource};
use crate::store::changeset::{Change, ChangesetRecord, Delta, Summary};
use crate::store::snapshot::{ProgramSummary, Snapshot};
use crate::store::token::TokenRecord;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/postgres/migrations");

/// The first of this version's migrations the database has not applied.
async fn unapplied_migration(pool: &PgPool) -> Result<Option<&'static sqlx::migrate::Migration>> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await?;
    Ok(crate::store::first_unapplied(&MIGRATOR, &applied))
}

/// Bound parameters per statement (PostgreSQL allows 65,535).
const MAX_PARAMS: usize = 30_000;

/// Rows per multi-row statement with `columns` parameters a row.
const fn rows_per_statement(columns: usize) -> usize {
    MAX_PARAMS / columns
}

/// Keys per `IN (...)` list.
const BATCH: usize = rows_per_statement(6);

/// The first key of the advisory locks this store takes (the second is the
/// program's hash): other users of the database's advisory locks keep clear.
const LOCK_SPACE: i32 = 7420;

/// Connections per process when `--db-pool-size` does not say.
pub const DEFAULT_POOL_SIZE: u32 = 16;

pub struct PgStore {
    pool: PgPool,
}

/// Whether `db` names a PostgreSQL database rather than a SQLite file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

fn connect_options(url: &str, options: &StoreOptions) -> Result<PgConnectOptions> {
    let mut connect: PgConnectOptions = url
        .parse()
        .map_err(|e| Error::Internal(format!("bad PostgreSQL URL: {e}")))?;
    if let Some(timeout) = options.statement_timeout.filter(|t| !t.is_zero()) {
        connect = connect.options([(
            "statement_timeout",
            format!("{}ms", timeout.as_millis().max(1)),
        )]);
    }
    // Statements are logged by the engine's own tracing, not sqlx's.
    Ok(connect.disable_statement_logging())
}

impl PgStore {
    /// Connects to the database and migrates it (several replicas starting
    /// at once migrate it once: sqlx holds an advisory lock while it does).
    pub async fn open(url: &str, options: &StoreOptions) -> Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(options.pool_size.unwrap_or(DEFAULT_POOL_SIZE).max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect_options(url, options)?)
            .await
            .map_err(|e| Error::Internal(format!("connecting to PostgreSQL: {e}")))?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore { pool })
    }

    /// Connects without migrating, for commands that only read: a database
    /// nobody has migrated reads as an engine holding nothing.
    pub async fn open_read_only(url: &str, options: &StoreOptions) -> Result<Option<PgStore>> {
        let pool = PgPoolOptions::new()
            .max_connections(options.pool_size.unwrap_or(4).max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect_options(url, options)?)
            .await
            .map_err(|e| Error::Internal(format!("connecting to PostgreSQL: {e}")))?;
        let migrated: bool = sqlx::query_scalar("SELECT to_regclass('programs') IS NOT NULL")
            .fetch_one(&pool)
            .await?;
        if !migrated {
            return Ok(None);
        }
        // A database an older partnerops made lacks what newer reads ask
        // for (migration 0002's column): it is brought up to date once, as
        // the first write would, rather than failing every read until then.
        if !matches!(unapplied_migration(&pool).await, Ok(None)) {
            MIGRATOR.run(&pool).await?;
        }
        Ok(Some(PgStore { pool }))
    }

    /// The pool, for `db copy` and tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A write transaction holding the program's advisory lock until it ends.
    async fn write_tx(&self, program: &str) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(LOCK_SPACE)
            .bind(program)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// A read transaction that sees one moment throughout.
    async fn read_tx(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?)
    }

    /// Decimals the program's amounts are kept in (two for a program the
    /// engine does not know: it holds no amounts).
    async fn exp(&self, program: &str) -> Result<u8> {
        Ok(Store::minor_units(self, program).await?.unwrap_or(2))
    }

    async fn exp_in(&self, tx: &mut Transaction<'static, Postgres>, program: &str) -> Result<u8> {
        let units: Option<i64> =
            sqlx::query_scalar("SELECT minor_units FROM programs WHERE key = $1")
                .bind(program)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(units.and_then(|u| u8::try_from(u).ok()).unwrap_or(2))
    }

    /// The program's currency code, from its config.
    async fn currency(&self, program: &str) -> Result<String> {
        let spec: Option<String> = sqlx::query_scalar(
            "SELECT spec FROM resources WHERE program = $1 AND kind = 'program'",
        )
        .bind(program)
        .fetch_optional(&self.pool)
        .await?;
        Ok(currency_of(spec))
    }

    async fn currency_in(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        program: &str,
    ) -> Result<String> {
        let spec: Option<String> = sqlx::query_scalar(
            "SELECT spec FROM resources WHERE program = $1 AND kind = 'program'",
        )
        .bind(program)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(currency_of(spec))
    }
}

fn currency_of(spec: Option<String>) -> String {
    spec.and_then(|s| serde_json::from_str::<Resource>(&s).ok())
        .and_then(|r| match r {
            Resource::Program(p) => Some(p.currency),
            _ => None,
        })
        .unwrap_or_default()
}

/// As the SQLite store (same variable, same marker): set in a crash test's
/// child process, the store says on stderr when a changeset's transaction
/// has written rows and not committed.
fn mark_rows_written() {
    if std::env::var_os(super::sqlite::MARK_ROWS_WRITTEN_ENV).is_some() {
        eprintln!("{}", super::sqlite::ROWS_WRITTEN_MARKER);
    }
}

use super::record::timestamp;

fn parse_time_opt(s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_time).transpose()
}

fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Internal(format!("bad timestamp `{s}` in store: {e}")))
}

fn revision(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn record_from_row(row: &PgRow, with_changes: bool) -> Result<ChangesetRecord> {
    let count = |col: &str| -> Result<usize> {
        Ok(usize::try_from(row.try_get::<i64, _>(col)?).unwrap_or(0))
    };
    let changes: Vec<Change> = if with_changes {
        let text: String = row.try_get("changes")?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Internal(format!("bad changes in store: {e}")))?
    } else {
        Vec::new()
    };
    Ok(ChangesetRecord {
        program: row.try_get("program")?,
        revision: revision(row.try_get("revision")?),
        base_revision: revision(row.try_get("base_revision")?),
        author: row.try_get("author")?,
        token: row.try_get("token")?,
        message: row.try_get("message")?,
        git_commit: row.try_get("git_commit")?,
        applied_at: parse_time(&row.try_get::<String, _>("applied_at")?)?,
        summary: Summary {
            create: count("creates")?,
            update: count("updates")?,
            delete: count("deletes")?,
        },
        changes,
        backfill_fired: None,
    })
}

/// What a config change means for runtime data keyed by resource keys.
async fn carry_runtime_data(
    tx: &mut Transaction<'static, Postgres>,
    program: &str,
    revision: u64,
    delta: &Delta,
    now: DateTime<Utc>,
) -> Result<()> {
    for (kind, key) in &delta.deleted {
        if *kind == Kind::Product {
            let held: i64 = sqlx::query_scalar(
                "SELECT COUNT(DISTINCT customer) FROM customer_products WHERE program = $1 AND product = $2",
            )
            .bind(program)
            .bind(key)
            .fetch_one(&mut **tx)
            .await?;
            if held > 0 {
                return Err(Error::ProductHeld {
                    product: key.clone(),
                    customers: u64::try_from(held).unwrap_or(0),
                });
            }
        }
    }
    for (kind, old, new) in &delta.renamed {
        if *kind == Kind::Automation {
            sqlx::query("UPDATE partners SET fires = REPLACE(fires, $2, $3) WHERE program = $1 AND fires LIKE $4")
                .bind(program)
                .bind(format!(" {old}="))
                .bind(format!(" {new}="))
                .bind(format!("% {old}=%"))
                .execute(&mut **tx)
                .await?;
        }
    }
    // The tags column first, while partner_tags still says who holds the tag.
    for (kind, old, new) in &delta.renamed {
        if *kind == Kind::Tag {
            sqlx::query(
                "UPDATE partners SET tags = REPLACE(tags, $2, $3) WHERE program = $1 \
                 AND key IN (SELECT partner FROM partner_tags WHERE program = $1 AND tag = $4)",
            )
            .bind(program)
            .bind(format!(" {old} "))
            .bind(format!(" {new} "))
            .bind(old)
            .execute(&mut **tx)
            .await?;
        }
    }
    for (kind, key) in &delta.deleted {
        if *kind == Kind::Tag {
            sqlx::query(
                "UPDATE partners SET tags = REPLACE(tags, $2, ' ') WHERE program = $1 \
                 AND key IN (SELECT partner FROM partner_tags WHERE program = $1 AND tag = $3)",
            )
            .bind(program)
            .bind(format!(" {key} "))
            .bind(key)
            .execute(&mut **tx)
            .await?;
        }
    }
    for (kind, old, new) in &delta.renamed {
        sqlx::query(
            "INSERT INTO renames (program, kind, old_key, new_key, revision) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(program)
        .bind(kind.as_str())
        .bind(old)
        .bind(new)
        .bind(to_i64(revision))
        .execute(&mut **tx)
        .await?;
        if *kind == Kind::Tag {
            sqlx::query(
                "UPDATE transactions SET seen_tags = REPLACE(seen_tags, $2, $3) WHERE program = $1 AND seen_tags LIKE $4",
            )
            .bind(program)
            .bind(format!(" {old} "))
            .bind(format!(" {new} "))
            .bind(format!("% {old} %"))
            .execute(&mut **tx)
            .await?;
        }
    }
    let renames: [(Kind, &'static str); 7] = [
        (
            Kind::Tag,
            "UPDATE partner_tags SET tag = $3 WHERE program = $1 AND tag = $2",
        ),
        (
            Kind::Tag,
            "UPDATE customer_tags SET tag = $3 WHERE program = $1 AND tag = $2",
        ),
        (
            Kind::Group,
            "UPDATE partners SET grp = $3 WHERE program = $1 AND grp = $2",
        ),
        (
            Kind::Product,
            "UPDATE customer_products SET product = $3 WHERE program = $1 AND product = $2",
        ),
        (
            Kind::Product,
            "UPDATE transactions SET product = $3 WHERE program = $1 AND product = $2",
        ),
        (
            Kind::Group,
            "UPDATE transactions SET seen_group = $3 WHERE program = $1 AND seen_group = $2",
        ),
        (
            Kind::Automation,
            "UPDATE tag_changes SET cause = $3 WHERE program = $1 AND cause_kind = 'automation' AND cause = $2",
        ),
    ];
    for (kind, old, new) in &delta.renamed {
        for (_, sql) in renames.iter().filter(|(k, _)| k == kind) {
            sqlx::query(*sql)
                .bind(program)
                .bind(old)
                .bind(new)
                .execute(&mut **tx)
                .await?;
        }
    }
    for (kind, key) in &delta.deleted {
        match kind {
            Kind::Tag => {
                for (subject_kind, table, column) in [
                    ("partner", "partner_tags", "partner"),
                    ("customer", "customer_tags", "customer"),
                ] {
                    let record = format!(
                        "INSERT INTO tag_changes (program, subject_kind, subject, tag, change, cause_kind, cause, event_id, at) \
                         SELECT program, '{subject_kind}', {column}, tag, 'removed', 'config', $3, NULL, $4 FROM {table} WHERE program = $1 AND tag = $2"
                    );
                    sqlx::query(sqlx::AssertSqlSafe(record))
                        .bind(program)
                        .bind(key)
                        .bind(format!("revision {revision}"))
                        .bind(timestamp(now))
                        .execute(&mut **tx)
                        .await?;
                    let delete = format!("DELETE FROM {table} WHERE program = $1 AND tag = $2");
                    sqlx::query(sqlx::AssertSqlSafe(delete))
                        .bind(program)
                        .bind(key)
                        .execute(&mut **tx)
                        .await?;
                }
            }
            // A re-created automation of the same key starts afresh.
            Kind::Automation => forget_fires(tx, program, revision, key).await?,
            // Events name only declared groups; partners leave a deleted one.
            Kind::Group => {
                sqlx::query("UPDATE partners SET grp = NULL WHERE program = $1 AND grp = $2")
                    .bind(program)
                    .bind(key)
                    .execute(&mut **tx)
                    .await?;
            }
            _ => {}
        }
    }
    for key in &delta.retriggered {
        forget_fires(tx, program, revision, key).await?;
    }
    Ok(())
}

/// Turns an automation's fire records into tombstones the runtime skips, so
/// once-only triggers can fire again. Kept, not erased: they say what happened.
async fn forget_fires(
    tx: &mut Transaction<'static, Postgres>,
    program: &str,
    revision: u64,
    key: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE partners SET fires = REPLACE(fires, $2, $3) WHERE program = $1 AND fires LIKE $4",
    )
    .bind(program)
    .bind(format!(" {key}="))
    .bind(format!(" ~r{revision}~{key}="))
    .bind(format!("% {key}=%"))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    async fn ready(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        match unapplied_migration(&self.pool).await? {
            Some(m) => Err(Error::Internal(format!(
                "store migration {} ({}) is not applied",
                m.version, m.description
            ))),
            None => Ok(()),
        }
    }

    async fn programs(&self) -> Result<Vec<ProgramSummary>> {
        let rows = sqlx::query("SELECT key, revision FROM programs ORDER BY key")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ProgramSummary {
                    key: r.try_get("key")?,
                    revision: revision(r.try_get("revision")?),
                })
            })
            .collect()
    }

    async fn snapshot(&self, program: &str) -> Result<Snapshot> {
        // One read transaction: the revision and the rows are from the same moment.
        let mut tx = self.read_tx().await?;
        let rev: Option<i64> = sqlx::query_scalar("SELECT revision FROM programs WHERE key = $1")
            .bind(program)
            .fetch_optional(&mut *tx)
            .await?;
        let specs: Vec<String> =
            sqlx::query_scalar("SELECT spec FROM resources WHERE program = $1")
                .bind(program)
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        let mut resources = specs
            .iter()
            .map(|s| {
                serde_json::from_str::<Resource>(s)
                    .map_err(|e| Error::Internal(format!("bad resource in store: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        resources.sort_by(|a, b| (a.kind(), a.key()).cmp(&(b.kind(), b.key())));
        Ok(Snapshot {
            program: program.to_owned(),
            revision: rev.map_or(0, revision),
            resources,
        })
    }

    async fn commit(&self, commit: Commit<'_>) -> Result<ChangesetRecord> {
        let Commit {
            program,
            changeset,
            delta,
            minor_units,
            daily_checks_changed,
            backfill,
            token,
        } = commit;
        let now = Utc::now();
        let mut tx = self.write_tx(program).await?;
        // A new program keeps its amounts in its currency's minor unit.
        sqlx::query(
            "INSERT INTO programs (key, revision, created_at, minor_units) VALUES ($1, 0, $2, $3) ON CONFLICT (key) DO NOTHING",
        )
        .bind(program)
        .bind(timestamp(now))
        .bind(i64::from(minor_units.unwrap_or(2)))
        .execute(&mut *tx)
        .await?;
        let moved = sqlx::query(
            "UPDATE programs SET revision = revision + 1 WHERE key = $1 AND revision = $2",
        )
        .bind(program)
        .bind(to_i64(changeset.base_revision))
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            let current: i64 = sqlx::query_scalar("SELECT revision FROM programs WHERE key = $1")
                .bind(program)
                .fetch_one(&mut *tx)
                .await?;
            tx.rollback().await?;
            return Err(Error::Stale {
                base: changeset.base_revision,
                current: revision(current),
            });
        }
        let new_revision = changeset.base_revision + 1;
        if let Some(units) = minor_units {
            let kept: i64 = sqlx::query_scalar("SELECT minor_units FROM programs WHERE key = $1")
                .bind(program)
                .fetch_one(&mut *tx)
                .await?;
            if kept != i64::from(units) {
                // Amounts already recorded are in the old minor unit.
                let money: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM transactions WHERE program = $1 LIMIT 1)",
                )
                .bind(program)
                .fetch_one(&mut *tx)
                .await?;
                if money > 0 {
                    tx.rollback().await?;
                    return Err(Error::Invalid(vec![format!(
                        "program `{program}`: the currency cannot change to one with {units} decimals once transactions are recorded in {kept}"
                    )]));
                }
                sqlx::query("UPDATE programs SET minor_units = $2 WHERE key = $1")
                    .bind(program)
                    .bind(i64::from(units))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if backfill {
            sqlx::query("UPDATE programs SET backfill_pending = 1 WHERE key = $1")
                .bind(program)
                .execute(&mut *tx)
                .await?;
        }
        if daily_checks_changed {
            sqlx::query("UPDATE partners SET next_due_at = '' WHERE program = $1")
                .bind(program)
                .execute(&mut *tx)
                .await?;
        }

        for kind in Kind::ALL {
            let keys: Vec<&str> = delta
                .removed
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, key)| key.as_str())
                .collect();
            for chunk in keys.chunks(BATCH) {
                let mut q = QueryBuilder::<Postgres>::new("DELETE FROM resources WHERE program = ");
                q.push_bind(program)
                    .push(" AND kind = ")
                    .push_bind(kind.as_str());
                q.push(" AND key IN (");
                let mut list = q.separated(", ");
                for key in chunk {
                    list.push_bind(*key);
                }
                q.push(")");
                q.build().execute(&mut *tx).await?;
            }
        }
        for (n, chunk) in delta.written.chunks(rows_per_statement(4)).enumerate() {
            let rows = chunk
                .iter()
                .map(|r| {
                    serde_json::to_string(r)
                        .map(|spec| (r.kind().as_str(), r.key(), spec))
                        .map_err(|e| Error::Internal(e.to_string()))
                })
                .collect::<Result<Vec<_>>>()?;
            let mut q =
                QueryBuilder::<Postgres>::new("INSERT INTO resources (program, kind, key, spec) ");
            q.push_values(rows, |mut row, (kind, key, spec)| {
                row.push_bind(program)
                    .push_bind(kind)
                    .push_bind(key)
                    .push_bind(spec);
            });
            q.build().execute(&mut *tx).await?;
            if n == 0 {
                mark_rows_written();
            }
        }

        carry_runtime_data(&mut tx, program, new_revision, delta, now).await?;
        // Webhooks out (issue 14): endpoint secrets, renames and deletes.
        outbox::carry_config(&mut tx, program, new_revision, delta, now).await?;

        let summary = Summary::of(&changeset.changes);
        let changes = serde_json::to_string(&changeset.changes)
            .map_err(|e| Error::Internal(e.to_string()))?;
        sqlx::query(
            "INSERT INTO changesets (program, revision, base_revision, author, message, git_commit, applied_at, creates, updates, deletes, changes, token) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(program)
        .bind(to_i64(new_revision))
        .bind(to_i64(changeset.base_revision))
        .bind(&changeset.author)
        .bind(&changeset.message)
        .bind(&changeset.git_commit)
        .bind(timestamp(now))
        .bind(i64::try_from(summary.create).unwrap_or(i64::MAX))
        .bind(i64::try_from(summary.update).unwrap_or(i64::MAX))
        .bind(i64::try_from(summary.delete).unwrap_or(i64::MAX))
        .bind(changes)
        .bind(token)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;

        Ok(ChangesetRecord {
            program: program.to_owned(),
            revision: new_revision,
            base_revision: changeset.base_revision,
            author: changeset.author.clone(),
            token: token.map(str::to_owned),
            message: changeset.message.clone(),
            git_commit: changeset.git_commit.clone(),
            applied_at: parse_time(&timestamp(now))?,
            summary,
            changes: Vec::new(),
            backfill_fired: None,
        })
    }

    async fn changesets(&self, program: &str) -> Result<Vec<ChangesetRecord>> {
        let rows = sqlx::query(
            "SELECT program, revision, base_revision, author, token, message, git_commit, applied_at, creates, updates, deletes \
             FROM changesets WHERE program = $1 ORDER BY revision DESC",
        )
        .bind(program)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| record_from_row(r, false)).collect()
    }

    async fn changeset(&self, program: &str, rev: u64) -> Result<Option<ChangesetRecord>> {
        let row = sqlx::query("SELECT * FROM changesets WHERE program = $1 AND revision = $2")
            .bind(program)
            .bind(to_i64(rev))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| record_from_row(&r, true)).transpose()
    }

    async fn tag_holders(&self, program: &str, tags: &[String]) -> Result<BTreeMap<String, u64>> {
        partners::holders(&self.pool, &partners::TAG_HOLDERS, program, tags).await
    }

    async fn customer_tag_holders(
        &self,
        program: &str,
        tags: &[String],
    ) -> Result<BTreeMap<String, u64>> {
        partners::holders(&self.pool, &partners::CUSTOMER_TAG_HOLDERS, program, tags).await
    }

    async fn product_holders(
        &self,
        program: &str,
        products: &[String],
    ) -> Result<BTreeMap<String, u64>> {
        partners::holders(&self.pool, &partners::PRODUCT_HOLDERS, program, products).await
    }

    async fn partners_page(
        &self,
        program: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PartnerState>> {
        let exp = self.exp(program).await?;
        partners::page(&self.pool, program, after, limit, exp).await
    }

    async fn partners_with_tag(
        &self,
        program: &str,
        tag: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Partner>> {
        let exp = self.exp(program).await?;
        partners::with_tag(&self.pool, program, tag, after, limit, exp).await
    }

    async fn partner(&self, program: &str, key: &str) -> Result<Option<Partner>> {
        let exp = self.exp(program).await?;
        partners::one(&self.pool, program, key, exp).await
    }

    async fn tag_history(
        &self,
        program: &str,
        subject: Subject,
        key: &str,
    ) -> Result<Vec<TagChange>> {
        partners::history(&self.pool, program, subject, key).await
    }

    async fn transaction(&self, program: &str, key: &str) -> Result<Option<TransactionRecord>> {
        let exp = self.exp(program).await?;
        ledger::transaction(&self.pool, program, key, exp).await
    }

    async fn waiting_transactions(
        &self,
        program: &str,
        unattributed: bool,
        unmatched: bool,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TransactionRecord>> {
        let exp = self.exp(program).await?;
        ledger::waiting(
            &self.pool,
            program,
            unattributed,
            unmatched,
            after,
            limit,
            exp,
        )
        .await
    }

    async fn refunds(&self, program: &str, transaction: &str) -> Result<Vec<RefundRecord>> {
        let exp = self.exp(program).await?;
        ledger::refunds(&self.pool, program, transaction, exp).await
    }

    async fn lines(&self, program: &str, filter: &LineFilter) -> Result<Vec<LedgerLine>> {
        let exp = self.exp(program).await?;
        ledger::lines(&self.pool, program, filter, exp).await
    }

    async fn customer(&self, program: &str, key: &str) -> Result<Option<Customer>> {
        ledger::customer(&self.pool, program, key).await
    }

    async fn customers_of(&self, program: &str, partner: &str) -> Result<Vec<String>> {
        ledger::customers_of(&self.pool, program, partner).await
    }

    async fn products_of(&self, program: &str, customer: &str) -> Result<Vec<CustomerProduct>> {
        ledger::products_of(&self.pool, program, customer).await
    }

    async fn customer_product(
        &self,
        program: &str,
        subscription: &str,
    ) -> Result<Option<CustomerProduct>> {
        ledger::customer_product(&self.pool, program, subscription).await
    }

    async fn last_amount(
        &self,
        program: &str,
        customer: &str,
        subscription: &str,
    ) -> Result<Option<crate::spec::Money>> {
        let exp = self.exp(program).await?;
        ledger::last_amount(&self.pool, program, customer, subscription, exp).await
    }

    async fn payout_plan(
        &self,
        program: &str,
        rule: PayoutRule,
        window: Option<PlanWindow>,
    ) -> Result<PlanRows> {
        let exp = self.exp(program).await?;
        ledger::plan(&self.pool, program, rule, window, exp).await
    }

    async fn create_payout(
        &self,
        program: &str,
        rule: PayoutRule,
        messages: super::PayoutMessages<'_>,
    ) -> Result<Option<Payout>> {
        // BEGIN IMMEDIATE: a second payout waits for this one to commit and
        // then finds the lines taken.
        let mut tx = self.write_tx(program).await?;
        let exp = self.exp_in(&mut tx, program).await?;
        let currency = self.currency_in(&mut tx, program).await?;
        let payable = ledger::payable(&mut *tx, program, rule, exp).await?;
        if payable.is_empty() {
            tx.rollback().await?;
            return Ok(None);
        }
        let id: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM payouts WHERE program = $1")
                .bind(program)
                .fetch_one(&mut *tx)
                .await?;
        let now = Utc::now();
        let cutoff = ledger::cutoff(rule);
        // One statement however many partners are paid: their keys as one
        // array.
        let keys: Vec<&str> = payable.iter().map(|p| p.partner.as_str()).collect();
        sqlx::query(
            "UPDATE ledger SET payout = $1 \
             WHERE program = $2 AND payout IS NULL AND (clawback = 1 OR due_at <= $3) \
             AND partner = ANY($4)",
        )
        .bind(id)
        .bind(program)
        .bind(&cutoff)
        .bind(&keys)
        .execute(&mut *tx)
        .await?;
        let partners =
            ledger::payout_partners(&mut *tx, program, u64::try_from(id).unwrap_or(0), exp).await?;
        let total: i64 = partners.iter().map(|p| p.amount.minor()).sum();
        let lines: u64 = partners.iter().map(|p| p.lines).sum();
        sqlx::query(
            "INSERT INTO payouts (program, id, created_at, as_of, partners, lines, total) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(program)
        .bind(id)
        .bind(timestamp(now))
        .bind(timestamp(rule.as_of))
        .bind(i64::try_from(partners.len()).unwrap_or(i64::MAX))
        .bind(i64::try_from(lines).unwrap_or(i64::MAX))
        .bind(total)
        .execute(&mut *tx)
        .await?;
        let payout = Payout {
            id: u64::try_from(id).unwrap_or(0),
            program: program.to_owned(),
            created_at: parse_time(&timestamp(now))?,
            as_of: parse_time(&timestamp(rule.as_of))?,
            partners: u64::try_from(partners.len()).unwrap_or(0),
            lines,
            total: crate::spec::Money::new(total, exp),
            currency,
        };
        outbox::write_messages(&mut tx, program, &messages(&payout, &partners)).await?;
        tx.commit().await?;
        Ok(Some(payout))
    }

    async fn payouts(&self, program: &str) -> Result<Vec<Payout>> {
        let exp = self.exp(program).await?;
        let currency = self.currency(program).await?;
        let rows = sqlx::query(
            "SELECT program, id, created_at, as_of, partners, lines, total FROM payouts WHERE program = $1 ORDER BY id",
        )
        .bind(program)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| ledger::payout_from_row(r, exp, &currency))
            .collect()
    }

    async fn payout(&self, program: &str, id: u64) -> Result<Option<(Payout, Vec<PayoutPartner>)>> {
        let exp = self.exp(program).await?;
        let currency = self.currency(program).await?;
        let row = sqlx::query(
            "SELECT program, id, created_at, as_of, partners, lines, total FROM payouts WHERE program = $1 AND id = $2",
        )
        .bind(program)
        .bind(to_i64(id))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let payout = ledger::payout_from_row(&row, exp, &currency)?;
        let partners = ledger::payout_partners(&self.pool, program, id, exp).await?;
        Ok(Some((payout, partners)))
    }

    async fn product_report(
        &self,
        program: &str,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        by_partner: bool,
    ) -> Result<Vec<ProductRow>> {
        ledger::product_report(&self.pool, program, since, until, by_partner).await
    }

    async fn minor_units(&self, program: &str) -> Result<Option<u8>> {
        let units: Option<i64> =
            sqlx::query_scalar("SELECT minor_units FROM programs WHERE key = $1")
                .bind(program)
                .fetch_optional(&self.pool)
                .await?;
        Ok(units.and_then(|u| u8::try_from(u).ok()))
    }

    fn stripe(&self) -> &dyn crate::store::stripe::StripeStore {
        self
    }

    async fn runtime(&self, program: &str) -> Result<Box<dyn RuntimeTx>> {
        Ok(Box::new(runtime::PgRuntimeTx {
            tx: self.write_tx(program).await?,
            program: program.to_owned(),
            exp: None,
        }))
    }

    async fn runtime_reader(&self, program: &str) -> Result<Box<dyn RuntimeTx>> {
        // One moment of the program, read only and without the writers'
        // lock: the what-if replay reads while events keep coming.
        Ok(Box::new(runtime::PgRuntimeTx {
            tx: self.read_tx().await?,
            program: program.to_owned(),
            exp: None,
        }))
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        access::insert(&mut tx, token).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        access::by("hash", &self.pool, hash).await
    }

    async fn changesets_page(
        &self,
        program: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ChangesetRecord>> {
        let rows = sqlx::query(
            "SELECT program, revision, base_revision, author, token, message, git_commit, applied_at, creates, updates, deletes \
             FROM changesets WHERE program = $1 AND revision < $2 ORDER BY revision DESC LIMIT $3",
        )
        .bind(program)
        .bind(before.map_or(i64::MAX, to_i64))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| record_from_row(r, false)).collect()
    }

    async fn tag_history_page(
        &self,
        program: &str,
        subject: Subject,
        key: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, TagChange)>> {
        partners::history_page(&self.pool, program, subject, key, after, limit).await
    }

    async fn tokens_page(
        &self,
        program: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TokenRecord>> {
        access::page(&self.pool, program, after, limit).await
    }

    async fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>> {
        access::by("id", &self.pool, id).await
    }

    async fn revoke_token(&self, id: &str, at: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done =
            sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(timestamp(at))
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn erase_partner(
        &self,
        program: &str,
        partner: &str,
        at: DateTime<Utc>,
    ) -> Result<crate::store::erasure::Erasure> {
        erasure::erase(&self.pool, program, partner, at).await
    }

    async fn erasures(
        &self,
        program: &str,
        partner: &str,
    ) -> Result<Vec<crate::store::erasure::Erasure>> {
        erasure::list(&self.pool, program, partner).await
    }

    async fn touch_token(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(timestamp(at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn partners_sorted(
        &self,
        program: &str,
        query: &crate::store::PartnerQuery,
    ) -> Result<(u64, Vec<Partner>)> {
        let exp = self.exp(program).await?;
        dashboard::sorted(&self.pool, program, query, exp).await
    }

    async fn monthly_totals(&self, program: &str) -> Result<Vec<crate::store::MonthTotals>> {
        dashboard::monthly(&self.pool, program).await
    }

    async fn line_totals(
        &self,
        program: &str,
        filter: &LineFilter,
        approved_through: DateTime<Utc>,
    ) -> Result<Vec<(crate::store::record::LineStatus, u64, i128)>> {
        dashboard::line_totals(&self.pool, program, filter, approved_through).await
    }

    async fn partner_transactions(
        &self,
        program: &str,
        partner: &str,
        limit: usize,
    ) -> Result<Vec<TransactionRecord>> {
        let exp = self.exp(program).await?;
        dashboard::transactions_of_partner(&self.pool, program, partner, limit, exp).await
    }
}
