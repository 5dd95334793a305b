//! Durable state behind a trait, so the engine runs on SQLite (embedded, the
//! default) today and PostgreSQL next. Implementations keep SQL portable:
//! `$n` placeholders, `ON CONFLICT`, no engine-specific types.

pub mod sqlite;

use async_trait::async_trait;

use crate::engine::access::TokenRecord;
use crate::engine::changeset::{Changeset, ChangesetRecord, Delta};
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

    async fn insert_token(&self, token: &TokenRecord) -> Result<()>;

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>>;
}
