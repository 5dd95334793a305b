//! The spec: the resource types a program is configured with.
//!
//! These types are the single definition shared by the YAML loader, the JSON Schema,
//! the HTTP API and the store, so a tag in a file, on the wire and in the database
//! compare equal when they mean the same thing.

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
pub use product::{Product, ProductStatus};
pub use program::Program;
pub use tag::Tag;
pub use transaction::TransactionKind;

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
    Automation,
    CommissionTrigger,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Program,
        Kind::Group,
        Kind::Tag,
        Kind::Product,
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
            Resource::Automation(r) => &r.previously,
            Resource::CommissionTrigger(r) => &r.previously,
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
            automations: Vec::new(),
            commission_triggers: Vec::new(),
        }
    }

    /// Builds a config from resources in any order; `None` without exactly one program.
    pub fn from_resources(resources: impl IntoIterator<Item = Resource>) -> Option<Config> {
        let mut program = None;
        let mut doc = ConfigDocument::default();
        for resource in resources {
            match resource {
                Resource::Program(p) => {
                    if program.replace(p).is_some() {
                        return None;
                    }
                }
                other => doc.push(other),
            }
        }
        let mut config = Config {
            program: program?,
            groups: doc.groups,
            tags: doc.tags,
            products: doc.products,
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
        self.automations.sort_by(|a, b| a.key.cmp(&b.key));
        self.commission_triggers.sort_by(|a, b| a.key.cmp(&b.key));
    }

    /// The whole config as one file's document.
    pub fn to_document(&self) -> ConfigDocument {
        ConfigDocument {
            program: Some(self.program.clone()),
            groups: self.groups.clone(),
            tags: self.tags.clone(),
            products: self.products.clone(),
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
            Resource::Automation(r) => self.automations.push(r),
            Resource::CommissionTrigger(r) => self.commission_triggers.push(r),
        }
    }
}
