//! Durable state behind a trait, so the engine runs on SQLite (embedded, the
//! default) today and PostgreSQL next. Implementations keep SQL portable:
//! `$n` placeholders, `ON CONFLICT`, no engine-specific types.

pub mod sqlite;

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;

use crate::engine::access::TokenRecord;
use crate::engine::changeset::{Changeset, ChangesetRecord, Delta};
use crate::engine::partner::Partner;
use crate::engine::{ProgramSummary, Result, Snapshot};

/// A changeset ready to be written: already checked against `base_revision`.
pub struct Commit<'a> {
    pub program: &'a str,
    pub changeset: &'a Changeset,
    pub delta: &'a Delta,
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
    ) -> Result<Vec<Partner>>;

    /// Which of `partners` `automation` has fired for.
    async fn fired(
        &self,
        program: &str,
        automation: &str,
        partners: &[&str],
    ) -> Result<HashSet<String>>;

    async fn insert_token(&self, token: &TokenRecord) -> Result<()>;

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>>;
}
