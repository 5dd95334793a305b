//! The checks run once every file is read: each resource on its own, then
//! against the others (one program, unique keys, previous keys, references).
//!
//! A resource read past its mistakes is checked too, for whatever did load: its
//! holes stand in for values already reported, so any problem that may be a
//! hole's doing is dropped rather than shown.

use std::collections::{HashMap, HashSet};

use super::diagnostic::Diagnostic;
use super::load::Source;
use super::node::Node;
use super::partial::Patches;
use crate::spec::check::{self, Declared, Problem, Seg};
use crate::spec::{Kind, Resource};

/// A resource as written, and what was read of it.
pub struct Entry<'a> {
    pub kind: Kind,
    /// `None` when not even a value with holes could be read.
    pub resource: Option<Resource>,
    /// Where holes stand in for mistakes.
    pub patches: Patches,
    pub source: &'a Source,
    pub node: &'a Node,
}

impl Entry<'_> {
    fn sound(&self, path: &[Seg]) -> bool {
        !self.patches.covers(self.node, path)
    }

    /// A string field as read, unless a hole stands in for it.
    fn text(&self, field: &'static str, read: impl Fn(&Resource) -> &str) -> Option<&str> {
        if !self.sound(&[Seg::Key(field)]) {
            return None;
        }
        match &self.resource {
            Some(resource) => Some(read(resource)),
            None => self.node.get(field)?.as_str(),
        }
    }

    /// The key, when it could be read: it still declares the resource, and
    /// still collides with another resource's.
    fn key(&self) -> Option<&str> {
        self.text("key", Resource::key)
    }

    fn product_name(&self) -> Option<&str> {
        self.text("name", |r| match r {
            Resource::Product(p) => &p.name,
            _ => "",
        })
    }

    /// The problem as a diagnostic, unless a hole may have caused it.
    fn diagnostic(&self, problem: Problem) -> Option<Diagnostic> {
        if !self.sound(&problem.path) || problem.depends_on.iter().any(|p| !self.sound(p)) {
            return None;
        }
        let node = locate(self.node, &problem.path);
        Some(
            self.source
                .diagnostic(node, problem.message)
                .with_help(problem.help),
        )
    }

    fn position(&self, path: &[Seg]) -> String {
        let node = locate(self.node, path);
        format!(
            "{}:{}:{}",
            self.source.display, node.span.line, node.span.column
        )
    }
}

/// Follows `path` into `node` as far as it goes.
fn locate<'a>(node: &'a Node, path: &[Seg]) -> &'a Node {
    let mut here = node;
    for seg in path {
        let next = match seg {
            Seg::Key(k) => here.get(k),
            Seg::Index(i) => here.items().get(*i),
        };
        match next {
            Some(n) => here = n,
            None => break,
        }
    }
    here
}

pub fn check(entries: &[Entry], unread: &HashSet<&'static str>, diagnostics: &mut Vec<Diagnostic>) {
    // Sections that may hold what was not read, as what they declare.
    let mut declared = Declared::default();
    for section in unread {
        match *section {
            "groups" => declared.unread.extend(["group"]),
            "tags" => declared.unread.extend(["tag"]),
            "products" => declared.unread.extend(["product", "product name"]),
            "webhooks" => declared.unread.extend(["webhook"]),
            _ => {}
        }
    }
    for entry in entries {
        if let Some(key) = entry.key() {
            match entry.kind {
                Kind::Group => {
                    declared.groups.insert(key);
                }
                Kind::Tag => {
                    declared.tags.insert(key);
                }
                Kind::Product => {
                    declared.products.insert(key);
                }
                Kind::Program => {
                    if let Some(r @ Resource::Program(_)) = &entry.resource
                        && entry.sound(&[Seg::Key("currency")])
                    {
                        declared.add(r);
                    }
                }
                Kind::Webhook => {
                    declared.webhooks.insert(key);
                }
                Kind::Automation | Kind::CommissionTrigger => {}
            }
        }
        if entry.kind == Kind::Product
            && let Some(name) = entry.product_name()
        {
            declared.product_names.insert(name);
        }
        // A tag, group or product whose key (or name) did not read is
        // reported already; what refers to it is not called undeclared.
        match entry.kind {
            Kind::Group if entry.key().is_none() => {
                declared.unread.insert("group");
            }
            Kind::Tag if entry.key().is_none() => {
                declared.unread.insert("tag");
            }
            Kind::Webhook if entry.key().is_none() => {
                declared.unread.insert("webhook");
            }
            Kind::Product => {
                if entry.key().is_none() {
                    declared.unread.insert("product");
                }
                if entry.product_name().is_none() {
                    declared.unread.insert("product name");
                }
            }
            _ => {}
        }
        if let Some(resource) = &entry.resource {
            diagnostics.extend(
                check::check_resource(resource)
                    .into_iter()
                    .filter_map(|p| entry.diagnostic(p)),
            );
        }
    }

    let mut programs = entries.iter().filter(|e| e.kind == Kind::Program);
    if let Some(first) = programs.next() {
        for extra in programs {
            let message = format!(
                "a second program is declared; a config holds exactly one (the first is at {})",
                first.position(&[])
            );
            diagnostics.push(extra.source.diagnostic(extra.node, message));
        }
    }

    let mut first_by_key: HashMap<(Kind, &str), &Entry> = HashMap::new();
    for entry in entries.iter().filter(|e| e.kind != Kind::Program) {
        let Some(key) = entry.key() else { continue };
        let id = (entry.kind, key);
        if let Some(first) = first_by_key.get(&id) {
            let message = format!(
                "duplicate {} key `{key}`; it is first declared at {}",
                id.0.noun(),
                first.position(&[Seg::Key("key")])
            );
            diagnostics.extend(entry.diagnostic(Problem::new(vec![Seg::Key("key")], message)));
        } else {
            first_by_key.insert(id, entry);
        }
    }

    // A previous key must name no current resource and be claimed only once, or a
    // rename would be ambiguous.
    let mut claimed: HashMap<(Kind, &str), (&Entry, usize)> = HashMap::new();
    for entry in entries {
        let Some(resource) = &entry.resource else {
            continue;
        };
        let kind = entry.kind;
        for (i, old) in resource.previously().iter().enumerate() {
            let path = vec![Seg::Key("previously"), Seg::Index(i)];
            if !entry.sound(&path) {
                continue;
            }
            let message = if let Some(current) = first_by_key.get(&(kind, old.as_str())) {
                if std::ptr::eq(*current, entry) {
                    continue; // reported by the resource check
                }
                format!(
                    "`{old}` cannot be a previous key: it is the key of the {} at {}",
                    kind.noun(),
                    current.position(&[Seg::Key("key")])
                )
            } else if let Some((other, j)) = claimed.get(&(kind, old.as_str())) {
                format!(
                    "`{old}` is already listed as a previous key at {}",
                    other.position(&[Seg::Key("previously"), Seg::Index(*j)])
                )
            } else {
                claimed.insert((kind, old.as_str()), (entry, i));
                continue;
            };
            diagnostics.extend(entry.diagnostic(Problem::new(path, message)));
        }
    }

    // A Stripe price names one product, or the Stripe source could not choose.
    let products: Vec<(&Entry, &crate::spec::Product)> = entries
        .iter()
        .filter_map(|e| match &e.resource {
            Some(Resource::Product(p)) => Some((e, p)),
            _ => None,
        })
        .collect();
    for clash in check::stripe_price_clashes(products.iter().map(|(_, p)| *p)) {
        let (entry, product) = products[clash.product];
        let (first, first_product) = products[clash.first_product];
        let first_path = vec![
            Seg::Key("stripe"),
            Seg::Key("prices"),
            Seg::Index(clash.first_index),
        ];
        if !first.sound(&first_path) {
            continue;
        }
        let message = if std::ptr::eq(entry, first) {
            format!(
                "Stripe price `{}` is listed twice on product `{}` (first at {})",
                clash.price,
                product.key,
                first.position(&first_path)
            )
        } else {
            format!(
                "Stripe price `{}` is already listed on product `{}` at {}: a price belongs to one product",
                clash.price,
                first_product.key,
                first.position(&first_path)
            )
        };
        diagnostics.extend(entry.diagnostic(Problem::new(clash.path(), message)));
    }

    for entry in entries {
        if let Some(resource) = &entry.resource {
            diagnostics.extend(
                check::check_references(resource, &declared)
                    .into_iter()
                    .filter_map(|p| entry.diagnostic(p)),
            );
        }
    }
}
