//! The engine: the live state that plan and apply reconcile against, and the
//! operations on it. The embedded client calls it directly; `partnerops serve`
//! puts it behind HTTP.

pub mod access;
pub mod changeset;
mod error;

use std::path::Path;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use error::{Error, Result};

use crate::spec::{Config, Resource};
use crate::store::sqlite::SqliteStore;
use crate::store::{Commit, Store};
use access::{Principal, Scope};
use changeset::{Changeset, ChangesetRecord};

/// A program's whole config at one revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Snapshot {
    pub program: String,
    /// 0 for a program the engine has never seen.
    pub revision: u64,
    /// In dependency order, then by key.
    pub resources: Vec<Resource>,
}

impl Snapshot {
    /// The config, or `None` while the engine holds nothing for the program.
    pub fn config(&self) -> Option<Config> {
        Config::from_resources(self.resources.iter().cloned())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProgramSummary {
    pub key: String,
    pub revision: u64,
}

#[derive(Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>) -> Engine {
        Engine { store }
    }

    /// The engine on a SQLite file, created and migrated as needed.
    pub async fn open(path: &Path) -> Result<Engine> {
        Ok(Engine::new(Arc::new(SqliteStore::open(path).await?)))
    }

    pub async fn programs(&self) -> Result<Vec<ProgramSummary>> {
        self.store.programs().await
    }

    pub async fn snapshot(&self, program: &str) -> Result<Snapshot> {
        self.store.snapshot(program).await
    }

    /// Applies a changeset atomically after checking that it applies to the
    /// current revision and leaves a valid config.
    pub async fn apply(&self, program: &str, changeset: &Changeset) -> Result<ChangesetRecord> {
        if changeset.author.trim().is_empty() {
            return Err(Error::BadRequest("a changeset needs an author".to_owned()));
        }
        let current = self.store.snapshot(program).await?;
        if current.revision != changeset.base_revision {
            return Err(Error::Stale {
                base: changeset.base_revision,
                current: current.revision,
            });
        }
        let delta = changeset::resolve(program, &current.resources, &changeset.changes)?;
        // The store re-checks the revision inside its transaction: another apply
        // may have landed since the snapshot above.
        self.store
            .commit(Commit {
                program,
                changeset,
                delta: &delta,
            })
            .await
    }

    pub async fn history(&self, program: &str) -> Result<Vec<ChangesetRecord>> {
        self.store.changesets(program).await
    }

    pub async fn changeset(&self, program: &str, revision: u64) -> Result<ChangesetRecord> {
        self.store
            .changeset(program, revision)
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!("program `{program}` has no revision {revision}"))
            })
    }

    /// Makes a token; the token itself is returned once and never stored.
    pub async fn create_token(&self, scopes: Vec<Scope>) -> Result<String> {
        if scopes.is_empty() {
            return Err(Error::BadRequest(
                "a token needs at least one scope".to_owned(),
            ));
        }
        let (token, record) = access::new_token(scopes);
        self.store.insert_token(&record).await?;
        Ok(token)
    }

    /// The principal a bearer token stands for.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let record = self
            .store
            .token_by_hash(&access::hash_token(token))
            .await?
            .ok_or_else(|| Error::Unauthorized("the token is not valid".to_owned()))?;
        Ok(Principal {
            token_id: record.id,
            scopes: record.scopes,
        })
    }
}
