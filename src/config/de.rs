//! A serde deserializer over [`Node`]s whose errors carry the span of the node that
//! caused them, with messages written for people editing YAML.
//!
//! Each error also names the node to patch so that a second pass gets past it
//! (see [`super::partial`]): serde stops at the first error, and a user should
//! see every mistake in a resource at once.

use std::fmt::{self, Display};

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, Expected, IntoDeserializer, MapAccess,
    SeqAccess, Unexpected, VariantAccess, Visitor,
};

use super::hole::Hole;
use super::node::{Node, Span, Value};
use super::partial::{Patch, Patches, id};
use crate::spec::money::DECIMAL_TOKEN;
use crate::suggest::did_you_mean;

/// Deserializes a spec type from a node, reading patched nodes as holes.
pub fn deserialize<T: DeserializeOwned>(node: &Node, patches: &Patches) -> Result<T, DeError> {
    T::deserialize(NodeDe::new(node, patches)).map_err(|e| e.at_node(node))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeError {
    pub message: String,
    pub span: Option<Span>,
    /// The node whose patch lets the next pass continue, and the patch.
    pub culprit: Option<(usize, Patch)>,
    /// The mistake was already reported in other words (a missing field whose
    /// misspelling was reported as unknown).
    pub already_reported: bool,
    /// Set while an unknown name travels up to the struct or enum that knows what
    /// the name was for, which then words the message.
    unknown: Option<Box<Unknown>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Unknown {
    Field(String, &'static [&'static str]),
    Variant(String, &'static [&'static str]),
    Missing(&'static str),
}

impl DeError {
    pub(super) fn new(message: impl Into<String>) -> DeError {
        DeError {
            message: message.into(),
            span: None,
            culprit: None,
            already_reported: false,
            unknown: None,
        }
    }

    fn at(mut self, span: Span) -> DeError {
        if self.span.is_none() {
            self.span = Some(span);
        }
        self
    }

    /// Places an error that `node`, the innermost node it passed, caused: a
    /// missing field is patched in as a hole, an unknown field is dropped, and
    /// anything else makes the node a hole.
    fn at_node(self, node: &Node) -> DeError {
        let patch = match self.unknown.as_deref() {
            Some(Unknown::Missing(field)) => Patch::Add(field),
            // Only a mapping key is read as a field name.
            Some(Unknown::Field(..)) => Patch::Drop,
            _ => Patch::Hole,
        };
        self.blame(node, patch)
    }

    /// Places an error in a mapping key: the entry is dropped on the next pass.
    fn at_key(self, key: &Node) -> DeError {
        self.blame(key, Patch::Drop)
    }

    fn blame(mut self, node: &Node, patch: Patch) -> DeError {
        if self.culprit.is_none() {
            self.culprit = Some((id(node), patch));
        }
        self.at(node.span)
    }

    /// Words an unknown field or variant for the type that was being read.
    fn in_context(mut self, type_name: &str, is_enum: bool) -> DeError {
        match self.unknown.take().map(|u| *u) {
            Some(Unknown::Field(field, expected)) if !is_enum => {
                self.message = unknown_message(
                    &format!("field `{field}` in {}", humanize(type_name)),
                    &field,
                    expected,
                );
            }
            Some(Unknown::Variant(variant, expected)) if is_enum => {
                self.message = unknown_message(
                    &format!("{} `{variant}`", enum_noun(type_name)),
                    &variant,
                    expected,
                );
            }
            Some(Unknown::Missing(field)) if !is_enum && !type_name.is_empty() => {
                self.message = format!("{} is missing field `{field}`", humanize(type_name));
            }
            other => self.unknown = other.map(Box::new),
        }
        self
    }
}

fn unknown_message(what: &str, name: &str, expected: &[&str]) -> String {
    let mut message = format!("unknown {what}");
    if let Some(suggestion) = did_you_mean(name, expected.iter().copied()) {
        message.push_str(&format!(" (did you mean `{suggestion}`?)"));
    }
    if !expected.is_empty() {
        message.push_str("; expected ");
        message.push_str(&one_of(expected));
    }
    message
}

fn one_of(names: &[&str]) -> String {
    match names {
        [one] => format!("`{one}`"),
        _ => format!(
            "one of {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// "CommissionTrigger" → "commission trigger".
fn humanize(type_name: &str) -> String {
    let mut out = String::new();
    for (i, c) in type_name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

fn enum_noun(type_name: &str) -> String {
    match type_name {
        "Rule" => "rule subject".to_owned(),
        "SetOp" | "MemberOp" | "AnyOf" => "operator".to_owned(),
        "Commission" => "commission type".to_owned(),
        "CommissionEvent" => "event".to_owned(),
        "EventType" => "message type".to_owned(),
        other => humanize(other),
    }
}

impl Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: Display>(msg: T) -> Self {
        DeError::new(msg.to_string())
    }

    fn invalid_type(unexp: Unexpected, exp: &dyn Expected) -> Self {
        DeError::new(format!(
            "expected {}, found {}",
            plain_expected(exp),
            describe(&unexp)
        ))
    }

    fn invalid_value(unexp: Unexpected, exp: &dyn Expected) -> Self {
        DeError::new(format!(
            "invalid value {}; expected {}",
            describe(&unexp),
            plain_expected(exp)
        ))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let mut e = DeError::new(unknown_message(
            &format!("field `{field}`"),
            field,
            expected,
        ));
        e.unknown = Some(Box::new(Unknown::Field(field.to_owned(), expected)));
        e
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let mut e = DeError::new(unknown_message(
            &format!("name `{variant}`"),
            variant,
            expected,
        ));
        e.unknown = Some(Box::new(Unknown::Variant(variant.to_owned(), expected)));
        e
    }

    fn missing_field(field: &'static str) -> Self {
        let mut e = DeError::new(format!("missing field `{field}`"));
        e.unknown = Some(Box::new(Unknown::Missing(field)));
        e
    }
}

/// serde names Rust's number types ("u32") where a field has no words of its own.
fn plain_expected(exp: &dyn Expected) -> String {
    let text = exp.to_string();
    let range = |min: i128, max: i128| format!("a whole number from {min} to {max}");
    match text.as_str() {
        "u8" => range(0, u8::MAX.into()),
        "u16" => range(0, u16::MAX.into()),
        "u32" => range(0, u32::MAX.into()),
        "u64" | "usize" => range(0, u64::MAX.into()),
        "i8" => range(i8::MIN.into(), i8::MAX.into()),
        "i16" => range(i16::MIN.into(), i16::MAX.into()),
        "i32" => range(i32::MIN.into(), i32::MAX.into()),
        "i64" | "isize" => range(i64::MIN.into(), i64::MAX.into()),
        "f32" | "f64" => "a number".to_owned(),
        _ => text,
    }
}

/// serde's words ("map", "sequence") in YAML's words.
fn describe(unexp: &Unexpected) -> String {
    match unexp {
        Unexpected::Str(s) => format!("the string `{s}`"),
        Unexpected::Seq => "a list".to_owned(),
        Unexpected::Map => "a mapping".to_owned(),
        Unexpected::Unit => "nothing (null)".to_owned(),
        Unexpected::Bool(b) => format!("`{b}`"),
        Unexpected::Signed(i) => format!("`{i}`"),
        Unexpected::Unsigned(u) => format!("`{u}`"),
        Unexpected::Float(f) => format!("`{f}`"),
        // serde describes a number past 64 bits as "integer `N` as i128".
        Unexpected::Other(other) => other
            .strip_prefix("integer ")
            .and_then(|n| n.rsplit_once(" as ").map(|(n, _)| n.to_owned()))
            .unwrap_or_else(|| (*other).to_owned()),
        other => other.to_string(),
    }
}

/// A node, or a hole where a patch says the node's mistake was already reported.
struct NodeDe<'a> {
    node: Option<&'a Node>,
    patches: &'a Patches,
}

impl<'a> NodeDe<'a> {
    fn new(node: &'a Node, patches: &'a Patches) -> NodeDe<'a> {
        NodeDe {
            node: (!patches.is_hole(node)).then_some(node),
            patches,
        }
    }
}

fn type_error(node: &Node, exp: &dyn Expected) -> DeError {
    let unexp = match &node.value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Int(i) => match i64::try_from(*i) {
            Ok(i) => Unexpected::Signed(i),
            Err(_) => Unexpected::Other("a very large integer"),
        },
        Value::Float(f, _) => Unexpected::Float(*f),
        Value::Str(s) => Unexpected::Str(s),
        Value::Seq(_) => Unexpected::Seq,
        Value::Map(_) => Unexpected::Map,
    };
    de::Error::invalid_type(unexp, exp)
}

/// The node to read, or what a hole reads as.
macro_rules! node_or_hole {
    ($self:ident, $method:ident($($arg:expr),*)) => {
        match $self.node {
            Some(node) => node,
            None => return de::Deserializer::$method(Hole, $($arg),*),
        }
    };
}

macro_rules! forward_to_any {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
                node_or_hole!(self, $method(visitor));
                self.deserialize_any(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = node_or_hole!(self, deserialize_any(visitor));
        match &node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => match i64::try_from(*i) {
                Ok(i) => visitor.visit_i64(i),
                Err(_) => match u64::try_from(*i) {
                    Ok(u) => visitor.visit_u64(u),
                    Err(_) => visitor.visit_i128(*i),
                },
            },
            Value::Float(f, _) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_str(s),
            Value::Seq(_) => visitor.visit_seq(SeqDe::new(node, self.patches)),
            Value::Map(_) => visitor.visit_map(MapDe::new(node, self.patches)),
        }
        .map_err(|e| e.at_node(node))
    }

    forward_to_any! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = node_or_hole!(self, deserialize_bool(visitor));
        match &node.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            other => Err(DeError::new(format!(
                "expected true or false, found {}",
                other.describe()
            ))),
        }
        .map_err(|e| e.at_node(node))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = node_or_hole!(self, deserialize_str(visitor));
        match node.scalar_text() {
            Some(text) => visitor.visit_str(&text),
            None => Err(type_error(node, &visitor)),
        }
        .map_err(|e| e.at_node(node))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = node_or_hole!(self, deserialize_bytes(visitor));
        Err(type_error(node, &visitor).at_node(node))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = node_or_hole!(self, deserialize_option(visitor));
        match &node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = node_or_hole!(self, deserialize_unit(visitor));
        match &node.value {
            Value::Null => visitor.visit_unit(),
            _ => Err(type_error(node, &visitor)),
        }
        .map_err(|e| e.at_node(node))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let node = node_or_hole!(self, deserialize_newtype_struct(name, visitor));
        if name == DECIMAL_TOKEN {
            return match &node.value {
                Value::Int(_) | Value::Float(..) | Value::Str(_) => {
                    let text = node.scalar_text().unwrap_or_default();
                    visitor.visit_str(&text)
                }
                _ => Err(type_error(node, &visitor)),
            }
            .map_err(|e| e.at_node(node));
        }
        visitor
            .visit_newtype_struct(self)
            .map_err(|e| e.at_node(node))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = node_or_hole!(self, deserialize_seq(visitor));
        match &node.value {
            Value::Seq(_) => visitor.visit_seq(SeqDe::new(node, self.patches)),
            other => Err(DeError::new(format!(
                "expected a list, found {}",
                other.describe()
            ))),
        }
        .map_err(|e| e.at_node(node))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = node_or_hole!(self, deserialize_map(visitor));
        match &node.value {
            Value::Map(_) | Value::Null => visitor.visit_map(MapDe::new(node, self.patches)),
            _ => Err(type_error(node, &visitor)),
        }
        .map_err(|e| e.at_node(node))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let node = node_or_hole!(self, deserialize_struct(name, fields, visitor));
        let expected = |found: &str| {
            let what = if name.is_empty() {
                String::new()
            } else {
                format!(" for {}", humanize(name))
            };
            let fields = fields
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ");
            DeError::new(format!(
                "expected a mapping{what} (with {fields}), found {found}"
            ))
        };
        let result = match &node.value {
            Value::Map(_) => visitor.visit_map(MapDe::new(node, self.patches)),
            // `sale:` with nothing after it reads as `sale: {}`; where a field is
            // required, nothing is a missing mapping rather than a missing field.
            Value::Null => match visitor.visit_map(MapDe::new(node, self.patches)) {
                Err(e) if matches!(e.unknown.as_deref(), Some(Unknown::Missing(_))) => {
                    Err(expected(node.value.describe()))
                }
                other => other,
            },
            other => Err(expected(other.describe())),
        };
        result.map_err(|e| {
            let mut e = e.at_node(node).in_context(name, false);
            if let Some((_, Patch::Add(field))) = e.culprit {
                e.already_reported |= self.patches.dropped_near(node, field);
            }
            e
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let node = node_or_hole!(self, deserialize_enum(name, variants, visitor));
        let patches = self.patches;
        let result = match &node.value {
            Value::Str(_) => visitor.visit_enum(Variant {
                node,
                key: node,
                value: None,
                patches,
            }),
            Value::Map(entries) if entries.len() == 1 => visitor.visit_enum(Variant {
                node,
                key: &entries[0].0,
                value: Some(&entries[0].1),
                patches,
            }),
            other => {
                let found = match other {
                    Value::Map(entries) if entries.is_empty() => "an empty mapping".to_owned(),
                    Value::Map(entries) => {
                        format!(
                            "a mapping with {}",
                            crate::plural::count(entries.len(), "key")
                        )
                    }
                    other => other.describe().to_owned(),
                };
                let noun = enum_noun(name);
                let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                Err(DeError::new(format!(
                    "expected {article} {noun} ({}), found {found}",
                    one_of(variants)
                )))
            }
        };
        result.map_err(|e| e.at_node(node).in_context(name, true))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct SeqDe<'a> {
    items: std::slice::Iter<'a, Node>,
    patches: &'a Patches,
}

impl<'a> SeqDe<'a> {
    fn new(node: &'a Node, patches: &'a Patches) -> SeqDe<'a> {
        SeqDe {
            items: node.items().iter(),
            patches,
        }
    }
}

impl<'de> SeqAccess<'de> for SeqDe<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some(node) => seed
                .deserialize(NodeDe::new(node, self.patches))
                .map(Some)
                .map_err(|e| e.at_node(node)),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// A mapping's entries, without those whose key was dropped, then the fields
/// patched in as holes.
struct MapDe<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    added: std::slice::Iter<'a, &'static str>,
    /// The value for the key just read; `Some(None)` for a patched-in field.
    value: Option<Option<&'a Node>>,
    patches: &'a Patches,
}

impl<'a> MapDe<'a> {
    fn new(node: &'a Node, patches: &'a Patches) -> MapDe<'a> {
        MapDe {
            entries: node.entries().iter(),
            added: patches.added(node).iter(),
            value: None,
            patches,
        }
    }
}

impl<'de> MapAccess<'de> for MapDe<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        for (key, value) in self.entries.by_ref() {
            if self.patches.is_dropped(key) {
                continue;
            }
            self.value = Some(Some(value));
            return seed
                .deserialize(NodeDe::new(key, self.patches))
                .map(Some)
                .map_err(|e| e.at_key(key));
        }
        match self.added.next() {
            Some(field) => {
                self.value = Some(None);
                seed.deserialize(field.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some(Some(value)) => seed
                .deserialize(NodeDe::new(value, self.patches))
                .map_err(|e| e.at_node(value)),
            Some(None) => seed.deserialize(Hole),
            None => Err(DeError::new("a mapping value was read twice")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len() + self.added.len())
    }
}

/// An enum written as a name (`partner_joined`) or a one-key mapping
/// (`{ milestone: {...} }`).
struct Variant<'a> {
    /// The whole enum: what becomes a hole when the name or its settings are wrong.
    node: &'a Node,
    key: &'a Node,
    value: Option<&'a Node>,
    patches: &'a Patches,
}

impl<'de, 'a> EnumAccess<'de> for Variant<'a> {
    type Error = DeError;
    type Variant = Variant<'a>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Variant<'a>), DeError> {
        let name = match &self.key.value {
            Value::Str(s) => s.as_str(),
            other => {
                return Err(
                    DeError::new(format!("expected a name, found {}", other.describe()))
                        .at(self.key.span)
                        .blame(self.node, Patch::Hole),
                );
            }
        };
        let variant = seed
            .deserialize(name.into_deserializer())
            .map_err(|e: DeError| e.at(self.key.span).blame(self.node, Patch::Hole))?;
        Ok((variant, self))
    }
}

impl Variant<'_> {
    fn name(&self) -> &str {
        self.key.as_str().unwrap_or_default()
    }

    fn needs_value(&self) -> DeError {
        let name = self.name();
        DeError::new(format!(
            "`{name}` needs settings: write it as a mapping, `{{ {name}: ... }}`"
        ))
        .at(self.key.span)
        .blame(self.node, Patch::Hole)
    }
}

impl<'de> VariantAccess<'de> for Variant<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.value {
            None => Ok(()),
            Some(Node {
                value: Value::Null, ..
            }) => Ok(()),
            Some(value) => {
                let name = self.name();
                Err(DeError::new(format!(
                    "`{name}` takes no settings: write it as a plain name, `{name}`"
                ))
                .at(value.span)
                .blame(self.node, Patch::Hole))
            }
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        match self.value {
            Some(value) => seed
                .deserialize(NodeDe::new(value, self.patches))
                .map_err(|e| e.at_node(value)),
            None => Err(self.needs_value()),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Some(value) => {
                de::Deserializer::deserialize_seq(NodeDe::new(value, self.patches), visitor)
            }
            None => Err(self.needs_value()),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Some(value) => de::Deserializer::deserialize_struct(
                NodeDe::new(value, self.patches),
                "",
                fields,
                visitor,
            ),
            None => Err(self.needs_value()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::config::node::parse;
    use crate::spec::{Automation, Money, Tag};

    fn read<T: DeserializeOwned>(yaml: &str) -> Result<T, DeError> {
        deserialize::<T>(&parse(yaml).unwrap().root, &Patches::default())
    }

    fn err<T: DeserializeOwned + fmt::Debug>(yaml: &str) -> (String, u32, u32) {
        let e = read::<T>(yaml).unwrap_err();
        let span = e.span.unwrap();
        (e.message, span.line, span.column)
    }

    #[test]
    fn unknown_field_points_at_the_key() {
        let (msg, line, col) = err::<Tag>("key: gold\nnmae: Gold\n");
        assert_eq!((line, col), (2, 1));
        assert!(
            msg.starts_with("unknown field `nmae` in tag (did you mean `name`?)"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_trigger_is_named() {
        let (msg, line, col) = err::<Automation>("key: a\nwhen: partner_join\nthen: []\n");
        assert_eq!((line, col), (2, 7));
        assert!(
            msg.starts_with("unknown trigger `partner_join` (did you mean `partner_joined`?)"),
            "{msg}"
        );
    }

    #[test]
    fn money_is_read_from_the_literal() {
        assert_eq!(read::<Money>("19.99").unwrap(), Money::from_cents(1999));
        assert_eq!(read::<Money>("1.125").unwrap(), Money::new(1125, 3));
        assert!(
            read::<Money>("19.99999")
                .unwrap_err()
                .message
                .contains("more than 4 decimals")
        );
    }

    #[test]
    fn nothing_where_a_mapping_is_required_is_a_missing_mapping() {
        let (msg, _, _) = err::<Tag>("~");
        assert_eq!(
            msg,
            "expected a mapping for tag (with `key`, `name`, `description`, `previously`), found nothing (null)"
        );
    }

    /// A field with no words of its own still reads as plain language.
    #[test]
    fn rust_number_types_are_not_named() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)] // read only for its errors
        struct Counts {
            small: u8,
            big: u32,
        }
        let (msg, _, _) = err::<Counts>("{ small: 300, big: 1 }");
        assert_eq!(
            msg,
            "invalid value `300`; expected a whole number from 0 to 255"
        );
        let (msg, _, _) = err::<Counts>("{ small: 1, big: 99999999999999999999999 }");
        assert_eq!(
            msg,
            "expected a whole number from 0 to 4294967295, found `99999999999999999999999`"
        );
    }
}
