//! Durable state behind a trait, so the engine runs on SQLite (embedded, the
//! default) today and PostgreSQL next. Implementations keep SQL portable:
//! `$n` placeholders, `ON CONFLICT`, no engine-specific types, no `rowid`.
//!
//! Key-ordered paging (`key > $n ORDER BY key LIMIT $m`) assumes keys compare
//! byte by byte, as SQLite's default BINARY collation does and as the engine
//! orders keys in memory. PostgreSQL compares text by the database's locale
//! unless told otherwise: its key columns need `COLLATE "C"`, or pages come in
//! another order than SQLite's and than the engine's.

pub mod changeset;
pub mod copy;
pub mod erasure;
pub mod outbox;
pub mod postgres;
pub mod record;
pub mod snapshot;
pub mod sqlite;
pub mod stripe;
pub mod token;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::spec::Resource;
use crate::store::changeset::{Changeset, ChangesetRecord, Delta};
use crate::store::snapshot::{ProgramSummary, Snapshot};
use crate::store::token::TokenRecord;
use record::{
    Customer, CustomerProduct, LedgerLine, LineNet, Mark, NewLine, Partner, PartnerState, Payout,
    PayoutPartner, PlanRows, PlanWindow, RefundRecord, StoredEvent, Subject, TagChange,
    TransactionRecord,
};

/// How to reach a shared store (PostgreSQL); the embedded file ignores them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// Connections per process (`--db-pool-size`, `PARTNEROPS_DB_POOL_SIZE`).
    pub pool_size: Option<u32>,
    /// Longest a statement may run before the database cancels it
    /// (`--db-statement-timeout`, `PARTNEROPS_DB_STATEMENT_TIMEOUT`).
    pub statement_timeout: Option<Duration>,
}

/// `PARTNEROPS_DB_POOL_SIZE`: connections per process to a shared store.
pub const POOL_SIZE_ENV: &str = "PARTNEROPS_DB_POOL_SIZE";
/// `PARTNEROPS_DB_STATEMENT_TIMEOUT`: e.g. `30s`, `500ms`, `2m`.
pub const STATEMENT_TIMEOUT_ENV: &str = "PARTNEROPS_DB_STATEMENT_TIMEOUT";

impl StoreOptions {
    /// The options as the environment gives them (what every command but
    /// `serve`, which also takes them as flags, reads).
    pub fn from_env() -> Result<StoreOptions> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Ok(StoreOptions {
            pool_size: var(POOL_SIZE_ENV)
                .map(|v| parse_pool_size(&v))
                .transpose()
                .map_err(|e| crate::error::Error::BadRequest(format!("{POOL_SIZE_ENV}: {e}")))?,
            statement_timeout: var(STATEMENT_TIMEOUT_ENV)
                .map(|v| parse_timeout(&v))
                .transpose()
                .map_err(|e| {
                    crate::error::Error::BadRequest(format!("{STATEMENT_TIMEOUT_ENV}: {e}"))
                })?,
        })
    }
}

/// A pool size: 1 to 1000 connections.
pub fn parse_pool_size(s: &str) -> std::result::Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not a pool size from 1 to 1000")),
    }
}

/// A statement timeout: `500ms`, `30s`, `2m` (0 turns it off).
pub fn parse_timeout(s: &str) -> std::result::Result<Duration, String> {
    let t = s.trim();
    let (n, unit) = t
        .find(|c: char| !c.is_ascii_digit())
        .map_or((t, "s"), |i| t.split_at(i));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 500ms, 30s or 2m"))?;
    let ms = match unit {
        "ms" => n,
        "s" => n.saturating_mul(1000),
        "m" => n.saturating_mul(60_000),
        _ => return Err(format!("`{s}` is not a duration like 500ms, 30s or 2m")),
    };
    Ok(Duration::from_millis(ms))
}

/// Whether `--db` names a shared store (a `postgres://` URL) rather than a
/// SQLite file.
pub fn is_shared(db: &Path) -> bool {
    db.to_str().is_some_and(postgres::is_url)
}

/// `--db` as it may be shown in logs and messages: a URL's password is
/// left out.
pub fn describe(db: &Path) -> String {
    let text = db.display().to_string();
    if !is_shared(db) {
        return text;
    }
    match url::Url::parse(&text) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "a PostgreSQL URL".to_owned(),
    }
}

/// Opens the store `--db` names, creating and migrating it as needed: a
/// `postgres://` (or `postgresql://`) URL, else a SQLite file.
pub async fn open(db: &Path, options: &StoreOptions) -> Result<Arc<dyn Store>> {
    match db.to_str().filter(|d| postgres::is_url(d)) {
        Some(url) => Ok(Arc::new(postgres::PgStore::open(url, options).await?)),
        None => Ok(Arc::new(sqlite::SqliteStore::open(db).await?)),
    }
}

/// Opens the store `--db` names for reading only; `None` when it holds
/// nothing yet (no file; a database never migrated).
pub async fn open_read_only(db: &Path, options: &StoreOptions) -> Result<Option<Arc<dyn Store>>> {
    match db.to_str().filter(|d| postgres::is_url(d)) {
        Some(url) => Ok(postgres::PgStore::open_read_only(url, options)
            .await?
            .map(|s| Arc::new(s) as Arc<dyn Store>)),
        None => Ok(sqlite::SqliteStore::open_read_only(db)
            .await?
            .map(|s| Arc::new(s) as Arc<dyn Store>)),
    }
}

/// A changeset ready to be written: already checked against `base_revision`.
pub struct Commit<'a> {
    pub program: &'a str,
    pub changeset: &'a Changeset,
    pub delta: &'a Delta,
    /// Decimals the program's amounts are kept in, when the changeset sets
    /// the program's currency.
    pub minor_units: Option<u8>,
    /// Whether automations that are daily checks changed: every partner's
    /// next due date is then worked out again by the next sweep.
    pub daily_checks_changed: bool,
    /// Whether the changeset brings backfills to run: until they have, the
    /// sweep runs them.
    pub backfill: bool,
    /// The id of the token that sent the changeset over HTTP.
    pub token: Option<&'a str>,
}

/// Which ledger lines to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineFilter {
    pub partner: Option<String>,
    pub transaction: Option<String>,
    /// Due at or after.
    pub since: Option<DateTime<Utc>>,
    /// Due before.
    pub until: Option<DateTime<Utc>>,
    /// Lines of this payout.
    pub payout: Option<u64>,
    /// Only lines no payout holds.
    pub unpaid: bool,
    /// Lines after this id, in id order (a page).
    pub after: Option<u64>,
    pub limit: Option<usize>,
}

/// What a payout takes: lines no payout holds, approved at `as_of` with a
/// hold of `hold_days`, of partners whose approved net is at least
/// `minimum` and above zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayoutRule {
    pub as_of: DateTime<Utc>,
    pub hold_days: u32,
    /// In minor units.
    pub minimum: i64,
}

/// Makes the webhook messages of a payout from what it paid each partner.
pub type PayoutMessages<'a> =
    &'a (dyn Fn(&Payout, &[PayoutPartner]) -> Vec<outbox::OutboxMessage> + Send + Sync);

/// Per product (and per partner, when split): customers, sales, revenue and
/// net commissions, in minor units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductRow {
    pub product: Option<String>,
    pub partner: Option<String>,
    pub customers: u64,
    pub sales: u64,
    pub revenue: i128,
    pub commissions: i128,
}

/// What the dashboard's partner list sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PartnerSort {
    #[default]
    Key,
    Joined,
    Signups,
    Customers,
    Sales,
    Revenue,
    LastActivity,
}

impl PartnerSort {
    /// Every sort, with the name the dashboard's query string uses.
    pub const ALL: [(PartnerSort, &'static str); 7] = [
        (PartnerSort::Key, "key"),
        (PartnerSort::Joined, "joined"),
        (PartnerSort::Signups, "signups"),
        (PartnerSort::Customers, "customers"),
        (PartnerSort::Sales, "sales"),
        (PartnerSort::Revenue, "revenue"),
        (PartnerSort::LastActivity, "last_activity"),
    ];

    pub fn name(self) -> &'static str {
        PartnerSort::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("key", |(_, n)| n)
    }

    pub fn parse(name: &str) -> Option<PartnerSort> {
        PartnerSort::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(s, _)| *s)
    }
}

/// A page of partners, filtered and sorted (the dashboard's partner list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerQuery {
    /// Only partners holding this tag.
    pub tag: Option<String>,
    /// Only partners in this group.
    pub group: Option<String>,
    /// Ties are broken by key, so pages never overlap.
    pub sort: PartnerSort,
    pub descending: bool,
    pub offset: usize,
    pub limit: usize,
}

/// One calendar month (UTC) of a program, in minor units: partners who
/// joined, referral signups, revenue through partners (attributed
/// transactions less their refunds, by the transaction's month) and net
/// commissions (ledger lines by their due month, as `commissions --since
/// --until` filters them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthTotals {
    /// `YYYY-MM`.
    pub month: String,
    pub partners: u64,
    pub customers: u64,
    pub revenue: i128,
    pub commissions: i128,
}

/// One of a month's figures, as one of the monthly sums gives it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MonthFigure {
    Partners,
    Customers,
    Revenue,
    Commissions,
}

/// The monthly sums, one query per figure, as both stores run them. Times
/// are stored as RFC 3339 in UTC, so their first 7 characters are the
/// month; sums are cast to BIGINT for PostgreSQL (SQLite's are already).
pub(crate) const MONTHLY: [(MonthFigure, &str); 4] = [
    (
        MonthFigure::Partners,
        "SELECT substr(joined_at, 1, 7) AS m, COUNT(*) AS v FROM partners WHERE program = $1 GROUP BY m",
    ),
    (
        MonthFigure::Customers,
        "SELECT substr(signed_up_at, 1, 7) AS m, COUNT(*) AS v FROM customers \
         WHERE program = $1 AND partner IS NOT NULL AND signed_up_at IS NOT NULL GROUP BY m",
    ),
    (
        MonthFigure::Revenue,
        "SELECT substr(at, 1, 7) AS m, CAST(SUM(amount - refunded) AS BIGINT) AS v FROM transactions \
         WHERE program = $1 AND partner IS NOT NULL GROUP BY m",
    ),
    (
        MonthFigure::Commissions,
        "SELECT substr(due_at, 1, 7) AS m, CAST(SUM(amount) AS BIGINT) AS v FROM ledger WHERE program = $1 GROUP BY m",
    ),
];

/// Adds to a transaction's kept net commission ($1) in place: for lines
/// written without their transaction's row (a refund's reversals, a
/// replay's adjustments).
pub(crate) const ADD_COMMISSION: &str =
    "UPDATE transactions SET commission = commission + $1 WHERE program = $2 AND key = $3";

/// The first of `migrator`'s up migrations not among the `applied`
/// versions: what `ready()` reports and what a read-only open applies.
pub(crate) fn first_unapplied(
    migrator: &'static sqlx::migrate::Migrator,
    applied: &[i64],
) -> Option<&'static sqlx::migrate::Migration> {
    migrator
        .iter()
        .find(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
}

impl MonthTotals {
    /// The months of the monthly sums, oldest first: each sum gives one
    /// figure for the months it has (`YYYY-MM`, value).
    pub(crate) fn from_sums(
        sums: impl IntoIterator<Item = (MonthFigure, Vec<(String, i64)>)>,
    ) -> Vec<MonthTotals> {
        let mut months: std::collections::BTreeMap<String, MonthTotals> = Default::default();
        for (figure, rows) in sums {
            for (month, v) in rows {
                let t = months.entry(month.clone()).or_insert_with(|| MonthTotals {
                    month,
                    ..MonthTotals::default()
                });
                match figure {
                    MonthFigure::Partners => t.partners = u64::try_from(v).unwrap_or(0),
                    MonthFigure::Customers => t.customers = u64::try_from(v).unwrap_or(0),
                    MonthFigure::Revenue => t.revenue = i128::from(v),
                    MonthFigure::Commissions => t.commissions = i128::from(v),
                }
            }
        }
        months.into_values().collect()
    }
}

/// Webhooks out (the outbox, secrets, leases) are a part of every store:
/// see [`outbox::OutboxStore`].
#[async_trait]
pub trait Store: outbox::OutboxStore + Send + Sync + 'static {
    async fn programs(&self) -> Result<Vec<ProgramSummary>>;

    /// The program's whole config at its current revision, read consistently.
    /// A program the engine does not know is empty at revision 0.
    async fn snapshot(&self, program: &str) -> Result<Snapshot>;

    /// Decimals the program's amounts are kept in (its currency's minor
    /// unit); `None` for a program the engine does not know.
    async fn minor_units(&self, program: &str) -> Result<Option<u8>>;

    /// Writes a changeset in one transaction, or nothing: `Error::Stale` when the
    /// program's revision is no longer the changeset's base revision.
    async fn commit(&self, commit: Commit<'_>) -> Result<ChangesetRecord>;

    /// Applied changesets, newest first, without their changes.
    async fn changesets(&self, program: &str) -> Result<Vec<ChangesetRecord>>;

    /// One applied changeset with its changes.
    async fn changeset(&self, program: &str, revision: u64) -> Result<Option<ChangesetRecord>>;

    /// How many partners hold each of `tags`.
    async fn tag_holders(&self, program: &str, tags: &[String]) -> Result<BTreeMap<String, u64>>;

    /// How many customers hold each of `tags` (from `tag_customer`).
    async fn customer_tag_holders(
        &self,
        program: &str,
        tags: &[String],
    ) -> Result<BTreeMap<String, u64>>;

    /// How many customers hold each of `products`.
    async fn product_holders(
        &self,
        program: &str,
        products: &[String],
    ) -> Result<BTreeMap<String, u64>>;

    /// Up to `limit` partners with keys after `after`, in key order, with tags.
    async fn partners_page(
        &self,
        program: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PartnerState>>;

    /// Partners holding `tag` (or all), after `after`, in key order, with tags.
    async fn partners_with_tag(
        &self,
        program: &str,
        tag: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Partner>>;

    async fn partner(&self, program: &str, key: &str) -> Result<Option<Partner>>;

    /// A partner's or customer's tag changes, oldest first.
    async fn tag_history(
        &self,
        program: &str,
        subject: Subject,
        key: &str,
    ) -> Result<Vec<TagChange>>;

    async fn transaction(&self, program: &str, key: &str) -> Result<Option<TransactionRecord>>;

    /// Transactions waiting for a partner (`unattributed`) or a product
    /// (`unmatched`), in time order, after `after` (a key).
    async fn waiting_transactions(
        &self,
        program: &str,
        unattributed: bool,
        unmatched: bool,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TransactionRecord>>;

    /// Refunds of a transaction.
    async fn refunds(&self, program: &str, transaction: &str) -> Result<Vec<RefundRecord>>;

    /// Ledger lines in id order. Statuses are left for the engine to set.
    async fn lines(&self, program: &str, filter: &LineFilter) -> Result<Vec<LedgerLine>>;

    async fn customer(&self, program: &str, key: &str) -> Result<Option<Customer>>;

    /// A partner's customers: referred by them, or holding a product they sold.
    async fn customers_of(&self, program: &str, partner: &str) -> Result<Vec<String>>;

    /// A customer product by external subscription key (any of its records).
    async fn customer_product(
        &self,
        program: &str,
        subscription: &str,
    ) -> Result<Option<CustomerProduct>>;

    /// The products a customer holds: every record of every key.
    async fn products_of(&self, program: &str, customer: &str) -> Result<Vec<CustomerProduct>>;

    /// The amount of a customer's latest sale (a positive transaction) on a
    /// subscription.
    async fn last_amount(
        &self,
        program: &str,
        customer: &str,
        subscription: &str,
    ) -> Result<Option<crate::spec::Money>>;

    /// Per partner, the approved lines no payout holds and their net, split
    /// into those the rule pays and those it carries over (below the
    /// minimum, or not above zero); every row, or the rows of `window`.
    async fn payout_plan(
        &self,
        program: &str,
        rule: PayoutRule,
        window: Option<PlanWindow>,
    ) -> Result<PlanRows>;

    /// Records a payout of what the rule takes, in one transaction: each
    /// line is in at most one payout, even when two run at once; `messages`
    /// makes the webhook messages telling of it, written in the same
    /// transaction. `None` when there is nothing to pay.
    async fn create_payout(
        &self,
        program: &str,
        rule: PayoutRule,
        messages: PayoutMessages<'_>,
    ) -> Result<Option<Payout>>;

    async fn payouts(&self, program: &str) -> Result<Vec<Payout>>;

    async fn payout(&self, program: &str, id: u64) -> Result<Option<(Payout, Vec<PayoutPartner>)>>;

    /// Customers, sales, revenue and net commissions per product (and per
    /// partner with `by_partner`), for transactions in [since, until).
    async fn product_report(
        &self,
        program: &str,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        by_partner: bool,
    ) -> Result<Vec<ProductRow>>;

    /// A write transaction on a program's runtime data, held until commit;
    /// dropped without commit, it rolls back.
    async fn runtime(&self, program: &str) -> Result<Box<dyn RuntimeTx>>;

    /// A read transaction on a program's runtime data, for reading histories
    /// without the write lock (`plan`'s what-if replay). It is never
    /// committed: dropped, it rolls back, so nothing read through it can be
    /// written.
    async fn runtime_reader(&self, program: &str) -> Result<Box<dyn RuntimeTx>>;

    async fn insert_token(&self, token: &TokenRecord) -> Result<()>;

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>>;

    /// `Ok` when the store answers a query and its schema is migrated (what
    /// `/readyz` reports), else why not. A backend that can check its
    /// migrations should; this default only asks a query of the schema.
    async fn ready(&self) -> Result<()> {
        self.programs().await.map(|_| ())
    }
    /// The Stripe source's records.
    fn stripe(&self) -> &dyn stripe::StripeStore;

    /// Applied changesets older than revision `before` (all when `None`),
    /// newest first, without their changes; at most `limit`.
    async fn changesets_page(
        &self,
        program: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ChangesetRecord>>;

    /// A partner's or customer's tag changes in [`Store::tag_history`]'s
    /// order, after position `after` (from the start when `None`), at most
    /// `limit`, each with its position (text only this store reads).
    async fn tag_history_page(
        &self,
        program: &str,
        subject: Subject,
        key: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, TagChange)>>;

    /// Tokens with ids after `after`, in id order, at most `limit`; only
    /// those bound to `program` when it is given.
    async fn tokens_page(
        &self,
        program: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TokenRecord>>;

    async fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>>;

    /// Marks the token revoked at `at`; false when no token has this id or
    /// it was revoked already.
    async fn revoke_token(&self, id: &str, at: chrono::DateTime<chrono::Utc>) -> Result<bool>;

    /// Removes a partner's name and email from their row and from every
    /// stored event body, and records the erasure; one transaction.
    async fn erase_partner(
        &self,
        program: &str,
        partner: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::store::erasure::Erasure>;

    /// A partner's erasures, latest first.
    async fn erasures(
        &self,
        program: &str,
        partner: &str,
    ) -> Result<Vec<crate::store::erasure::Erasure>>;

    /// Notes that the token was used at `at`.
    async fn touch_token(&self, id: &str, at: chrono::DateTime<chrono::Utc>) -> Result<()>;

    /// The dashboard's partner list: partners matching `query`'s filters,
    /// sorted and paged, with how many match in all.
    async fn partners_sorted(
        &self,
        program: &str,
        query: &PartnerQuery,
    ) -> Result<(u64, Vec<Partner>)>;

    /// Per calendar month (UTC), oldest first: see [`MonthTotals`]. Months
    /// with nothing in them are left out.
    async fn monthly_totals(&self, program: &str) -> Result<Vec<MonthTotals>>;

    /// How many lines `filter` selects (its partner, transaction and due
    /// dates; not its paging) and what they add up to, per status: `paid`
    /// when a payout holds them, else `approved` when a clawback or due at
    /// or before `approved_through` (now less the hold), else `pending`, as
    /// [`record::LedgerLine::status_at`] decides. Amounts in minor units.
    async fn line_totals(
        &self,
        program: &str,
        filter: &LineFilter,
        approved_through: DateTime<Utc>,
    ) -> Result<Vec<(record::LineStatus, u64, i128)>>;

    /// Transactions attributed to a partner, newest first, at most `limit`
    /// (a partner's timeline).
    async fn partner_transactions(
        &self,
        program: &str,
        partner: &str,
        limit: usize,
    ) -> Result<Vec<TransactionRecord>>;
}

/// Everything of one partner's history a replay reads.
#[derive(Debug, Default)]
pub struct History {
    /// The partner as stored, if they were.
    pub row: Option<PartnerState>,
    /// The partner's own events (joined, updated, active): mark and body.
    pub events: Vec<(Mark, String)>,
    /// Customers referred by the partner, with the referral.
    pub signups: Vec<(String, Mark)>,
    /// Transactions attributed to the partner.
    pub transactions: Vec<TransactionRecord>,
    /// Transactions the partner has ledger lines on but that are no longer
    /// theirs.
    pub others: Vec<TransactionRecord>,
    /// Applied refunds of the partner's transactions.
    pub refunds: Vec<RefundRecord>,
    /// What the partner's lines add up to.
    pub nets: Vec<LineNet>,
    /// The partner's customers (referred, or buyers) with their tags.
    pub customers: Vec<Customer>,
    /// Groups renamed since (old key, new key), in the order renamed: old
    /// events name groups by the keys they had then.
    pub group_renames: Vec<(String, String)>,
}

/// What one unit of runtime work writes.
#[derive(Debug, Default)]
pub struct Writes {
    pub events: Vec<StoredEvent>,
    pub partners: Vec<PartnerState>,
    pub customers: Vec<Customer>,
    pub products: Vec<CustomerProduct>,
    pub transactions: Vec<TransactionRecord>,
    pub refunds: Vec<RefundRecord>,
    pub tag_changes: Vec<TagChange>,
    pub lines: Vec<NewLine>,
    /// Webhook messages telling of these changes, written with them.
    pub outbox: Vec<outbox::OutboxMessage>,
}

impl Writes {
    /// The net effect of the tag changes on each (subject, tag): present or not.
    pub fn net_tags(&self) -> BTreeMap<(Subject, &str, &str), (bool, DateTime<Utc>)> {
        let mut net = BTreeMap::new();
        for c in &self.tag_changes {
            net.insert(
                (c.subject_kind, c.subject.as_str(), c.tag.as_str()),
                (c.added, c.at),
            );
        }
        net
    }

    /// What the new lines add to each transaction's net commission, which
    /// the store keeps on the transaction's row (the products report sums
    /// it rather than every line of 100,000 transactions), with the
    /// transactions among them that have no row in `transactions` here: the
    /// store adds to those rows in place.
    pub fn commissions_added(&self) -> (BTreeMap<&str, i64>, Vec<(&str, i64)>) {
        let mut added: BTreeMap<&str, i64> = BTreeMap::new();
        for l in &self.lines {
            *added.entry(l.transaction.as_str()).or_default() += l.amount.minor();
        }
        let written: HashSet<&str> = self.transactions.iter().map(|t| t.key.as_str()).collect();
        let elsewhere = added
            .iter()
            .filter(|(k, _)| !written.contains(*k))
            .map(|(k, v)| (*k, *v))
            .collect();
        (added, elsewhere)
    }
}

/// One unit of runtime work (a batch of events, a page of the sweep, a
/// replay) in one transaction: it reads what it needs, then writes.
#[async_trait]
pub trait RuntimeTx: Send {
    /// The program's config revision now.
    async fn revision(&mut self) -> Result<u64>;
    async fn resources(&mut self) -> Result<Vec<Resource>>;
    /// Decimals the program's amounts are kept in.
    async fn minor_units(&mut self) -> Result<Option<u8>>;
    /// The time the daily checks last ran as of.
    async fn swept_through(&mut self) -> Result<Option<DateTime<Utc>>>;
    async fn set_swept_through(&mut self, at: DateTime<Utc>) -> Result<()>;
    /// Whether backfills of an applied changeset have yet to finish.
    async fn backfill_pending(&mut self) -> Result<bool>;
    async fn set_backfill_pending(&mut self, pending: bool) -> Result<()>;
    /// Which of `ids` are already recorded.
    async fn seen_events(&mut self, ids: &[&str]) -> Result<HashSet<String>>;
    /// Partners with their tags and when automations fired for them.
    async fn partners(&mut self, keys: &[&str]) -> Result<Vec<PartnerState>>;
    /// Which of `keys` (partners without a record) have history stored:
    /// events, referred customers or transactions.
    async fn partners_with_history(&mut self, keys: &[&str]) -> Result<HashSet<String>>;
    /// Customers with their tags and the partners they bought through.
    async fn customers(&mut self, keys: &[&str]) -> Result<Vec<Customer>>;
    /// Every product record of the subscription keys.
    async fn subscriptions(&mut self, keys: &[&str]) -> Result<Vec<CustomerProduct>>;
    async fn transactions(&mut self, keys: &[&str]) -> Result<Vec<TransactionRecord>>;
    async fn transactions_of(&mut self, customers: &[&str]) -> Result<Vec<TransactionRecord>>;
    /// Every refund (applied or waiting) of the transactions.
    async fn refunds_of(&mut self, transactions: &[&str]) -> Result<Vec<RefundRecord>>;
    /// Which refund keys are recorded.
    async fn known_refunds(&mut self, keys: &[&str]) -> Result<HashSet<String>>;
    /// What the ledger lines of the transactions add up to, per partner,
    /// trigger and installment.
    async fn nets(&mut self, transactions: &[&str]) -> Result<Vec<LineNet>>;
    /// Everything a replay of the partner reads.
    async fn history(&mut self, partner: &str) -> Result<History>;
    /// Up to `limit` partners whose next daily check is due by `up_to`
    /// (or must be worked out again), soonest first.
    async fn due_partners(
        &mut self,
        up_to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PartnerState>>;
    /// Up to `limit` partners after `after`, in key order.
    async fn partners_after(
        &mut self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PartnerState>>;
    async fn write(&mut self, writes: &Writes) -> Result<()>;
    async fn commit(self: Box<Self>) -> Result<()>;
}
