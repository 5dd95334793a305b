//! Reading a resource past its mistakes.
//!
//! serde gives up at the first error, and a visitor it has handed a value cannot
//! be asked again, so one pass finds one mistake. Each error names the node that
//! caused it; the resource is read again with that node patched (made a hole,
//! its entry dropped, or a missing field filled in) until a pass succeeds. The
//! result is every mistake, each at its own node, and a value with holes that
//! the loader can still check for everything the holes do not touch.

use std::collections::{HashMap, HashSet};

use serde::de::DeserializeOwned;

use super::de::{self, DeError};
use super::node::{Node, Value};
use crate::spec::check::Seg;
use crate::suggest::did_you_mean;

/// Past this many mistakes in one resource the rest are not looked for: each
/// costs a pass over the resource.
const MAX_ERRORS: usize = 100;

/// Identifies a node of the tree being read, which outlives every pass.
pub fn id(node: &Node) -> usize {
    std::ptr::from_ref(node).addr()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patch {
    /// Read the node as the simplest value of its type.
    Hole,
    /// Skip this mapping entry (the node is its key).
    Drop,
    /// Read this missing field of the mapping as a hole.
    Add(&'static str),
}

#[derive(Debug, Default)]
pub struct Patches {
    holes: HashSet<usize>,
    dropped: HashSet<usize>,
    added: HashMap<usize, Vec<&'static str>>,
}

impl Patches {
    pub fn is_hole(&self, node: &Node) -> bool {
        !self.holes.is_empty() && self.holes.contains(&id(node))
    }

    pub fn is_dropped(&self, key: &Node) -> bool {
        !self.dropped.is_empty() && self.dropped.contains(&id(key))
    }

    pub fn added(&self, node: &Node) -> &[&'static str] {
        if self.added.is_empty() {
            return &[];
        }
        self.added.get(&id(node)).map_or(&[], Vec::as_slice)
    }

    /// Whether a dropped key of `node` looks like a misspelling of `field`.
    pub fn dropped_near(&self, node: &Node, field: &str) -> bool {
        node.entries().iter().any(|(key, _)| {
            self.is_dropped(key)
                && key
                    .scalar_text()
                    .is_some_and(|k| did_you_mean(&k, [field]).is_some())
        })
    }

    /// Records a patch; false when it was there already, so a pass made no progress.
    fn insert(&mut self, (node, patch): (usize, Patch)) -> bool {
        match patch {
            Patch::Hole => self.holes.insert(node),
            Patch::Drop => self.dropped.insert(node),
            Patch::Add(field) => {
                let fields = self.added.entry(node).or_default();
                let new = !fields.contains(&field);
                if new {
                    fields.push(field);
                }
                new
            }
        }
    }

    /// Whether a problem found at `path` in the resource read from `root` may be
    /// an effect of a hole: the path runs through one, or to a missing field, or
    /// holes lie below where it points. Dropped entries leave no value behind,
    /// so they cover nothing.
    pub fn covers(&self, root: &Node, path: &[Seg]) -> bool {
        if self.holes.is_empty() && self.added.is_empty() {
            return false;
        }
        let mut here = root;
        for seg in path {
            if self.is_hole(here) {
                return true;
            }
            let next = match seg {
                Seg::Key(k) => {
                    if self.added(here).contains(k) {
                        return true;
                    }
                    here.get(k)
                }
                Seg::Index(i) => here.items().get(*i),
            };
            match next {
                Some(n) => here = n,
                None => break,
            }
        }
        self.touches(here)
    }

    fn touches(&self, node: &Node) -> bool {
        self.is_hole(node)
            || !self.added(node).is_empty()
            || match &node.value {
                Value::Seq(items) => items.iter().any(|n| self.touches(n)),
                Value::Map(entries) => entries.iter().any(|(_, v)| self.touches(v)),
                _ => false,
            }
    }
}

/// A resource read past its mistakes.
pub struct Partial<T> {
    /// With holes where `errors` were found; `None` when even that failed.
    pub value: Option<T>,
    pub errors: Vec<DeError>,
    pub patches: Patches,
}

/// Reads `node` as a `T`, collecting every mistake.
pub fn from_node<T: DeserializeOwned>(node: &Node) -> Partial<T> {
    let mut patches = Patches::default();
    let mut errors = Vec::new();
    loop {
        match de::deserialize::<T>(node, &patches) {
            Ok(value) => {
                return Partial {
                    value: Some(value),
                    errors,
                    patches,
                };
            }
            Err(e) => {
                // No culprit, or one patched already: this pass got no further
                // than the last, and its error would only repeat an earlier one.
                let progress = e.culprit.is_some_and(|c| patches.insert(c));
                if !progress {
                    if errors.is_empty() {
                        errors.push(e);
                    }
                    break;
                }
                if !e.already_reported {
                    errors.push(e);
                }
                if errors.len() >= MAX_ERRORS {
                    let mut note = DeError::new(format!(
                        "stopped looking after {MAX_ERRORS} mistakes in this resource; fix these and validate again"
                    ));
                    note.span = Some(node.span);
                    errors.push(note);
                    break;
                }
            }
        }
    }
    Partial {
        value: None,
        errors,
        patches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::node::parse;
    use crate::spec::{CommissionTrigger, Product, Rule};

    fn messages<T: DeserializeOwned>(yaml: &str) -> (Option<T>, Vec<(u32, u32, String)>) {
        let root = parse(yaml).unwrap().root;
        let partial = from_node::<T>(&root);
        let errors = partial
            .errors
            .into_iter()
            .map(|e| {
                let span = e.span.unwrap();
                (span.line, span.column, e.message)
            })
            .collect();
        (partial.value, errors)
    }

    #[test]
    fn reports_every_mistake_in_a_resource_and_keeps_the_rest() {
        let (value, errors) = messages::<CommissionTrigger>(
            "key: t\n\
             commission: { percent: 120 }\n\
             rules:\n\
             \x20 - { product.created: { within: last_week } }\n\
             \x20 - { product.status: { any_of: [activ] } }\n\
             \x20 - { partner.tag: { any_of: [gold] } }\n\
             \x20 - { partner.tag: { one_of: [gold] } }\n\
             colour: red\n",
        );
        let lines: Vec<u32> = errors.iter().map(|e| e.0).collect();
        assert_eq!(lines, [2, 4, 5, 7, 8], "{errors:#?}");
        let trigger = value.expect("the rest still reads");
        assert_eq!(trigger.key, "t");
        assert!(matches!(&trigger.rules[2], Rule::PartnerTag(op) if op.values() == ["gold"]));
    }

    #[test]
    fn a_misspelt_required_field_is_reported_once() {
        let (value, errors) = messages::<Product>("key: p\nnmae: P\nprice: 1.99999\n");
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors[0].2.contains("did you mean `name`"), "{errors:#?}");
        assert!(errors[1].2.contains("more than 4 decimals"), "{errors:#?}");
        assert_eq!(value.unwrap().key, "p");
    }

    #[test]
    fn stops_after_a_hundred_mistakes_and_says_so() {
        let actions: String = (0..150).map(|i| format!("{{ bad{i}: x }}, ")).collect();
        let (value, errors) = messages::<crate::spec::Automation>(&format!(
            "{{ key: a, when: first_sale, then: [ {actions} ] }}"
        ));
        assert!(value.is_none());
        assert_eq!(errors.len(), MAX_ERRORS + 1);
        assert!(
            errors[MAX_ERRORS]
                .2
                .starts_with("stopped looking after 100 mistakes")
        );
    }

    #[test]
    fn problems_near_a_hole_are_covered_and_others_are_not() {
        let root = parse("key: t\nrules:\n  - { transaction.amount: { gt: x } }\n  - {}\n")
            .unwrap()
            .root;
        let partial = from_node::<CommissionTrigger>(&root);
        let rule = |i| vec![Seg::Key("rules"), Seg::Index(i)];
        let p = &partial.patches;
        // `commission` is missing: patched in.
        assert!(p.covers(&root, &[Seg::Key("commission"), Seg::Key("flat")]));
        // The bound `x` is a hole below the rule.
        assert!(p.covers(
            &root,
            &[rule(0), vec![Seg::Key("transaction.amount")]].concat()
        ));
        assert!(p.covers(&root, &rule(1)));
        assert!(!p.covers(&root, &[Seg::Key("key")]));
    }
}
