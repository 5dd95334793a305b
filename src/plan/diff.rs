use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use serde_json::Value;

use super::{Action, FORMAT_VERSION, FieldChange, Plan, PlannedChange};
use crate::engine::Snapshot;
use crate::engine::changeset::Summary;
use crate::spec::{Config, Kind, Resource};

/// The plan that takes the engine from `live` to `desired`: creates and updates
/// in dependency order (groups, tags and products before what refers to them),
/// then deletes in reverse dependency order.
pub fn diff(desired: &Config, live: &Snapshot) -> Plan {
    let by_key: HashMap<(Kind, &str), &Resource> = live
        .resources
        .iter()
        .map(|r| ((r.kind(), r.key()), r))
        .collect();
    // `previously` only tells the diff how to match a renamed resource: it is
    // left out of what is compared and of what is sent, so the engine never
    // stores it and dropping it after a rename changes nothing.
    let wanted: Vec<(Resource, Resource)> = desired
        .resources()
        .map(|r| {
            let stored = r.as_stored();
            (r, stored)
        })
        .collect();
    let desired_keys: HashSet<(Kind, &str)> =
        wanted.iter().map(|(r, _)| (r.kind(), r.key())).collect();
    let mut claimed: HashSet<(Kind, &str)> = HashSet::new();
    let mut changes = Vec::new();

    for (resource, stored) in &wanted {
        let kind = resource.kind();
        if let Some(current) = by_key.get(&(kind, resource.key())) {
            claimed.insert((kind, current.key()));
            // An engine may still hold a `previously` stored by an older
            // version; it is ignored on both sides.
            if current.as_stored() != *stored {
                changes.push(update(current, stored));
            }
            continue;
        }
        // A rename: the first previous key the engine still holds and that no
        // resource of the config uses as its own key.
        let renamed = resource.previously().iter().find_map(|old| {
            let id = (kind, old.as_str());
            (!claimed.contains(&id) && !desired_keys.contains(&id))
                .then(|| by_key.get(&id))
                .flatten()
        });
        match renamed {
            Some(current) => {
                claimed.insert((kind, current.key()));
                changes.push(update(current, stored));
            }
            None => changes.push(PlannedChange {
                action: Action::Create,
                kind,
                key: resource.key().to_owned(),
                new_key: None,
                before: None,
                after: Some(stored.clone()),
                fields: Vec::new(),
                partners: None,
                customers: None,
            }),
        }
    }
    let mut deletes: Vec<PlannedChange> = live
        .resources
        .iter()
        .filter(|r| !claimed.contains(&(r.kind(), r.key())))
        .map(|r| PlannedChange {
            action: Action::Delete,
            kind: r.kind(),
            key: r.key().to_owned(),
            new_key: None,
            before: Some(r.clone()),
            after: None,
            fields: Vec::new(),
            partners: None,
            customers: None,
        })
        .collect();
    deletes.sort_by(|a, b| b.kind.cmp(&a.kind).then_with(|| a.key.cmp(&b.key)));
    changes.extend(deletes);

    let mut plan = Plan {
        format_version: FORMAT_VERSION,
        program: desired.program.key.clone(),
        base_revision: live.revision,
        created_at: Utc::now(),
        git_commit: None,
        changes,
        summary: Summary::default(),
        existing: BTreeMap::new(),
        targets: Vec::new(),
        impact: None,
    };
    plan.recount(&live.resources);
    plan
}

fn update(before: &Resource, after: &Resource) -> PlannedChange {
    let before = &before.as_stored();
    let new_key = (before.key() != after.key()).then(|| after.key().to_owned());
    PlannedChange {
        action: Action::Update,
        kind: after.kind(),
        key: before.key().to_owned(),
        new_key,
        before: Some(before.clone()),
        after: Some(after.clone()),
        fields: fields(before, after),
        partners: None,
        customers: None,
    }
}

/// The leaves that differ between two resources.
fn fields(before: &Resource, after: &Resource) -> Vec<FieldChange> {
    let mut old = BTreeMap::new();
    let mut new = BTreeMap::new();
    flatten(
        "",
        &serde_json::to_value(before).unwrap_or_default(),
        &mut old,
    );
    flatten(
        "",
        &serde_json::to_value(after).unwrap_or_default(),
        &mut new,
    );
    let paths: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    paths
        .into_iter()
        .filter(|p| p.as_str() != "kind" && old.get(*p) != new.get(*p))
        .map(|p| FieldChange {
            path: p.clone(),
            before: old.get(p).cloned(),
            after: new.get(p).cloned(),
        })
        .collect()
}

fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, v, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.clone());
        }
    }
}
