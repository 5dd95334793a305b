use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use super::{Reader, Writer};
use crate::engine::access::Scope;
use crate::engine::changeset::{Changeset, ChangesetRecord};
use crate::engine::{Engine, Error, Impact, ImpactQuery, ProgramSummary, Result, Snapshot};
use crate::store::sqlite::SqliteStore;

/// The engine in this process, on a SQLite file.
#[derive(Clone)]
pub struct Embedded {
    engine: Engine,
}

impl Embedded {
    pub async fn open(db: &Path) -> Result<Embedded> {
        Ok(Embedded {
            engine: Engine::open(db).await?,
        })
    }

    pub fn new(engine: Engine) -> Embedded {
        Embedded { engine }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// The engine in this process, on a SQLite file opened read-only; before anyone
/// has written to the engine there is no file, and it reads as empty.
pub struct EmbeddedReader {
    engine: Option<Engine>,
}

impl EmbeddedReader {
    pub async fn open(db: &Path) -> Result<EmbeddedReader> {
        let store = SqliteStore::open_read_only(db).await?;
        Ok(EmbeddedReader {
            engine: store.map(|s| Engine::new(Arc::new(s))),
        })
    }
}

#[async_trait]
impl Reader for EmbeddedReader {
    async fn programs(&self) -> Result<Vec<ProgramSummary>> {
        match &self.engine {
            Some(e) => e.programs().await,
            None => Ok(Vec::new()),
        }
    }

    async fn snapshot(&self, program: &str) -> Result<Snapshot> {
        match &self.engine {
            Some(e) => e.snapshot(program).await,
            None => Ok(Snapshot {
                program: program.to_owned(),
                revision: 0,
                resources: Vec::new(),
            }),
        }
    }

    async fn history(&self, program: &str) -> Result<Vec<ChangesetRecord>> {
        match &self.engine {
            Some(e) => e.history(program).await,
            None => Ok(Vec::new()),
        }
    }

    async fn changeset(&self, program: &str, revision: u64) -> Result<ChangesetRecord> {
        match &self.engine {
            Some(e) => e.changeset(program, revision).await,
            None => Err(Error::NotFound(format!(
                "program `{program}` has no revision {revision}"
            ))),
        }
    }

    async fn impact(&self, program: &str, query: &ImpactQuery) -> Result<Impact> {
        match &self.engine {
            Some(e) => e.impact(program, query).await,
            None => Ok(Impact::default()),
        }
    }
}

#[async_trait]
impl Reader for Embedded {
    async fn programs(&self) -> Result<Vec<ProgramSummary>> {
        self.engine.programs().await
    }

    async fn snapshot(&self, program: &str) -> Result<Snapshot> {
        self.engine.snapshot(program).await
    }

    async fn history(&self, program: &str) -> Result<Vec<ChangesetRecord>> {
        self.engine.history(program).await
    }

    async fn changeset(&self, program: &str, revision: u64) -> Result<ChangesetRecord> {
        self.engine.changeset(program, revision).await
    }

    async fn impact(&self, program: &str, query: &ImpactQuery) -> Result<Impact> {
        self.engine.impact(program, query).await
    }
}

#[async_trait]
impl Writer for Embedded {
    async fn apply(&self, program: &str, changeset: &Changeset) -> Result<ChangesetRecord> {
        self.engine.apply(program, changeset).await
    }

    async fn create_token(&self, scopes: &[Scope]) -> Result<String> {
        self.engine.create_token(scopes.to_vec()).await
    }
}
