//! Changesets: the one way config in the engine changes. A changeset is a list of
//! creates, updates and deletes planned against a revision; the engine applies all
//! of it or none of it, and keeps every changeset it applied.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::spec::check::{self, Declared};
use crate::spec::{Kind, Resource};

pub use crate::store::changeset::{Change, Changeset, ChangesetRecord, Delta, Summary};

/// What is wrong with a changeset before it meets the engine's state: the
/// program key it is sent for (from a URL path, so anything) and its commit.
pub fn check_envelope(program: &str, changeset: &Changeset) -> Vec<String> {
    let mut errors = Vec::new();
    // Escaped so the message stays on one line; escaping only touches
    // characters a key cannot hold, so it does not change the verdict.
    if let Some(problem) = check::key_problem(&program.escape_debug().to_string()) {
        errors.push(format!("the program key in the path: {problem}"));
    }
    if let Some(commit) = &changeset.git_commit
        && (!(MIN_COMMIT..=MAX_COMMIT).contains(&commit.len())
            || !commit.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        errors.push(format!(
            "git_commit `{}` is not a commit id: expected {MIN_COMMIT} to {MAX_COMMIT} hex digits",
            commit.escape_debug()
        ));
    }
    errors
}

/// An abbreviated commit id is at least 7 hex digits (git's default); a full
/// one is 40 (SHA-1) or 64 (SHA-256).
const MIN_COMMIT: usize = 7;
const MAX_COMMIT: usize = 64;

/// Applies `changes` to the resources at the base revision, checks the result as
/// `validate` checks a config directory, and returns the rows to change.
/// Renames in the order the store can carry them out: one that moves partner
/// tags, fire records and the like onto a key goes after the rename that moves
/// them off it (`converter → proven` before `earning → converter`). Renames in
/// a circle (a swap) cannot be ordered, and a rename onto a key deleted in
/// the same changeset would meet that key's data: both are refused.
fn order_renames(
    renamed: Vec<(Kind, String, String)>,
    deleted: &[(Kind, String)],
    errors: &mut Vec<String>,
) -> Vec<(Kind, String, String)> {
    for (kind, old, new) in &renamed {
        if deleted.iter().any(|(k, key)| k == kind && key == new) {
            errors.push(format!(
                "rename {kind} `{old}` to `{new}`: `{new}` is deleted in the same changeset; delete it in one apply and rename in the next"
            ));
        }
    }
    let mut pending = renamed;
    let mut ordered = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let sources: std::collections::HashSet<(Kind, String)> = pending
            .iter()
            .map(|(kind, old, _)| (*kind, old.clone()))
            .collect();
        let (ready, rest): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|(kind, _, new)| !sources.contains(&(*kind, new.clone())));
        if ready.is_empty() {
            let circle: Vec<String> = rest
                .iter()
                .map(|(kind, old, new)| format!("{kind} `{old}` to `{new}`"))
                .collect();
            errors.push(format!(
                "the renames {} go round in a circle; rename through a new key, one apply at a time",
                circle.join(", ")
            ));
            ordered.extend(rest);
            break;
        }
        ordered.extend(ready);
        pending = rest;
    }
    ordered
}

pub fn resolve(program: &str, current: &[Resource], changes: &[Change]) -> Result<Delta> {
    let mut state: BTreeMap<(Kind, &str), &Resource> =
        current.iter().map(|r| ((r.kind(), r.key()), r)).collect();
    let mut errors = Vec::new();
    let mut removed = Vec::new();
    let mut written: Vec<&Resource> = Vec::new();
    let mut renamed = Vec::new();
    let mut deleted = Vec::new();
    let mut retriggered = Vec::new();
    // A new revision with nothing in it would only make saved plans stale.
    let mut changes_something = false;

    // Removals first so a rename chain (b→c, a→b) in one changeset works.
    for change in changes {
        match change {
            Change::Update { key, resource }
                if let Some(before) = state.remove(&(resource.kind(), key.as_str())) =>
            {
                removed.push((resource.kind(), key.clone()));
                changes_something |= *before != resource.as_stored();
                if key != resource.key() {
                    renamed.push((resource.kind(), key.clone(), resource.key().to_owned()));
                }
                if let (Resource::Automation(b), Resource::Automation(a)) = (before, resource)
                    && b.when != a.when
                {
                    retriggered.push(a.key.clone());
                }
            }
            Change::Delete { kind, key } if state.remove(&(*kind, key.as_str())).is_some() => {
                changes_something = true;
                removed.push((*kind, key.clone()));
                deleted.push((*kind, key.clone()));
            }
            Change::Update { key, resource } => errors.push(format!(
                "update {} `{key}`: no such {} in the engine",
                resource.kind(),
                resource.kind().noun()
            )),
            Change::Delete { kind, key } => {
                errors.push(format!(
                    "delete {kind} `{key}`: no such {} in the engine",
                    kind.noun()
                ));
            }
            Change::Create { .. } => changes_something = true,
        }
    }
    for change in changes {
        let (Change::Create { resource } | Change::Update { resource, .. }) = change else {
            continue;
        };
        if resource.kind() == crate::spec::Kind::Program && resource.key() != program {
            errors.push(format!(
                "{} program `{}` in the changeset of program `{program}`",
                change.action(),
                resource.key()
            ));
        }
        if state
            .insert((resource.kind(), resource.key()), resource)
            .is_some()
        {
            errors.push(format!(
                "{} {} `{}`: a {} with that key already exists",
                change.action(),
                resource.kind(),
                resource.key(),
                resource.kind().noun()
            ));
        }
        written.push(resource);
    }
    let renamed = order_renames(renamed, &deleted, &mut errors);
    // Even for an empty result: an empty changeset must not make a program the
    // engine then lists with no config.
    if !state.contains_key(&(Kind::Program, program)) {
        errors.push(if current.is_empty() {
            format!(
                "program `{program}` has no config yet: the changeset must create its program resource"
            )
        } else {
            format!("the changeset leaves program `{program}` without its program resource")
        });
    }

    let mut declared = Declared::default();
    for resource in state.values() {
        declared.add(resource);
    }
    for resource in &written {
        for problem in check::check_resource(resource) {
            errors.push(format!(
                "{} `{}`: {problem}",
                resource.kind(),
                resource.key()
            ));
        }
    }
    // References are checked across the whole result: a delete can break a
    // resource the changeset does not touch.
    for resource in state.values() {
        for problem in check::check_references(resource, &declared) {
            errors.push(format!(
                "{} `{}`: {problem}",
                resource.kind(),
                resource.key()
            ));
        }
    }
    let products: Vec<&crate::spec::Product> = state
        .values()
        .filter_map(|r| match r {
            Resource::Product(p) => Some(p),
            _ => None,
        })
        .collect();
    for clash in check::stripe_price_clashes(products.iter().copied()) {
        errors.push(format!(
            "product `{}`: stripe.prices[{}]: Stripe price `{}` is already listed on product `{}`: a price belongs to one product",
            products[clash.product].key,
            clash.index,
            clash.price,
            products[clash.first_product].key
        ));
    }
    if errors.is_empty() && !changes_something {
        errors.push("the changeset changes nothing; there is nothing to apply".to_owned());
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    Ok(Delta {
        removed,
        written: written.into_iter().cloned().collect(),
        renamed,
        deleted,
        retriggered,
        webhook_secrets: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rename(old: &str, new: &str) -> (Kind, String, String) {
        (Kind::Tag, old.to_owned(), new.to_owned())
    }

    #[test]
    fn renames_go_after_the_renames_that_free_their_key() {
        let mut errors = Vec::new();
        let ordered = order_renames(
            vec![
                rename("earning", "converter"),
                rename("converter", "proven"),
            ],
            &[],
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            ordered,
            [
                rename("converter", "proven"),
                rename("earning", "converter")
            ]
        );
    }

    #[test]
    fn swaps_and_renames_onto_deleted_keys_are_refused() {
        let mut errors = Vec::new();
        order_renames(vec![rename("a", "b"), rename("b", "a")], &[], &mut errors);
        assert!(errors[0].contains("go round in a circle"), "{errors:?}");
        let mut errors = Vec::new();
        order_renames(
            vec![rename("a", "b")],
            &[(Kind::Tag, "b".to_owned())],
            &mut errors,
        );
        assert!(
            errors[0].contains("`b` is deleted in the same changeset"),
            "{errors:?}"
        );
    }
}
