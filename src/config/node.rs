//! A YAML document as a tree of nodes that remember where they were written.
//!
//! We keep this tree rather than deserializing straight into the spec so that every
//! error, from a type mismatch deep in a rule to a reference checked after loading,
//! can point at the exact line and column, and so that one bad resource does not
//! hide the others. The tree is built from granit-parser's events (the parser under
//! serde-saphyr): going through serde-saphyr's `Spanned` for every node cost three
//! times as much, and `validate` of 10,000 resources must stay under 100 ms.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use granit_parser::{Event, Parser, ScalarStyle, Tag};

/// Where a node was written: 1-based line and column, and its length in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub line: u32,
    pub column: u32,
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

impl Node {
    fn respan(&mut self, span: Span) {
        self.span = span;
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| n.respan(span)),
            Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                k.respan(span);
                v.respan(span);
            }),
            _ => {}
        }
    }
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

    /// The text of a scalar: strings as is, numbers as written.
    pub fn scalar_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match &self.value {
            Value::Str(s) => Some(s.as_str().into()),
            Value::Int(i) => Some(i.to_string().into()),
            Value::Float(_, literal) => Some(literal.as_str().into()),
            Value::Bool(b) => Some(b.to_string().into()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// What a copy of this subtree costs, for bounding alias expansion: a
    /// node each, and a node more for every 64 bytes of text, so one long
    /// string copied many times is bounded like many nodes.
    fn weight(&self) -> usize {
        1 + match &self.value {
            Value::Seq(items) => items.iter().map(Node::weight).sum(),
            Value::Map(entries) => entries.iter().map(|(k, v)| k.weight() + v.weight()).sum(),
            Value::Str(s) | Value::Float(_, s) => s.len() / 64,
            _ => 0,
        }
    }
}

/// A syntax error, with where the parser stopped.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub message: String,
    pub span: Span,
}

/// Copies of anchored nodes aliases may create in one load of a config, all
/// its files together (see [`Node::weight`]); a guard against "billion
/// laughs" documents, which would otherwise cost this much per file.
pub const MAX_ALIAS_NODES: usize = 1_000_000;

/// What is left of [`MAX_ALIAS_NODES`] for the files of one load, shared by
/// the threads that parse them.
#[derive(Debug)]
pub struct AliasBudget {
    left: AtomicUsize,
    refused: AtomicBool,
}

impl Default for AliasBudget {
    fn default() -> AliasBudget {
        AliasBudget {
            left: AtomicUsize::new(MAX_ALIAS_NODES),
            refused: AtomicBool::new(false),
        }
    }
}

impl AliasBudget {
    /// Takes `weight` off the budget, or nothing when less is left.
    fn take(&self, weight: usize) -> bool {
        let taken = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(weight)
            })
            .is_ok();
        if !taken {
            self.refused.store(true, Ordering::Relaxed);
        }
        taken
    }

    /// Whether some parse was refused for want of budget.
    pub fn refused(&self) -> bool {
        self.refused.load(Ordering::Relaxed)
    }
}

/// A parsed document, and the mistakes that did not stop the parse.
#[derive(Debug)]
pub struct Parsed {
    pub root: Node,
    /// Repeated mapping keys; the first occurrence is kept.
    pub duplicates: Vec<SyntaxError>,
}

/// Parses one YAML document (YAML 1.2 core schema) with a budget of its own
/// (`fmt` reads one file at a time). An empty document is `Null`.
pub fn parse(source: &str) -> Result<Parsed, SyntaxError> {
    parse_within(source, &AliasBudget::default())
}

/// [`parse`], taking what aliases copy off `budget`, which the other files
/// of the same config share.
pub fn parse_within(source: &str, budget: &AliasBudget) -> Result<Parsed, SyntaxError> {
    let mut builder = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        documents: 0,
        budget,
        duplicates: Vec::new(),
    };
    for item in Parser::new_from_str(source) {
        let (event, span) = item.map_err(|e| SyntaxError {
            message: e.info().to_owned(),
            span: marker_span(e.marker(), 1),
        })?;
        builder.event(event, span)?;
    }
    Ok(Parsed {
        root: builder.root.unwrap_or(Node {
            value: Value::Null,
            span: Span {
                line: 1,
                column: 1,
                len: 0,
            },
        }),
        duplicates: builder.duplicates,
    })
}

fn marker_span(marker: &granit_parser::Marker, len: usize) -> Span {
    Span {
        line: u32::try_from(marker.line()).unwrap_or(u32::MAX),
        column: u32::try_from(marker.col() + 1).unwrap_or(u32::MAX),
        len,
    }
}

fn span_of(span: &granit_parser::Span) -> Span {
    let len = span.end.index().saturating_sub(span.start.index());
    marker_span(&span.start, len)
}

enum Frame {
    Seq {
        items: Vec<Node>,
        span: Span,
        anchor: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<Key>,
        span: Span,
        anchor: usize,
    },
}

/// A mapping key waiting for its value.
enum Key {
    New(Node),
    /// A repeat: its value is read and thrown away.
    Repeat,
}

struct Builder<'b> {
    stack: Vec<Frame>,
    /// Each anchored node, with its weight.
    anchors: HashMap<usize, (Node, usize)>,
    root: Option<Node>,
    documents: usize,
    budget: &'b AliasBudget,
    duplicates: Vec<SyntaxError>,
}

impl Builder<'_> {
    fn event(&mut self, event: Event<'_>, span: granit_parser::Span) -> Result<(), SyntaxError> {
        let here = span_of(&span);
        let error = |message: String| SyntaxError {
            message,
            span: here,
        };
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(error(
                        "a config file holds one YAML document; split the others into their own files"
                            .to_owned(),
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = resolve(&text, style, tag.as_deref()).map_err(error)?;
                self.complete(Node { value, span: here }, anchor)?;
            }
            Event::SequenceStart(_, anchor, _) => self.stack.push(Frame::Seq {
                items: Vec::new(),
                span: Span { len: 1, ..here },
                anchor,
            }),
            Event::MappingStart(_, anchor, _) => self.stack.push(Frame::Map {
                entries: Vec::new(),
                key: None,
                span: Span { len: 1, ..here },
                anchor,
            }),
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    items,
                    span,
                    anchor,
                }) = self.stack.pop()
                {
                    self.complete(
                        Node {
                            value: Value::Seq(items),
                            span,
                        },
                        anchor,
                    )?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    entries,
                    span,
                    anchor,
                    ..
                }) = self.stack.pop()
                {
                    let entries =
                        merge(entries).map_err(|(message, span)| SyntaxError { message, span })?;
                    self.complete(
                        Node {
                            value: Value::Map(entries),
                            span,
                        },
                        anchor,
                    )?;
                }
            }
            Event::Alias(id) => {
                let Some((target, weight)) = self.anchors.get(&id) else {
                    return Err(error("alias to an unknown anchor".to_owned()));
                };
                if !self.budget.take(*weight) {
                    return Err(error(format!(
                        "aliases expand to more than {MAX_ALIAS_NODES} nodes (counting every file of the config); use fewer or smaller aliases"
                    )));
                }
                let mut copy = target.clone();
                // A mistake in the copy is shown where the alias uses it: at
                // the anchor it would read as the anchor's own mistake, and
                // a duplicate would point at its own first declaration.
                copy.respan(here);
                self.complete(copy, 0)?;
            }
            Event::UnresolvedAlias(name) => {
                return Err(error(format!("alias `*{name}` has no anchor before it")));
            }
            _ => {}
        }
        Ok(())
    }

    fn complete(&mut self, node: Node, anchor: usize) -> Result<(), SyntaxError> {
        if anchor != 0 {
            let weight = node.weight();
            self.anchors.insert(anchor, (node.clone(), weight));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => {
                    *key = Some(match entries.iter().find(|(k, _)| k.value == node.value) {
                        Some((first, _)) => {
                            self.duplicates.push(SyntaxError {
                                message: format!(
                                    "duplicate key `{}` in this mapping; it is first at line {}",
                                    node.scalar_text().unwrap_or_default(),
                                    first.span.line
                                ),
                                span: node.span,
                            });
                            Key::Repeat
                        }
                        None => Key::New(node),
                    });
                }
                Some(Key::New(k)) => entries.push((k, node)),
                Some(Key::Repeat) => {}
            },
        }
        Ok(())
    }
}

/// Applies YAML merge keys (`<<: *defaults`): entries of the merged mappings that
/// the mapping does not set itself.
fn merge(entries: Vec<(Node, Node)>) -> Result<Vec<(Node, Node)>, (String, Span)> {
    if !entries.iter().any(|(k, _)| k.as_str() == Some("<<")) {
        return Ok(entries);
    }
    let (merges, mut own): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|(k, _)| k.as_str() == Some("<<"));
    for (_, source) in merges {
        let maps = match source.value {
            Value::Map(m) => vec![m],
            Value::Seq(items) => items
                .into_iter()
                .map(|n| match n.value {
                    Value::Map(m) => Ok(m),
                    _ => Err(("`<<` merges mappings only".to_owned(), n.span)),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(("`<<` merges mappings only".to_owned(), source.span)),
        };
        for map in maps {
            for (k, v) in map {
                if !own.iter().any(|(o, _)| o.value == k.value) {
                    own.push((k, v));
                }
            }
        }
    }
    Ok(own)
}

/// The YAML 1.2 core schema, with two departures that suit config files: a number
/// with a leading zero (`007`) or underscores (`1_000`) stays text, as it is
/// usually a key or code; and YAML 1.1 booleans (`yes`, `on`) are text.
fn resolve(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(tag) = tag {
        let resolved = match tag.core_suffix() {
            Some("str") => Some(Value::Str(text.to_owned())),
            Some("null") => Some(Value::Null),
            Some("bool" | "int" | "float") => None,
            _ => return Err(format!("unsupported tag `{}`", tag.original())),
        };
        if let Some(value) = resolved {
            return Ok(value);
        }
        let value = resolve_plain(text);
        let ok = matches!(
            (tag.core_suffix(), &value),
            (Some("bool"), Value::Bool(_))
                | (Some("int"), Value::Int(_))
                | (Some("float"), Value::Float(..) | Value::Int(_))
        );
        return if ok {
            Ok(value)
        } else {
            Err(format!("`{text}` is not a valid `{}`", tag.original()))
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::Str(text.to_owned()));
    }
    Ok(resolve_plain(text))
}

fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY, text.to_owned());
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY, text.to_owned()),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN, text.to_owned()),
        _ => {}
    }
    let bytes = text.as_bytes();
    let first = bytes[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Value::Str(text.to_owned());
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if let Some(hex) = unsigned.strip_prefix("0x")
        && text == unsigned
        && let Ok(i) = i128::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    if let Some(oct) = unsigned.strip_prefix("0o")
        && text == unsigned
        && let Ok(i) = i128::from_str_radix(oct, 8)
    {
        return Value::Int(i);
    }
    let leading_zero =
        unsigned.len() > 1 && unsigned.starts_with('0') && !unsigned.starts_with("0.");
    if leading_zero && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return Value::Str(text.to_owned());
    }
    if !unsigned.is_empty()
        && unsigned.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = text.parse::<i128>()
    {
        return Value::Int(i);
    }
    if is_float(unsigned)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f, text.to_owned());
    }
    Value::Str(text.to_owned())
}

/// `( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_float(unsigned: &str) -> bool {
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(whole) && digits(frac) && !(whole.is_empty() && frac.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_locations_and_literals() {
        let doc = parse("tags:\n  - { key: gold, price: 19.999 }\n  - key: yes\n")
            .unwrap()
            .root;
        let tags = doc.get("tags").unwrap();
        let first = &tags.items()[0];
        let price = first.get("price").unwrap();
        assert_eq!((price.span.line, price.span.column), (2, 25));
        assert!(matches!(&price.value, Value::Float(_, lit) if lit == "19.999"));
        assert_eq!(tags.items()[1].get("key").unwrap().as_str(), Some("yes"));
    }

    #[test]
    fn reports_syntax_errors_with_location() {
        let err = parse("tags:\n  - key: a\n   bad: [\n").unwrap_err();
        assert_eq!(err.span.line, 3);
        assert!(!err.message.contains("at line"), "{}", err.message);
    }

    #[test]
    fn resolves_scalars_like_yaml_1_2_for_configs() {
        let doc = parse(
            "[yes, on, 007, 1_000, 0x1F, -5, 1e3, 19.90, .5, '12', true, ~, null, .inf, 1.2.3]",
        )
        .unwrap()
        .root;
        let values: Vec<&Value> = doc.items().iter().map(|n| &n.value).collect();
        assert_eq!(values[0], &Value::Str("yes".into()));
        assert_eq!(values[1], &Value::Str("on".into()));
        assert_eq!(values[2], &Value::Str("007".into()));
        assert_eq!(values[3], &Value::Str("1_000".into()));
        assert_eq!(values[4], &Value::Int(31));
        assert_eq!(values[5], &Value::Int(-5));
        assert!(matches!(values[6], Value::Float(f, _) if *f == 1000.0));
        assert!(matches!(values[7], Value::Float(_, lit) if lit == "19.90"));
        assert!(matches!(values[8], Value::Float(f, _) if *f == 0.5));
        assert_eq!(values[9], &Value::Str("12".into()));
        assert_eq!(values[10], &Value::Bool(true));
        assert_eq!(values[11], &Value::Null);
        assert_eq!(values[12], &Value::Null);
        assert!(matches!(values[13], Value::Float(f, _) if f.is_infinite()));
        assert_eq!(values[14], &Value::Str("1.2.3".into()));
    }

    #[test]
    fn expands_anchors_aliases_and_merge_keys() {
        let doc = parse("base: &b { currency: USD, name: A }\nprogram:\n  <<: *b\n  name: B\n")
            .unwrap()
            .root;
        let program = doc.get("program").unwrap();
        assert_eq!(program.get("name").unwrap().as_str(), Some("B"));
        assert_eq!(program.get("currency").unwrap().as_str(), Some("USD"));
        assert!(program.get("<<").is_none());
    }

    #[test]
    fn reports_duplicate_keys_and_keeps_the_first() {
        let parsed = parse("a: 1\nb: 2\na: [3]\nc: { d: 1, d: 2 }\n").unwrap();
        let found: Vec<(u32, u32, &str)> = parsed
            .duplicates
            .iter()
            .map(|e| (e.span.line, e.span.column, e.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    3,
                    1,
                    "duplicate key `a` in this mapping; it is first at line 1"
                ),
                (
                    4,
                    12,
                    "duplicate key `d` in this mapping; it is first at line 4"
                ),
            ]
        );
        assert_eq!(parsed.root.get("a").unwrap().value, Value::Int(1));
        assert_eq!(parsed.root.entries().len(), 3);
        assert!(parsed.root.get("c").unwrap().get("d").is_some());
    }

    #[test]
    fn refuses_alias_bombs() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 {
                "a".to_owned()
            } else {
                format!("l{}", i - 1)
            };
            bomb.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert!(parse(&bomb).unwrap_err().message.contains("aliases expand"));
    }

    #[test]
    fn one_document_per_file() {
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
    }
}
