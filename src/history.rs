//! The config as it stood at an earlier revision, and what a changeset did to
//! it. The engine keeps every changeset it applied, so a revision's config is
//! the changesets up to it replayed on an empty program, as the engine applied
//! them: removals (deletes, and the old keys of updates) first, then what the
//! creates and updates write.

use std::collections::BTreeMap;

use crate::client::Reader;
use crate::engine::changeset::{Change, ChangesetRecord};
use crate::engine::{Error, Result};
use crate::plan::{Action, PlannedChange};
use crate::spec::{Kind, Resource};

/// Resources by kind and key, in dependency order.
pub type State = BTreeMap<(Kind, String), Resource>;

/// Applies one changeset's changes to `state`.
pub fn replay(state: &mut State, changes: &[Change]) {
    for change in changes {
        match change {
            Change::Update { key, resource } => {
                state.remove(&(resource.kind(), key.clone()));
            }
            Change::Delete { kind, key } => {
                state.remove(&(*kind, key.clone()));
            }
            Change::Create { .. } => {}
        }
    }
    for change in changes {
        if let Change::Create { resource } | Change::Update { resource, .. } = change {
            state.insert(
                (resource.kind(), resource.key().to_owned()),
                resource.as_stored(),
            );
        }
    }
}

/// The program's config at `revision` (0: before anything was applied).
pub async fn state_at(reader: &dyn Reader, program: &str, revision: u64) -> Result<State> {
    let current = reader.snapshot(program).await?.revision;
    if revision > current {
        return Err(Error::NotFound(format!(
            "program `{program}` is at revision {current}; it has no revision {revision} yet"
        )));
    }
    let mut state = State::new();
    for r in 1..=revision {
        replay(&mut state, &reader.changeset(program, r).await?.changes);
    }
    Ok(state)
}

/// A changeset's changes with the resources they replaced or deleted, from
/// the config just before it: what `plan` would have shown.
pub fn as_planned(before: &State, record: &ChangesetRecord) -> Vec<PlannedChange> {
    record
        .changes
        .iter()
        .map(|change| {
            let (action, kind, key, after) = match change {
                Change::Create { resource } => (
                    Action::Create,
                    resource.kind(),
                    resource.key().to_owned(),
                    Some(resource.as_stored()),
                ),
                Change::Update { key, resource } => (
                    Action::Update,
                    resource.kind(),
                    key.clone(),
                    Some(resource.as_stored()),
                ),
                Change::Delete { kind, key } => (Action::Delete, *kind, key.clone(), None),
            };
            let new_key = after
                .as_ref()
                .filter(|a| a.key() != key && action == Action::Update)
                .map(|a| a.key().to_owned());
            PlannedChange {
                action,
                kind,
                before: before.get(&(kind, key.clone())).cloned(),
                key,
                new_key,
                after,
                fields: Vec::new(),
                partners: None,
                customers: None,
            }
        })
        .collect()
}
