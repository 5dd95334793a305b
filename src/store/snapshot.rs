//! A program's config as the store reads it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::{Config, Resource};

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

/// A program the engine knows, at its revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProgramSummary {
    pub key: String,
    pub revision: u64,
}
