//! A YAML document as a tree of nodes that remember where they were written.
//!
//! serde-saphyr reads the YAML (anchors, aliases, merge keys, duplicate-key checks)
//! and gives each node its location through `Spanned`. We keep that tree rather
//! than deserializing straight into the spec so that every error, from a type
//! mismatch deep in a rule to a reference checked after loading, can point at the
//! exact line and column, and so that one bad resource does not hide the others.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// Where a node was written: 1-based line and column, and its extent in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub line: u32,
    pub column: u32,
    pub offset: usize,
    pub len: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    /// A float keeps its literal so decimals can be read exactly.
    Float(f64, String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// For messages: "a string", "a list".
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(..) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value at `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }
}

/// A syntax error, with where the parser stopped.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub message: String,
    pub span: Span,
}

/// Parses one YAML document. An empty document is `Null`.
pub fn parse(source: &str) -> Result<Node, SyntaxError> {
    let options = serde_saphyr::options! {
        // YAML 1.2: `yes`, `no`, `on` are strings, not booleans (the Norway problem).
        strict_booleans: true,
        // `01` and `1_000` are keys or names, not numbers.
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        with_snippet: false,
    };
    if source.trim().is_empty() {
        return Ok(Node {
            value: Value::Null,
            span: Span {
                line: 1,
                column: 1,
                ..Span::default()
            },
        });
    }
    let raw: Spanned<Raw> = serde_saphyr::from_str_with_options(source, options).map_err(|e| {
        let span = e.location().map_or(
            Span {
                line: 1,
                column: 1,
                ..Span::default()
            },
            |l| span_of(&l, source),
        );
        SyntaxError {
            message: syntax_message(&e),
            span,
        }
    })?;
    Ok(convert(raw, source))
}

/// serde-saphyr appends "at line X, column Y" to its messages; we print the
/// location ourselves.
fn syntax_message(error: &serde_saphyr::Error) -> String {
    let text = error.without_snippet().to_string();
    let text = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => &text,
    };
    let text = text
        .strip_suffix(", set DuplicateKeyPolicy in Options if acceptable")
        .unwrap_or(text);
    text.to_owned()
}

fn span_of(location: &serde_saphyr::Location, source: &str) -> Span {
    let line = u32::try_from(location.line()).unwrap_or(u32::MAX);
    let column = u32::try_from(location.column()).unwrap_or(u32::MAX);
    let s = location.span();
    let (offset, len) = match (s.byte_offset(), s.byte_len()) {
        (Some(o), Some(l)) => (usize::try_from(o).unwrap_or(0), usize::try_from(l).unwrap_or(0)),
        _ => (line_column_offset(source, line, column), 0),
    };
    Span {
        line,
        column,
        offset: offset.min(source.len()),
        len,
    }
}

fn line_column_offset(source: &str, line: u32, column: u32) -> usize {
    let start: usize = source
        .split_inclusive('\n')
        .take(line.saturating_sub(1) as usize)
        .map(str::len)
        .sum();
    let rest = &source[start.min(source.len())..];
    start
        + rest
            .char_indices()
            .nth(column.saturating_sub(1) as usize)
            .map_or(rest.len(), |(i, _)| i)
}

fn convert(raw: Spanned<Raw>, source: &str) -> Node {
    let span = span_of(&raw.referenced, source);
    let value = match raw.value {
        Raw::Null => Value::Null,
        Raw::Bool(b) => Value::Bool(b),
        Raw::Int(i) => Value::Int(i),
        Raw::Float(f) => {
            let literal = source
                .get(span.offset..span.offset + span.len)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map_or_else(|| f.to_string(), str::to_owned);
            Value::Float(f, literal)
        }
        Raw::Str(s) => Value::Str(s),
        Raw::Seq(items) => Value::Seq(items.into_iter().map(|n| convert(n, source)).collect()),
        Raw::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (convert(k, source), convert(v, source)))
                .collect(),
        ),
    };
    Node { value, span }
}

/// What serde-saphyr hands us, before spans are converted.
enum Raw {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RawVisitor;

        impl<'de> Visitor<'de> for RawVisitor {
            type Value = Raw;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }

            fn visit_unit<E>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }

            fn visit_none<E>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
                d.deserialize_any(self)
            }

            fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
                Ok(Raw::Bool(v))
            }

            fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
                Ok(Raw::Int(v.into()))
            }

            fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
                Ok(Raw::Int(v.into()))
            }

            fn visit_i128<E>(self, v: i128) -> Result<Raw, E> {
                Ok(Raw::Int(v))
            }

            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Raw, E> {
                i128::try_from(v)
                    .map(Raw::Int)
                    .map_err(|_| E::custom("integer is too large"))
            }

            fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
                Ok(Raw::Float(v))
            }

            fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
                Ok(Raw::Str(v.to_owned()))
            }

            fn visit_string<E>(self, v: String) -> Result<Raw, E> {
                Ok(Raw::Str(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Raw::Seq(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Raw::Map(entries))
            }
        }

        d.deserialize_any(RawVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_locations_and_literals() {
        let doc = parse("tags:\n  - { key: gold, price: 19.999 }\n  - key: yes\n").unwrap();
        let tags = doc.get("tags").unwrap();
        let first = &tags.items()[0];
        let price = first.get("price").unwrap();
        assert_eq!((price.span.line, price.span.column), (2, 27));
        assert!(matches!(&price.value, Value::Float(_, lit) if lit == "19.999"));
        assert_eq!(tags.items()[1].get("key").unwrap().as_str(), Some("yes"));
    }

    #[test]
    fn reports_syntax_errors_with_location() {
        let err = parse("tags:\n  - key: a\n   bad: [\n").unwrap_err();
        assert_eq!(err.span.line, 3);
        assert!(!err.message.contains("at line"), "{}", err.message);
    }
}
