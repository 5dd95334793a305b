//! A serde deserializer over [`Node`]s whose errors carry the span of the node that
//! caused them, with messages written for people editing YAML.

use std::fmt::{self, Display};

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, Expected, IntoDeserializer, MapAccess,
    SeqAccess, Unexpected, VariantAccess, Visitor,
};

use super::node::{Node, Span, Value};
use crate::spec::money::DECIMAL_TOKEN;
use crate::suggest::did_you_mean;

/// Deserializes a spec type from a node.
pub fn from_node<T: DeserializeOwned>(node: &Node) -> Result<T, DeError> {
    T::deserialize(NodeDe(node)).map_err(|e| e.at(node.span))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeError {
    pub message: String,
    pub span: Option<Span>,
    /// Set while an unknown name travels up to the struct or enum that knows what
    /// the name was for, which then words the message.
    unknown: Option<Unknown>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Unknown {
    Field(String, &'static [&'static str]),
    Variant(String, &'static [&'static str]),
    Missing(&'static str),
}

impl DeError {
    fn new(message: impl Into<String>) -> DeError {
        DeError {
            message: message.into(),
            span: None,
            unknown: None,
        }
    }

    fn at(mut self, span: Span) -> DeError {
        if self.span.is_none() {
            self.span = Some(span);
        }
        self
    }

    /// Words an unknown field or variant for the type that was being read.
    fn in_context(mut self, type_name: &str, is_enum: bool) -> DeError {
        match self.unknown.take() {
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
            other => self.unknown = other,
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
        DeError::new(format!("expected {exp}, found {}", describe(&unexp)))
    }

    fn invalid_value(unexp: Unexpected, exp: &dyn Expected) -> Self {
        DeError::new(format!(
            "invalid value {}; expected {exp}",
            describe(&unexp)
        ))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let mut e = DeError::new(unknown_message(
            &format!("field `{field}`"),
            field,
            expected,
        ));
        e.unknown = Some(Unknown::Field(field.to_owned(), expected));
        e
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let mut e = DeError::new(unknown_message(
            &format!("name `{variant}`"),
            variant,
            expected,
        ));
        e.unknown = Some(Unknown::Variant(variant.to_owned(), expected));
        e
    }

    fn missing_field(field: &'static str) -> Self {
        let mut e = DeError::new(format!("missing field `{field}`"));
        e.unknown = Some(Unknown::Missing(field));
        e
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
        other => other.to_string(),
    }
}

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
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
    }
}

struct NodeDe<'a>(&'a Node);

impl<'a> NodeDe<'a> {
    fn scalar_text(&self) -> Option<std::borrow::Cow<'a, str>> {
        self.0.scalar_text()
    }

    fn type_error(&self, exp: &dyn Expected) -> DeError {
        de::Error::invalid_type(unexpected(&self.0.value), exp)
    }
}

macro_rules! forward_to_any {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
                self.deserialize_any(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = self.0.span;
        match &self.0.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => match i64::try_from(*i) {
                Ok(i) => visitor.visit_i64(i),
                Err(_) => visitor.visit_i128(*i),
            },
            Value::Float(f, _) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_str(s),
            Value::Seq(items) => visitor.visit_seq(SeqDe(items.iter())),
            Value::Map(entries) => visitor.visit_map(MapDe::new(entries)),
        }
        .map_err(|e| e.at(span))
    }

    forward_to_any! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.0.value {
            Value::Bool(b) => visitor
                .visit_bool(*b)
                .map_err(|e: DeError| e.at(self.0.span)),
            other => Err(DeError::new(format!(
                "expected true or false, found {}",
                other.describe()
            ))
            .at(self.0.span)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar_text() {
            Some(text) => visitor
                .visit_str(&text)
                .map_err(|e: DeError| e.at(self.0.span)),
            None => Err(self.type_error(&visitor).at(self.0.span)),
        }
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
        Err(self.type_error(&visitor).at(self.0.span))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.0.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.0.value {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.type_error(&visitor).at(self.0.span)),
        }
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
        let span = self.0.span;
        if name == DECIMAL_TOKEN {
            return match &self.0.value {
                Value::Int(_) | Value::Float(..) | Value::Str(_) => {
                    let text = self.scalar_text().unwrap_or_default();
                    visitor.visit_str(&text)
                }
                _ => Err(self.type_error(&visitor)),
            }
            .map_err(|e| e.at(span));
        }
        visitor.visit_newtype_struct(self).map_err(|e| e.at(span))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.0.value {
            Value::Seq(items) => visitor.visit_seq(SeqDe(items.iter())),
            other => Err(DeError::new(format!(
                "expected a list, found {}",
                other.describe()
            ))),
        }
        .map_err(|e| e.at(self.0.span))
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
        match &self.0.value {
            Value::Map(entries) => visitor.visit_map(MapDe::new(entries)),
            Value::Null => visitor.visit_map(MapDe::new(&[])),
            _ => Err(self.type_error(&visitor)),
        }
        .map_err(|e| e.at(self.0.span))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let result = match &self.0.value {
            Value::Map(entries) => visitor.visit_map(MapDe::new(entries)),
            // `sale:` with nothing after it reads as `sale: {}`.
            Value::Null => visitor.visit_map(MapDe::new(&[])),
            other => Err(DeError::new(format!(
                "expected a mapping for {} (with {}), found {}",
                humanize(name),
                fields
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                other.describe()
            ))),
        };
        result.map_err(|e| e.at(self.0.span).in_context(name, false))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let node = self.0;
        let result = match &node.value {
            Value::Str(_) => visitor.visit_enum(Variant {
                key: node,
                value: None,
            }),
            Value::Map(entries) if entries.len() == 1 => visitor.visit_enum(Variant {
                key: &entries[0].0,
                value: Some(&entries[0].1),
            }),
            other => {
                let found = match other {
                    Value::Map(entries) if entries.is_empty() => "an empty mapping".to_owned(),
                    Value::Map(entries) => format!("a mapping with {} keys", entries.len()),
                    other => other.describe().to_owned(),
                };
                Err(DeError::new(format!(
                    "expected a {} ({}), found {found}",
                    enum_noun(name),
                    one_of(variants)
                )))
            }
        };
        result.map_err(|e| e.at(node.span).in_context(name, true))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct SeqDe<'a>(std::slice::Iter<'a, Node>);

impl<'de> SeqAccess<'de> for SeqDe<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.0.next() {
            Some(node) => seed
                .deserialize(NodeDe(node))
                .map(Some)
                .map_err(|e| e.at(node.span)),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
}

impl<'a> MapDe<'a> {
    fn new(entries: &'a [(Node, Node)]) -> MapDe<'a> {
        MapDe {
            entries: entries.iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for MapDe<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(NodeDe(key))
                    .map(Some)
                    .map_err(|e| e.at(key.span))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let value = self
            .value
            .take()
            .ok_or_else(|| DeError::new("a mapping value was read twice"))?;
        seed.deserialize(NodeDe(value))
            .map_err(|e| e.at(value.span))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum written as a name (`partner_joined`) or a one-key mapping
/// (`{ milestone: {...} }`).
struct Variant<'a> {
    key: &'a Node,
    value: Option<&'a Node>,
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
                        .at(self.key.span),
                );
            }
        };
        let variant = seed
            .deserialize(name.into_deserializer())
            .map_err(|e: DeError| e.at(self.key.span))?;
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
                .at(value.span))
            }
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        match self.value {
            Some(value) => seed
                .deserialize(NodeDe(value))
                .map_err(|e| e.at(value.span)),
            None => Err(self.needs_value()),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Some(value) => de::Deserializer::deserialize_seq(NodeDe(value), visitor),
            None => Err(self.needs_value()),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Some(value) => de::Deserializer::deserialize_struct(NodeDe(value), "", fields, visitor),
            None => Err(self.needs_value()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::node::parse;
    use crate::spec::{Automation, Money, Tag};

    fn err<T: DeserializeOwned + fmt::Debug>(yaml: &str) -> (String, u32, u32) {
        let node = parse(yaml).unwrap();
        let e = from_node::<T>(&node).unwrap_err();
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
        let node = parse("19.99").unwrap();
        assert_eq!(from_node::<Money>(&node).unwrap(), Money(1999));
        let node = parse("19.999").unwrap();
        assert!(
            from_node::<Money>(&node)
                .unwrap_err()
                .message
                .contains("more than two decimals")
        );
    }
}
