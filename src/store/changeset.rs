//! Changesets as the store writes and keeps them.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::{Kind, Resource};

/// One change to one resource, identified by kind and key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    Create {
        resource: Resource,
    },
    /// Replaces the resource stored under `key`; a different `resource.key`
    /// renames it (`previously:` in config).
    Update {
        key: String,
        resource: Resource,
    },
    Delete {
        kind: Kind,
        key: String,
    },
}

impl Change {
    pub fn kind(&self) -> Kind {
        match self {
            Change::Create { resource } | Change::Update { resource, .. } => resource.kind(),
            Change::Delete { kind, .. } => *kind,
        }
    }

    /// The key the engine knows the resource by before the change (the new key
    /// for a create).
    pub fn key(&self) -> &str {
        match self {
            Change::Create { resource } => resource.key(),
            Change::Update { key, .. } | Change::Delete { key, .. } => key,
        }
    }

    pub fn action(&self) -> &'static str {
        match self {
            Change::Create { .. } => "create",
            Change::Update { .. } => "update",
            Change::Delete { .. } => "delete",
        }
    }
}

/// A changeset as a client sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Changeset {
    /// The revision the changes were planned against.
    pub base_revision: u64,
    pub changes: Vec<Change>,
    pub author: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The git commit the config came from, when applied from a checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
}

impl Summary {
    pub fn of(changes: &[Change]) -> Summary {
        let mut s = Summary::default();
        for c in changes {
            match c {
                Change::Create { .. } => s.create += 1,
                Change::Update { .. } => s.update += 1,
                Change::Delete { .. } => s.delete += 1,
            }
        }
        s
    }

    pub fn total(self) -> usize {
        self.create + self.update + self.delete
    }
}

/// A changeset the engine applied, as kept in its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChangesetRecord {
    pub program: String,
    /// The revision this changeset produced.
    pub revision: u64,
    pub base_revision: u64,
    pub author: String,
    /// The id of the token that applied the changeset over HTTP (the author
    /// is whatever the client says; the token is who it was). Absent for the
    /// embedded engine, which needs no token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    pub applied_at: DateTime<Utc>,
    pub summary: Summary,
    /// Left out of history listings; present when one changeset is fetched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// In the answer to an apply: how many times backfills fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill_fired: Option<u64>,
}

/// What the store writes for a changeset: rows to remove and rows to write, and
/// what that means for the runtime data keyed by resource keys.
#[derive(Debug, Clone, Default)]
pub struct Delta {
    /// Rows to delete, by kind and the key stored now.
    pub removed: Vec<(Kind, String)>,
    /// Rows to write (after `removed` are gone).
    pub written: Vec<Resource>,
    /// Renames (kind, old key, new key): partners keep their tags and groups,
    /// customers their products, automations their firing history.
    pub renamed: Vec<(Kind, String, String)>,
    /// Resources deleted outright: a deleted tag comes off every partner.
    pub deleted: Vec<(Kind, String)>,
    /// Automations (new keys) whose trigger changed: a new condition, so
    /// their fire records start afresh, as for a new automation.
    pub retriggered: Vec<String>,
    /// Signing secrets of the webhook endpoints the changeset creates
    /// (key, secret), made by the engine before the store writes them.
    pub webhook_secrets: Vec<(String, String)>,
}
