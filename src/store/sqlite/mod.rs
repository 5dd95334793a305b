//! The embedded store: one SQLite file in WAL mode.
//!
//! Writes run in `BEGIN IMMEDIATE` transactions so two writers queue for the lock
//! instead of failing on a lock upgrade; `synchronous = FULL` makes a committed
//! transaction survive power loss, not only a crash, since accepted data must be
//! durable before the engine answers.

use std::path::Path;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

mod access;
mod dashboard;
mod erasure;
mod ledger;
mod memory;
mod outbox;
mod partners;
mod runtime;
mod stripe;

pub use outbox::{MARK_OUTBOX_WRITTEN_ENV, OUTBOX_WRITTEN_MARKER};

use std::collections::BTreeMap;

use super::record::{
    Customer, CustomerProduct, LedgerLine, Partner, PartnerState, Payout, PayoutPartner, PlanRows,
    PlanWindow, RefundRecord, Subject, TagChange, TransactionRecord,
};
use super::{Commit, LineFilter, PayoutRule, ProductRow, RuntimeTx, Store};
use crate::error::{Error, Result};
use crate::spec::{Kind, Resource};
use crate::store::changeset::{Change, ChangesetRecord, Delta, Summary};
use crate::store::snapshot::{ProgramSummary, Snapshot};
use crate::store::token::TokenRecord;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/sqlite/migrations");

/// The first of this version's migrations the database has not applied.
async fn unapplied_migration(
    pool: &SqlitePool,
) -> Result<Option<&'static sqlx::migrate::Migration>> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = 1")
            .fetch_all(pool)
            .await?;
    Ok(crate::store::first_unapplied(&MIGRATOR, &applied))
}

/// Bound parameters per statement (SQLite allows 32,766): fewer, larger
/// statements cost fewer round trips to SQLite's thread.
const MAX_PARAMS: usize = 30_000;

/// Rows per multi-row statement with `columns` parameters a row.
const fn rows_per_statement(columns: usize) -> usize {
    MAX_PARAMS / columns
}

/// Line numbers a payout's update takes per statement.
const PAYOUT_RANGE: i64 = 100_000;

/// Keys per `IN (...)` list.
const BATCH: usize = rows_per_statement(6);

pub struct SqliteStore {
    pool: SqlitePool,
}

fn options(path: &Path) -> SqliteConnectOptions {
    memory::configure();
    SqliteConnectOptions::new()
        .filename(path)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(true)
        // Checkpoint the WAL every 64 MiB rather than every 4 MiB: a batch of
        // events rewrites the same partner rows, and a page rewritten between
        // checkpoints is copied into the database once.
        .pragma("wal_autocheckpoint", "16384")
        // A 32 MiB page cache per connection rather than 2 MiB: with 2 MiB a
        // batch of events spilled dirty pages to the WAL before it committed
        // (pagerStress in perf) and read its indexes' pages again.
        .pragma("cache_size", "-32768")
}

impl SqliteStore {
    /// Opens (creating it and its directory if needed) and migrates the file.
    ///
    /// A new file is made whole beside the path and renamed into place, so a
    /// process killed while creating it leaves no file, or the empty file
    /// that was there, and never a half-made database that readers cannot
    /// open (see [`create`]).
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Internal(format!("creating {}: {e}", dir.display())))?;
        }
        if is_absent_or_empty(path)? {
            create(path).await?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options(path).journal_mode(SqliteJournalMode::Wal))
            .await
            .map_err(|e| Error::Internal(format!("opening {}: {e}", path.display())))?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    /// Opens an existing file for reading only; `None` when there is no file yet
    /// (an engine nobody has written to is empty, and reading must not create it).
    /// An empty file (`touch engine.db`) is an engine nobody has written to.
    pub async fn open_read_only(path: &Path) -> Result<Option<SqliteStore>> {
        if is_absent_or_empty(path)? {
            return Ok(None);
        }
        // No journal mode here: setting one is a write, and the file is
        // already in WAL mode from its creation.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options(path).read_only(true))
            .await
            .map_err(|e| Error::Internal(format!("opening {}: {e}", path.display())))?;
        // A file an older partnerops wrote lacks what newer reads ask for
        // (migration 0018's column): it is brought up to date once, as the
        // first write would, rather than failing every read until then.
        if !matches!(unapplied_migration(&pool).await, Ok(None)) {
            pool.close().await;
            return Self::open(path).await.map(Some);
        }
        Ok(Some(SqliteStore { pool }))
    }

    /// The pool, for `db copy`.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Decimals the program's amounts are kept in (two for a program the
    /// engine does not know: it holds no amounts).
    async fn exp(&self, program: &str) -> Result<u8> {
        Ok(Store::minor_units(self, program).await?.unwrap_or(2))
    }

    async fn exp_in(&self, tx: &mut Transaction<'static, Sqlite>, program: &str) -> Result<u8> {
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
        tx: &mut Transaction<'static, Sqlite>,
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

fn is_absent_or_empty(path: &Path) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(meta.len() == 0),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(Error::Internal(format!("opening {}: {e}", path.display()))),
    }
}

/// Makes a new engine file at `path` (absent or empty): the database is
/// created, switched to WAL and migrated under a temporary name beside it,
/// closed, and renamed over `path` in one step. Until the rename, readers see
/// no engine (an absent or empty file reads as empty); after it, a whole one.
/// An exclusive lock on `path` keeps two processes from creating it at once:
/// the second waits and then finds the first one's file.
async fn create(path: &Path) -> Result<()> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        Error::Internal(format!("creating {}: {what}: {e}", path.display()))
    };
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| fail("opening", &e))?;
    // Blocking, but only for as long as another process takes to create a
    // database: milliseconds.
    lock.lock().map_err(|e| fail("locking", &e))?;
    // The lock is on the file the other process replaced: look at the path.
    if !is_absent_or_empty(path)? {
        return Ok(());
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".creating");
    let temp = path.with_file_name(name);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut stale = temp.clone().into_os_string();
        stale.push(suffix);
        match std::fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail("removing a leftover", &e)),
        }
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            options(&temp)
                .journal_mode(SqliteJournalMode::Wal)
                .create_if_missing(true),
        )
        .await
        .map_err(|e| fail("opening", &e))?;
    MIGRATOR.run(&pool).await?;
    // Closing the last connection checkpoints the WAL into the file and
    // removes it: the file alone is the whole database.
    pool.close().await;
    pause_while_creating();
    std::fs::rename(&temp, path).map_err(|e| fail("renaming into place", &e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename is durable once the directory is.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Set in a crash test's child process: the store says so on stderr with
/// [`CREATING_MARKER`] once a new database is made under its temporary name,
/// and waits there, so the test can kill it before the file is in place.
#[doc(hidden)]
pub const PAUSE_CREATING_ENV: &str = "PARTNEROPS_TEST_PAUSE_CREATING";
#[doc(hidden)]
pub const CREATING_MARKER: &str = "partnerops-test: database made, not yet in place";

fn pause_while_creating() {
    if std::env::var_os(PAUSE_CREATING_ENV).is_some() {
        eprintln!("{CREATING_MARKER}");
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// Set in a crash test's child process: the store then says on stderr, with
/// [`ROWS_WRITTEN_MARKER`], when a changeset's transaction has written rows and
/// not committed, so a kill that follows is known to land inside it.
#[doc(hidden)]
pub const MARK_ROWS_WRITTEN_ENV: &str = "PARTNEROPS_TEST_MARK_ROWS_WRITTEN";
#[doc(hidden)]
pub const ROWS_WRITTEN_MARKER: &str = "partnerops-test: changeset rows written, not committed";

fn mark_rows_written() {
    if std::env::var_os(MARK_ROWS_WRITTEN_ENV).is_some() {
        eprintln!("{ROWS_WRITTEN_MARKER}");
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

fn record_from_row(row: &SqliteRow, with_changes: bool) -> Result<ChangesetRecord> {
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
    tx: &mut Transaction<'static, Sqlite>,
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
    tx: &mut Transaction<'static, Sqlite>,
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
impl Store for SqliteStore {
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
        let mut tx = self.pool.begin().await?;
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
        let mut tx = self.write_tx().await?;
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
                let mut q = QueryBuilder::<Sqlite>::new("DELETE FROM resources WHERE program = ");
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
                QueryBuilder::<Sqlite>::new("INSERT INTO resources (program, kind, key, spec) ");
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
        let mut tx = self.write_tx().await?;
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
        // One pass over the unpaid lines in line order (see migration
        // 0016): each page of the table is rewritten once however many
        // lines it holds. The partners come as one JSON array, so a
        // statement is one however many partners are paid; each takes a
        // range of line numbers, since SQLite holds the numbers of the rows
        // a statement changes until it ends (memory flat in the lines).
        let keys = serde_json::to_string(
            &payable
                .iter()
                .map(|p| p.partner.as_str())
                .collect::<Vec<_>>(),
        )
        .map_err(|e| Error::Internal(format!("payout partners: {e}")))?;
        let (first, last): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT MIN(id), MAX(id) FROM ledger INDEXED BY ledger_unpaid \
             WHERE program = $1 AND payout IS NULL",
        )
        .bind(program)
        .fetch_one(&mut *tx)
        .await?;
        let mut from = first.unwrap_or(1);
        while from <= last.unwrap_or(0) {
            sqlx::query(
                "UPDATE ledger INDEXED BY ledger_unpaid SET payout = $1 \
                 WHERE program = $2 AND payout IS NULL AND id >= $5 AND id < $6 \
                 AND (clawback = 1 OR due_at <= $3) \
                 AND partner IN (SELECT value FROM json_each($4))",
            )
            .bind(id)
            .bind(program)
            .bind(&cutoff)
            .bind(&keys)
            .bind(from)
            .bind(from.saturating_add(PAYOUT_RANGE))
            .execute(&mut *tx)
            .await?;
            from = from.saturating_add(PAYOUT_RANGE);
        }
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
        Ok(Box::new(runtime::SqliteRuntimeTx {
            tx: self.write_tx().await?,
            program: program.to_owned(),
            exp: None,
        }))
    }

    async fn runtime_reader(&self, program: &str) -> Result<Box<dyn RuntimeTx>> {
        // Deferred: a read transaction, which a read-only file allows and
        // which does not stop writers.
        Ok(Box::new(runtime::SqliteRuntimeTx {
            tx: self.pool.begin().await?,
            program: program.to_owned(),
            exp: None,
        }))
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        let mut tx = self.write_tx().await?;
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
        let mut tx = self.write_tx().await?;
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
        let mut tx = self.write_tx().await?;
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
