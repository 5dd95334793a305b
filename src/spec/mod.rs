//! The spec: the resource types a program is configured with.
//!
//! These types are the single definition shared by the YAML loader, the JSON Schema,
//! the HTTP API and the store, so a tag in a file, on the wire and in the database
//! compare equal when they mean the same thing.

pub mod address;
mod automation;
pub mod check;
mod commission;
mod days;
mod group;
pub mod money;
mod product;
mod program;
mod tag;
pub mod text;
mod transaction;
mod webhook;
mod whole;

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a key may be, for editors (the loader says why one is not: see
/// [`check::key_problem`]).
pub const KEY_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$";
pub use automation::{
    Action, Automation, DaysCondition, Metric, Milestone, SaleCondition, Trigger,
};
pub use commission::{
    AnyOf, Commission, CommissionEvent, CommissionTrigger, Compare, CreatedWithin, Drip, MemberOp,
    Rule, SetOp, Window,
};
pub use days::Days;
pub use group::Group;
pub use money::{Money, Percent, Threshold};
pub use product::{Product, ProductStatus, StripeProduct};
pub use program::{Payouts, Program};
pub use tag::Tag;
pub use transaction::TransactionKind;
pub use webhook::{EventType, Webhook};

fn yes() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_true(v: &bool) -> bool {
    *v
}

/// The kinds of resource, in dependency order: a kind only refers to kinds before it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Program,
    Group,
    Tag,
    Product,
    Webhook,
    Automation,
    CommissionTrigger,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Program,
        Kind::Group,
        Kind::Tag,
        Kind::Product,
        Kind::Webhook,
        Kind::Automation,
        Kind::CommissionTrigger,
    ];

    /// The top-level key of a config file that lists this kind.
    pub fn section(self) -> &'static str {
        match self {
            Kind::Program => "program",
            Kind::Group => "groups",
            Kind::Tag => "tags",
            Kind::Product => "products",
            Kind::Webhook => "webhooks",
            Kind::Automation => "automations",
            Kind::CommissionTrigger => "commission_triggers",
        }
    }

    pub fn from_section(section: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.section() == section)
    }

    /// As written in the JSON formats and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Program => "program",
            Kind::Group => "group",
            Kind::Tag => "tag",
            Kind::Product => "product",
            Kind::Webhook => "webhook",
            Kind::Automation => "automation",
            Kind::CommissionTrigger => "commission_trigger",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// For messages: "commission trigger".
    pub fn noun(self) -> &'static str {
        match self {
            Kind::CommissionTrigger => "commission trigger",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Any one resource, tagged with its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resource {
    Program(Program),
    Group(Group),
    Tag(Tag),
    Product(Product),
    Webhook(Webhook),
    Automation(Automation),
    CommissionTrigger(CommissionTrigger),
}

impl Resource {
    pub fn kind(&self) -> Kind {
        match self {
            Resource::Program(_) => Kind::Program,
            Resource::Group(_) => Kind::Group,
            Resource::Tag(_) => Kind::Tag,
            Resource::Product(_) => Kind::Product,
            Resource::Webhook(_) => Kind::Webhook,
            Resource::Automation(_) => Kind::Automation,
            Resource::CommissionTrigger(_) => Kind::CommissionTrigger,
        }
    }

    pub fn key(&self) -> &str {
        match self {
            Resource::Program(r) => &r.key,
            Resource::Group(r) => &r.key,
            Resource::Tag(r) => &r.key,
            Resource::Product(r) => &r.key,
            Resource::Webhook(r) => &r.key,
            Resource::Automation(r) => &r.key,
            Resource::CommissionTrigger(r) => &r.key,
        }
    }

    /// Keys this resource was known by before a rename.
    pub fn previously(&self) -> &[String] {
        match self {
            Resource::Program(_) => &[],
            Resource::Group(r) => &r.previously,
            Resource::Tag(r) => &r.previously,
            Resource::Product(r) => &r.previously,
            Resource::Webhook(r) => &r.previously,
            Resource::Automation(r) => &r.previously,
            Resource::CommissionTrigger(r) => &r.previously,
        }
    }

    /// Every amount of money the resource holds, with where it is: what a
    /// currency's decimals are checked against, and what is brought to its
    /// minor units.
    pub fn amounts_mut(&mut self) -> Vec<(Vec<check::Seg>, &mut Money)> {
        use check::Seg;
        let mut out = Vec::new();
        match self {
            Resource::Program(p) => {
                out.push((
                    vec![Seg::Key("payouts"), Seg::Key("minimum")],
                    &mut p.payouts.minimum,
                ));
            }
            Resource::Product(p) => {
                if let Some(price) = &mut p.price {
                    out.push((vec![Seg::Key("price")], price));
                }
            }
            Resource::Automation(a) => {
                if let Trigger::Milestone(m) = &mut a.when
                    && m.metric == Metric::Revenue
                {
                    out.push((
                        vec![
                            Seg::Key("when"),
                            Seg::Key("milestone"),
                            Seg::Key("at_least"),
                        ],
                        m.at_least.amount_mut(),
                    ));
                }
            }
            Resource::CommissionTrigger(t) => {
                if let Commission::Flat(m) = &mut t.commission {
                    out.push((vec![Seg::Key("commission"), Seg::Key("flat")], m));
                }
                for (i, rule) in t.rules.iter_mut().enumerate() {
                    if let Rule::TransactionAmount(c) = rule {
                        for (op, bound) in [
                            ("gt", &mut c.gt),
                            ("gte", &mut c.gte),
                            ("lt", &mut c.lt),
                            ("lte", &mut c.lte),
                        ] {
                            if let Some(m) = bound {
                                out.push((
                                    vec![
                                        Seg::Key("rules"),
                                        Seg::Index(i),
                                        Seg::Key("transaction.amount"),
                                        Seg::Key(op),
                                    ],
                                    m,
                                ));
                            }
                        }
                    }
                }
            }
            Resource::Group(_) | Resource::Tag(_) | Resource::Webhook(_) => {}
        }
        out
    }

    /// Brings every amount to the minor units of a currency of `exp`
    /// decimals; amounts with more decimals stay as they are (validation
    /// reports them).
    pub fn to_minor_units(&mut self, exp: u8) {
        for (_, m) in self.amounts_mut() {
            if let Some(n) = m.in_minor_units(exp) {
                *m = n;
            }
        }
    }

    /// The resource as the engine keeps it: without the `previously` planning
    /// hint, which only matches a rename.
    pub fn as_stored(&self) -> Resource {
        let mut r = self.clone();
        match &mut r {
            Resource::Program(_) => {}
            Resource::Group(g) => g.previously.clear(),
            Resource::Tag(t) => t.previously.clear(),
            Resource::Product(p) => p.previously.clear(),
            Resource::Webhook(w) => w.previously.clear(),
            Resource::Automation(a) => a.previously.clear(),
            Resource::CommissionTrigger(t) => t.previously.clear(),
        }
        r
    }
}

/// A whole program's configuration: what a config directory declares and what the
/// engine holds. Every list is sorted by key, so two configs that declare the same
/// resources compare equal whatever files they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub program: Program,
    pub groups: Vec<Group>,
    pub tags: Vec<Tag>,
    pub products: Vec<Product>,
    pub webhooks: Vec<Webhook>,
    pub automations: Vec<Automation>,
    pub commission_triggers: Vec<CommissionTrigger>,
}

impl Config {
    pub fn new(program: Program) -> Config {
        Config {
            program,
            groups: Vec::new(),
            tags: Vec::new(),
            products: Vec::new(),
            webhooks: Vec::new(),
            automations: Vec::new(),
            commission_triggers: Vec::new(),
        }
    }

    /// Builds a config from resources in any order; `None` without exactly one
    /// program. Every amount is brought to the currency's minor units, so
    /// amounts print alike whoever wrote them.
    pub fn from_resources(resources: impl IntoIterator<Item = Resource>) -> Option<Config> {
        let mut resources: Vec<Resource> = resources.into_iter().collect();
        let mut programs = resources.iter().filter_map(|r| match r {
            Resource::Program(p) => Some(p),
            _ => None,
        });
        let exp = programs
            .next()
            .and_then(|p| money::currency_exponent(&p.currency));
        if programs.next().is_some() {
            return None;
        }
        if let Some(exp) = exp {
            for r in &mut resources {
                r.to_minor_units(exp);
            }
        }
        let mut program = None;
        let mut doc = ConfigDocument::default();
        for resource in resources {
            match resource {
                Resource::Program(p) => program = Some(p),
                other => doc.push(other),
            }
        }
        let mut config = Config {
            program: program?,
            groups: doc.groups,
            tags: doc.tags,
            products: doc.products,
            webhooks: doc.webhooks,
            automations: doc.automations,
            commission_triggers: doc.commission_triggers,
        };
        config.sort();
        Some(config)
    }

    /// Every resource, program first, in dependency order and then by key.
    pub fn resources(&self) -> impl Iterator<Item = Resource> + '_ {
        std::iter::once(Resource::Program(self.program.clone()))
            .chain(self.groups.iter().cloned().map(Resource::Group))
            .chain(self.tags.iter().cloned().map(Resource::Tag))
            .chain(self.products.iter().cloned().map(Resource::Product))
            .chain(self.webhooks.iter().cloned().map(Resource::Webhook))
            .chain(self.automations.iter().cloned().map(Resource::Automation))
            .chain(
                self.commission_triggers
                    .iter()
                    .cloned()
                    .map(Resource::CommissionTrigger),
            )
    }

    /// Number of resources, the program included.
    pub fn len(&self) -> usize {
        1 + self.groups.len()
            + self.tags.len()
            + self.products.len()
            + self.webhooks.len()
            + self.automations.len()
            + self.commission_triggers.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn sort(&mut self) {
        self.groups.sort_by(|a, b| a.key.cmp(&b.key));
        self.tags.sort_by(|a, b| a.key.cmp(&b.key));
        self.products.sort_by(|a, b| a.key.cmp(&b.key));
        self.webhooks.sort_by(|a, b| a.key.cmp(&b.key));
        self.automations.sort_by(|a, b| a.key.cmp(&b.key));
        self.commission_triggers.sort_by(|a, b| a.key.cmp(&b.key));
    }

    /// Renames a tag, group or product everywhere this config declares or
    /// names it (an older config judged with the keys used now).
    pub fn rename_references(&mut self, kind: Kind, old: &str, new: &str) {
        let swap = |k: &mut String| {
            if k == old {
                new.clone_into(k);
            }
        };
        match kind {
            Kind::Tag => {
                self.tags.iter_mut().for_each(|t| swap(&mut t.key));
                for a in &mut self.automations {
                    for action in &mut a.then {
                        if let Some(tag) = action.tag_mut() {
                            swap(tag);
                        }
                    }
                }
            }
            Kind::Group => self.groups.iter_mut().for_each(|g| swap(&mut g.key)),
            Kind::Product => self.products.iter_mut().for_each(|p| swap(&mut p.key)),
            _ => return,
        }
        for t in &mut self.commission_triggers {
            for rule in &mut t.rules {
                match (kind, rule) {
                    (Kind::Tag, Rule::PartnerTag(op)) | (Kind::Group, Rule::PartnerGroup(op)) => {
                        op.values_mut().iter_mut().for_each(swap);
                    }
                    (Kind::Product, Rule::ProductKey(op)) => {
                        op.values_mut().iter_mut().for_each(swap);
                    }
                    _ => {}
                }
            }
        }
    }

    /// The whole config as one file's document.
    pub fn to_document(&self) -> ConfigDocument {
        ConfigDocument {
            program: Some(self.program.clone()),
            groups: self.groups.clone(),
            tags: self.tags.clone(),
            products: self.products.clone(),
            webhooks: self.webhooks.clone(),
            automations: self.automations.clone(),
            commission_triggers: self.commission_triggers.clone(),
        }
    }
}

/// One config file. Any file may hold any section; `program` appears in exactly one
/// file of a directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "partnerops config file")]
pub struct ConfigDocument {
    // The schema says what the loader reads: a program, when present, is a
    // program; a section left empty (`tags:`) is no section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Program")]
    pub program: Option<Program>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Option<Vec<Group>>")]
    pub groups: Vec<Group>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Option<Vec<Tag>>")]
    pub tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Option<Vec<Product>>")]
    pub products: Vec<Product>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Option<Vec<Webhook>>")]
    pub webhooks: Vec<Webhook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Option<Vec<Automation>>")]
    pub automations: Vec<Automation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Option<Vec<CommissionTrigger>>")]
    pub commission_triggers: Vec<CommissionTrigger>,
}

impl ConfigDocument {
    fn push(&mut self, resource: Resource) {
        match resource {
            Resource::Program(p) => self.program = Some(p),
            Resource::Group(r) => self.groups.push(r),
            Resource::Tag(r) => self.tags.push(r),
            Resource::Product(r) => self.products.push(r),
            Resource::Webhook(r) => self.webhooks.push(r),
            Resource::Automation(r) => self.automations.push(r),
            Resource::CommissionTrigger(r) => self.commission_triggers.push(r),
        }
    }
}
