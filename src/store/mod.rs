//! Durable state behind a trait, so the engine runs on SQLite (embedded, the
//! default) today and PostgreSQL next. Implementations keep SQL portable:
//! `$n` placeholders, `ON CONFLICT`, no engine-specific types, no `rowid`.
//!
//! Key-ordered paging (`key > $n ORDER BY key LIMIT $m`) assumes keys compare
//! byte by byte, as SQLite's default BINARY collation does and as the engine
//! orders keys in memory. PostgreSQL compares text by the database's locale
//! unless told otherwise: its key columns need `COLLATE "C"`, or pages come in
//! another order than SQLite's and than the engine's.

pub mod sqlite;

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;

use crate::engine::access::TokenRecord;
use crate::engine::changeset::{Changeset, ChangesetRecord, Delta};
use crate::engine::partner::Partner;
use crate::engine::runtime::state::{
    CommissionRecord, Customer, CustomerProduct, PartnerState, Subject, TagChange,
    TransactionRecord, Workspace,
};
use crate::engine::{ProgramSummary, Result, Snapshot};
use crate::spec::Resource;

/// A changeset ready to be written: already checked against `base_revision`.
pub struct Commit<'a> {
    pub program: &'a str,
    pub changeset: &'a Changeset,
    pub delta: &'a Delta,
    /// The id of the token that sent the changeset over HTTP.
    pub token: Option<&'a str>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn programs(&self) -> Result<Vec<ProgramSummary>>;

    /// The program's whole config at its current revision, read consistently.
    /// A program the engine does not know is empty at revision 0.
    async fn snapshot(&self, program: &str) -> Result<Snapshot>;

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

    /// Commissions by due date, for one partner and/or one transaction (all when `None`).
    async fn commissions(
        &self,
        program: &str,
        partner: Option<&str>,
        transaction: Option<&str>,
    ) -> Result<Vec<CommissionRecord>>;

    async fn customer(&self, program: &str, key: &str) -> Result<Option<Customer>>;

    /// A partner's customers: referred by them, or holding a product they sold.
    async fn customers_of(&self, program: &str, partner: &str) -> Result<Vec<String>>;

    /// The customer product with this external subscription key.
    async fn customer_product(
        &self,
        program: &str,
        subscription: &str,
    ) -> Result<Option<CustomerProduct>>;

    /// The products a customer holds.
    async fn products_of(&self, program: &str, customer: &str) -> Result<Vec<CustomerProduct>>;

    /// The amount of a customer's latest sale (a positive transaction) on a
    /// subscription.
    async fn last_amount(
        &self,
        program: &str,
        customer: &str,
        subscription: &str,
    ) -> Result<Option<crate::spec::Money>>;

    /// A write transaction on a program's runtime data, held until commit;
    /// dropped without commit, it rolls back.
    async fn runtime(&self, program: &str) -> Result<Box<dyn RuntimeTx>>;

    async fn insert_token(&self, token: &TokenRecord) -> Result<()>;

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>>;

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
    ) -> Result<crate::engine::erasure::Erasure>;

    /// A partner's erasures, latest first.
    async fn erasures(
        &self,
        program: &str,
        partner: &str,
    ) -> Result<Vec<crate::engine::erasure::Erasure>>;

    /// Notes that the token was used at `at`.
    async fn touch_token(&self, id: &str, at: chrono::DateTime<chrono::Utc>) -> Result<()>;
}

/// One unit of runtime work (a batch of events, a page of the sweep) in one
/// transaction: it reads what it needs, then writes a [`Workspace`] back.
#[async_trait]
pub trait RuntimeTx: Send {
    /// The program's config revision now.
    async fn revision(&mut self) -> Result<u64>;
    async fn resources(&mut self) -> Result<Vec<Resource>>;
    /// Which of `ids` are already recorded.
    async fn seen_events(&mut self, ids: &[&str]) -> Result<HashSet<String>>;
    /// Which of `keys` are already recorded transactions.
    async fn known_transactions(&mut self, keys: &[&str]) -> Result<HashSet<String>>;
    async fn subscriptions(&mut self, keys: &[&str]) -> Result<Vec<CustomerProduct>>;
    /// Customers with their tags and the partners they bought through.
    async fn customers(&mut self, keys: &[&str]) -> Result<Vec<Customer>>;
    /// Partners with their tags and when automations fired for them.
    async fn partners(&mut self, keys: &[&str]) -> Result<Vec<PartnerState>>;
    /// Up to `limit` partners after `after`, in key order: what decides whether
    /// a daily check is due (dates, counts, fire times), without names or tags.
    async fn partners_after(
        &mut self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PartnerState>>;
    async fn write(&mut self, ws: &Workspace) -> Result<()>;
    async fn commit(self: Box<Self>) -> Result<()>;
}
