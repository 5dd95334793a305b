//! `plan --target KIND/KEY`: a plan of some resources only, as Terraform's
//! `-target` makes one. It keeps the changes to the targets and to what they
//! need to apply on their own: what they refer to (an automation's tags, a
//! trigger's products, groups and tags, and the program itself while the
//! engine holds none), and, for a target deleted or renamed, the changes to
//! what referred to it, which would otherwise be left pointing at nothing.
//! Everything else stays as the engine has it, for a later plan to show.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use super::{Action, Plan, PlannedChange};
use crate::spec::{Config, Kind, Resource, Rule};

/// A resource as named on the command line: `tag/gold`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Address {
    pub kind: Kind,
    pub key: String,
}

impl FromStr for Address {
    type Err = String;

    fn from_str(s: &str) -> Result<Address, String> {
        let kinds = || {
            Kind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some((kind, key)) = s.split_once('/') else {
            return Err(format!(
                "`{s}` is not KIND/KEY (KIND is one of {})",
                kinds()
            ));
        };
        let kind = Kind::parse(&kind.replace('-', "_"))
            .ok_or_else(|| format!("`{kind}` is not a kind: one of {}", kinds()))?;
        if key.is_empty() {
            return Err(format!("`{s}` names no key after the /"));
        }
        Ok(Address {
            kind,
            key: key.to_owned(),
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.key)
    }
}

/// What a resource refers to: keys, or a product by its name (`product.name`
/// rules).
#[derive(Debug, PartialEq, Eq)]
enum Reference<'a> {
    Key(Kind, &'a str),
    ProductName(&'a str),
}

fn references(resource: &Resource) -> Vec<Reference<'_>> {
    let mut refs = Vec::new();
    match resource {
        Resource::Automation(a) => {
            refs.extend(
                a.then
                    .iter()
                    .filter_map(|t| t.tag())
                    .map(|t| Reference::Key(Kind::Tag, t)),
            );
            refs.extend(
                a.then
                    .iter()
                    .filter_map(|t| t.endpoint())
                    .map(|e| Reference::Key(Kind::Webhook, e)),
            );
        }
        Resource::CommissionTrigger(t) => {
            for rule in &t.rules {
                match rule {
                    Rule::ProductKey(op) => {
                        refs.extend(op.values().iter().map(|v| Reference::Key(Kind::Product, v)))
                    }
                    Rule::ProductName(op) => {
                        refs.extend(op.values().iter().map(|v| Reference::ProductName(v)));
                    }
                    Rule::PartnerGroup(op) => {
                        refs.extend(op.values().iter().map(|v| Reference::Key(Kind::Group, v)));
                    }
                    Rule::PartnerTag(op) => {
                        refs.extend(op.values().iter().map(|v| Reference::Key(Kind::Tag, v)));
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    refs
}

/// Whether `resource` refers to `(kind, key)`, or to `name` when that is the
/// name of the product.
fn refers_to(resource: &Resource, kind: Kind, key: &str, product_name: Option<&str>) -> bool {
    references(resource).iter().any(|r| match r {
        Reference::Key(k, v) => *k == kind && *v == key,
        Reference::ProductName(n) => product_name == Some(*n),
    })
}

fn product_name(resource: Option<&Resource>) -> Option<&str> {
    match resource {
        Some(Resource::Product(p)) => Some(&p.name),
        _ => None,
    }
}

/// Checks that every target names a resource of the config or the engine
/// (a misspelt target would otherwise plan nothing, quietly).
pub fn check(targets: &[Address], config: &Config, live: &[Resource]) -> Result<(), String> {
    let known = |a: &Address| {
        config
            .resources()
            .any(|r| r.kind() == a.kind && r.key() == a.key)
            || live.iter().any(|r| r.kind() == a.kind && r.key() == a.key)
    };
    let unknown: Vec<String> = targets
        .iter()
        .filter(|a| !known(a))
        .map(|a| {
            let keys: Vec<String> = config
                .resources()
                .chain(live.iter().cloned())
                .filter(|r| r.kind() == a.kind)
                .map(|r| r.key().to_owned())
                .collect();
            let hint = crate::suggest::did_you_mean(&a.key, keys.iter().map(String::as_str))
                .map(|s| format!(" (did you mean `{}/{s}`?)", a.kind))
                .unwrap_or_default();
            format!(
                "--target {a}: neither the config nor the engine holds {} `{}`{hint}",
                a.kind.noun(),
                a.key
            )
        })
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(unknown.join("\n"))
    }
}

/// Keeps the changes to `targets` and to what they need; recounts the
/// summary. `live` is what the engine holds, for the guards' counts.
pub fn restrict(plan: &mut Plan, targets: &[Address], live: &[Resource]) {
    let changes = &plan.changes;
    // A change is found by the key it has before and, for a rename, after.
    let mut by_address: HashMap<(Kind, &str), usize> = HashMap::new();
    for (i, c) in changes.iter().enumerate() {
        by_address.insert((c.kind, c.key.as_str()), i);
        if let Some(new_key) = &c.new_key {
            by_address.insert((c.kind, new_key.as_str()), i);
        }
    }
    let program_created = changes
        .iter()
        .position(|c| c.kind == Kind::Program && c.action == Action::Create);

    let mut keep = BTreeSet::new();
    let mut todo: Vec<usize> = targets
        .iter()
        .filter_map(|a| by_address.get(&(a.kind, a.key.as_str())).copied())
        .collect();
    while let Some(i) = todo.pop() {
        if !keep.insert(i) {
            continue;
        }
        let change = &changes[i];
        if let Some(after) = &change.after {
            // What it refers to, as the config has it.
            for r in references(after) {
                let found = match r {
                    Reference::Key(kind, key) => by_address.get(&(kind, key)).copied(),
                    Reference::ProductName(name) => changes
                        .iter()
                        .position(|c| product_name(c.after.as_ref()) == Some(name)),
                };
                todo.extend(found);
            }
            // Nothing exists in an engine without its program.
            if change.action == Action::Create {
                todo.extend(program_created);
            }
        }
        if let Some(gone) = vanishing(change) {
            let name = product_name(change.before.as_ref());
            todo.extend(changes.iter().enumerate().filter_map(|(j, c)| {
                c.before
                    .as_ref()
                    .is_some_and(|b| refers_to(b, change.kind, gone, name))
                    .then_some(j)
            }));
        }
    }
    let all = std::mem::take(&mut plan.changes);
    plan.changes = all
        .into_iter()
        .enumerate()
        .filter_map(|(i, c)| keep.contains(&i).then_some(c))
        .collect();
    plan.targets = targets.iter().map(ToString::to_string).collect();
    plan.recount(live);
}

/// The key a change takes away from the engine: a delete's, or the old key
/// of a rename.
fn vanishing(change: &PlannedChange) -> Option<&str> {
    match change.action {
        Action::Delete => Some(&change.key),
        Action::Update if change.new_key.is_some() => Some(&change.key),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_kind_slash_key() {
        let a: Address = "commission-trigger/inbox-20".parse().unwrap();
        assert_eq!(a.kind, Kind::CommissionTrigger);
        assert_eq!(a.to_string(), "commission_trigger/inbox-20");
        assert!("tag".parse::<Address>().unwrap_err().contains("KIND/KEY"));
        assert!(
            "flag/x"
                .parse::<Address>()
                .unwrap_err()
                .contains("not a kind")
        );
        assert!("tag/".parse::<Address>().is_err());
    }
}
