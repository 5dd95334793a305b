//! `partnerops fmt`: config files in one canonical layout.
//!
//! The layout comes from pretty_yaml (the formatter behind dprint's YAML
//! plugin), which works on the concrete syntax tree and so keeps comments.
//! Formatting is only ever a change of layout: the result is parsed again and
//! must hold the same values and the same comments as the file did, or the
//! file is left as it is and the reason reported.

use pretty_yaml::config::{FormatOptions, LanguageOptions, LayoutOptions, LineBreak};
use yaml_parser::SyntaxKind;

use super::diagnostic::Diagnostic;
use super::node::{self, Node, Value};

/// The canonical layout: two-space indents, lines up to 100 characters, `\n`
/// line ends, double quotes where a string is quoted, flow collections
/// written `[ a, b ]` and `{ key: value }` (as DESIGN.md and the examples
/// write them), no trailing commas.
fn options() -> FormatOptions {
    FormatOptions {
        layout: LayoutOptions {
            print_width: 100,
            indent_width: 2,
            line_break: LineBreak::Lf,
        },
        language: LanguageOptions {
            trailing_comma: false,
            bracket_spacing: true,
            ..LanguageOptions::default()
        },
    }
}

/// `source` (the text of `file`) in the canonical layout.
pub fn format(file: &str, source: &str) -> Result<String, Diagnostic> {
    let before =
        node::parse(source).map_err(|e| Diagnostic::at(file, source, e.span, e.message.clone()))?;
    let formatted = pretty_yaml::format_text(source, &options()).map_err(|e| {
        Diagnostic::whole(
            file,
            format!("cannot be formatted: {}; left as it is", e.message()),
        )
    })?;
    let after = node::parse(&formatted).map_err(|e| {
        Diagnostic::whole(
            file,
            format!(
                "formatting would make it unreadable ({}); left as it is",
                e.message
            ),
        )
    })?;
    if !same(&before.root, &after.root) {
        return Err(Diagnostic::whole(
            file,
            "formatting would change what it says, not only how; left as it is",
        ));
    }
    if comments(source) != comments(&formatted) {
        return Err(Diagnostic::whole(
            file,
            "formatting would lose or change a comment; left as it is",
        ));
    }
    Ok(formatted)
}

/// Whether two trees hold the same values, wherever they were written.
fn same(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
        }
        // A float is compared by value: `1.50` may be written `1.5`.
        (Value::Float(x, _), Value::Float(y, _)) => x == y,
        (x, y) => x == y,
    }
}

/// The comments of a YAML text, in order, without trailing space.
fn comments(source: &str) -> Vec<String> {
    let Ok(tree) = yaml_parser::parse(source) else {
        return Vec::new();
    };
    tree.descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .filter(|t| t.kind() == SyntaxKind::COMMENT)
        .map(|t| t.text().trim_end().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_and_keeps_comments() {
        let source =
            "# the modeline\ntags:\n    -   key: gold   # a tier\n        description:   'Gold'\n";
        let out = format("t.yaml", source).unwrap();
        assert_eq!(
            out,
            "# the modeline\ntags:\n  - key: gold # a tier\n    description: \"Gold\"\n"
        );
        assert_eq!(format("t.yaml", &out).unwrap(), out, "formatting is stable");
    }

    #[test]
    fn a_syntax_error_names_its_place() {
        let e = format("t.yaml", "tags: [a, b\n").unwrap_err();
        assert_eq!(e.file, "t.yaml");
        assert!(e.line > 0, "{e}");
    }
}
