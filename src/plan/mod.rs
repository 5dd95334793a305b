//! Plans: what applying a config would change in the engine, computed by diffing
//! the config against the live snapshot by (kind, key).
//!
//! A plan is data (saved with `plan --out` and applied with `apply FILE`), so it
//! carries everything apply needs: the base revision, the changes with their
//! before and after, the engine's impact counts and the size of each kind.

mod diff;
pub mod impact;
pub mod render;
pub mod target;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use diff::diff;

use crate::engine::changeset::{Change, Changeset, Summary};
use crate::engine::whatif::{WhatIf, WhatIfQuery};
use crate::engine::{Impact, ImpactQuery};
use crate::spec::{Config, Kind, Resource};

/// Bumped when the plan file format changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// Deleting or rewriting more than this share of a kind needs `--force`...
pub const MASS_CHANGE_SHARE: f64 = 0.30;
/// ...once more than this many of the kind exist.
pub const MASS_CHANGE_MIN_EXISTING: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
}

/// A field whose value differs, by its path in the resource (`when.milestone.at_least`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlannedChange {
    pub action: Action,
    pub kind: Kind,
    /// The key in the engine now (for a create, the new key).
    pub key: String,
    /// For a rename through `previously`: the key it gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Resource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Deleting a tag: partners that lose it. A backfill: partners it fires for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partners: Option<u64>,
    /// Deleting a tag: customers that lose it. Deleting a product: customers
    /// that hold it (the engine refuses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customers: Option<u64>,
}

impl PlannedChange {
    pub fn change(&self) -> Change {
        match self.action {
            Action::Create => Change::Create {
                resource: self.after.clone().expect("a create has an after"),
            },
            Action::Update => Change::Update {
                key: self.key.clone(),
                resource: self.after.clone().expect("an update has an after"),
            },
            Action::Delete => Change::Delete {
                kind: self.kind,
                key: self.key.clone(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    pub format_version: u32,
    pub program: String,
    /// The engine revision the plan was made against; apply refuses if it moved.
    pub base_revision: u64,
    pub created_at: DateTime<Utc>,
    /// The git commit the config came from, when planned in a checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    pub changes: Vec<PlannedChange>,
    pub summary: Summary,
    /// How many resources of each kind the engine holds now.
    #[serde(default)]
    pub existing: BTreeMap<Kind, usize>,
    /// `plan --target`: the resources (`KIND/KEY`) the plan was made for; it
    /// holds their changes and what they need, and leaves out the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// `plan --impact-window`: what the planned config would have done with
    /// the program's recent events, beside the live config. Absent when the
    /// plan changes no commission trigger or automation (no replay is run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<WhatIf>,
}

/// Why apply would refuse a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Too large a share of a kind would go; `--force` overrides.
    MassChange {
        kind: Kind,
        action: Action,
        count: usize,
        existing: usize,
    },
    /// Customers hold the product; it can only be archived.
    ProductHeld { key: String, customers: u64 },
}

impl Refusal {
    pub fn forceable(&self) -> bool {
        matches!(self, Refusal::MassChange { .. })
    }

    /// What the guard found, without the advice: for a guard `--force` overrode.
    pub fn finding(&self) -> String {
        match self {
            Refusal::MassChange {
                kind,
                action,
                count,
                existing,
            } => {
                let verb = if *action == Action::Delete {
                    "deletes"
                } else {
                    "rewrites"
                };
                #[allow(clippy::cast_precision_loss)] // counts far below 2^52
                let share = (*count as f64 / *existing as f64 * 100.0).round();
                format!(
                    "the plan {verb} {count} of {existing} {}s ({share}%), more than {}%",
                    kind.noun(),
                    (MASS_CHANGE_SHARE * 100.0).round()
                )
            }
            Refusal::ProductHeld { .. } => self.to_string(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::MassChange { .. } => write!(
                f,
                "{}; apply it with --force if that is intended",
                self.finding()
            ),
            Refusal::ProductHeld { key, customers } => write!(
                f,
                "product `{key}` is held by {customers} customer{}: it cannot be deleted; archive it instead (`archived: true`)",
                if *customers == 1 { "" } else { "s" }
            ),
        }
    }
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Why a plan read from a file cannot be applied as it stands: a create or
    /// update without the resource it writes, or with one of another kind or
    /// key than the change names. Plans made here never have these.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, c) in self.changes.iter().enumerate() {
            let action = match c.action {
                Action::Create => "create",
                Action::Update => "update",
                Action::Delete => "delete",
            };
            let what = format!("change {} ({action} {} `{}`)", i + 1, c.kind, c.key);
            let key = c.new_key.as_deref().unwrap_or(&c.key);
            match (c.action, &c.after) {
                (Action::Delete, _) => {}
                (_, None) => problems.push(format!("{what}: has no `after` resource")),
                (_, Some(after)) if after.kind() != c.kind || after.key() != key => {
                    problems.push(format!(
                        "{what}: its `after` is {} `{}`",
                        after.kind(),
                        after.key()
                    ));
                }
                _ => {}
            }
        }
        problems
    }

    /// The changeset that applies exactly this plan. The commit the plan was
    /// made from wins: `git_commit` is only for a plan that records none.
    pub fn changeset(
        &self,
        author: String,
        message: Option<String>,
        git_commit: Option<String>,
    ) -> Changeset {
        Changeset {
            base_revision: self.base_revision,
            changes: self.changes.iter().map(PlannedChange::change).collect(),
            author,
            message,
            git_commit: self.git_commit.clone().or(git_commit),
        }
    }

    /// What to ask the engine about the data this plan touches.
    pub fn impact_query(&self) -> ImpactQuery {
        let mut query = ImpactQuery::default();
        for change in &self.changes {
            match (change.action, change.kind, &change.after) {
                (Action::Delete, Kind::Tag, _) => query.tags.push(change.key.clone()),
                (Action::Delete, Kind::Product, _) => query.products.push(change.key.clone()),
                (_, Kind::Automation, Some(Resource::Automation(after))) => {
                    let before = match &change.before {
                        Some(Resource::Automation(b)) => Some(b),
                        _ => None,
                    };
                    if after.backfills_after(before) {
                        // The engine finds fire records under the old key of
                        // a rename, which the stored resource no longer lists.
                        let mut automation = after.clone();
                        if change.new_key.is_some() && !automation.previously.contains(&change.key)
                        {
                            automation.previously.push(change.key.clone());
                        }
                        query.backfill.push(automation);
                    }
                }
                _ => {}
            }
        }
        query
    }

    /// What to ask the engine to replay for `plan --impact-window`: `None`
    /// when the plan changes no commission trigger or automation (nothing
    /// the replay could show moves, so none is run), when `window_days` is
    /// 0, or when the engine holds no config to compare with yet.
    pub fn what_if_query(&self, config: &Config, window_days: u32) -> Option<WhatIfQuery> {
        if window_days == 0 || self.base_revision == 0 {
            return None;
        }
        let mut triggers = Vec::new();
        let mut replays = false;
        for change in &self.changes {
            match change.kind {
                Kind::CommissionTrigger => {
                    replays = true;
                    triggers.push(change.key.clone());
                    if let Some(k) = &change.new_key {
                        triggers.push(k.clone());
                    }
                }
                Kind::Automation => replays = true,
                _ => {}
            }
        }
        replays.then(|| WhatIfQuery {
            resources: config.resources().collect(),
            window_days,
            until: None,
            triggers,
        })
    }

    /// Puts the engine's counts on the changes they are about.
    pub fn add_impact(&mut self, impact: &Impact) {
        for change in &mut self.changes {
            match (change.action, change.kind) {
                (Action::Delete, Kind::Tag) => {
                    change.partners = impact.tag_holders.get(&change.key).copied();
                    change.customers = impact.tag_customers.get(&change.key).copied();
                }
                (Action::Delete, Kind::Product) => {
                    change.customers = impact.product_holders.get(&change.key).copied();
                }
                (_, Kind::Automation) => {
                    let key = change.new_key.as_ref().unwrap_or(&change.key);
                    change.partners = impact.backfill.get(key).copied();
                }
                _ => {}
            }
        }
    }

    /// Counts the summary from the changes and `existing` from what the engine
    /// holds: a saved plan's own counts are not trusted, since the guards
    /// depend on them and the file may have been edited.
    pub fn recount(&mut self, live: &[Resource]) {
        self.existing.clear();
        for r in live {
            *self.existing.entry(r.kind()).or_insert(0) += 1;
        }
        let count = |action| self.changes.iter().filter(|c| c.action == action).count();
        self.summary = Summary {
            create: count(Action::Create),
            update: count(Action::Update),
            delete: count(Action::Delete),
        };
    }

    /// Every reason apply would refuse this plan.
    pub fn refusals(&self) -> Vec<Refusal> {
        let mut refusals = Vec::new();
        for (&kind, &existing) in &self.existing {
            if existing <= MASS_CHANGE_MIN_EXISTING {
                continue;
            }
            for action in [Action::Delete, Action::Update] {
                let count = self
                    .changes
                    .iter()
                    .filter(|c| c.kind == kind && c.action == action)
                    .count();
                #[allow(clippy::cast_precision_loss)]
                if count as f64 > existing as f64 * MASS_CHANGE_SHARE {
                    refusals.push(Refusal::MassChange {
                        kind,
                        action,
                        count,
                        existing,
                    });
                }
            }
        }
        for change in &self.changes {
            if change.kind == Kind::Product
                && change.action == Action::Delete
                && let Some(customers) = change.customers.filter(|c| *c > 0)
            {
                refusals.push(Refusal::ProductHeld {
                    key: change.key.clone(),
                    customers,
                });
            }
        }
        refusals
    }
}
