//! Errors found in config files, printed the way compilers print them:
//! `file:line:column: message`, the source line, and a caret under the culprit.

use std::fmt;

use serde::Serialize;

use super::node::Span;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file as the user named it (the directory joined with the file's path).
    pub file: String,
    /// 1-based; 0 when the problem is with the whole file or directory.
    pub line: u32,
    pub column: u32,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip)]
    snippet: Option<Snippet>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Snippet {
    text: String,
    /// Characters before the caret, and caret width, in characters.
    start: usize,
    width: usize,
}

impl Diagnostic {
    /// A problem with a whole file or directory, with no position in it.
    pub fn whole(file: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line: 0,
            column: 0,
            message: message.into(),
            help: None,
            snippet: None,
        }
    }

    /// A problem at `span` in `source`.
    pub fn at(
        file: impl Into<String>,
        source: &str,
        span: Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line: span.line,
            column: span.column,
            message: message.into(),
            help: None,
            snippet: snippet(source, span),
        }
    }

    #[must_use]
    pub fn with_help(mut self, help: Option<String>) -> Diagnostic {
        self.help = help;
        self
    }

    fn location(&self) -> String {
        if self.line == 0 {
            self.file.clone()
        } else {
            format!("{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

fn snippet(source: &str, span: Span) -> Option<Snippet> {
    let text = source.lines().nth(span.line.checked_sub(1)? as usize)?;
    let start = (span.column as usize)
        .saturating_sub(1)
        .min(text.chars().count());
    // A span may run past the line (a quoted scalar over two lines); the caret
    // stays on this line and is at least one character wide.
    let width = span.len.min(text.chars().count() - start).max(1);
    Some(Snippet {
        text: text.trim_end().to_owned(),
        start,
        width,
    })
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.location(), self.message)?;
        if let Some(s) = &self.snippet {
            let number = self.line.to_string();
            let pad = " ".repeat(number.len());
            writeln!(f, "{pad} |")?;
            writeln!(f, "{number} | {}", s.text)?;
            let indent: String = s
                .text
                .chars()
                .take(s.start)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            writeln!(f, "{pad} | {indent}{}", "^".repeat(s.width))?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "  = help: {help}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_line_and_caret() {
        let source = "tags:\n  - key: gold\n    nmae: Gold\n";
        let span = Span {
            line: 3,
            column: 5,
            len: 4,
        };
        let d = Diagnostic::at("c/tags.yaml", source, span, "unknown field `nmae`")
            .with_help(Some("did you mean `name`?".into()));
        assert_eq!(
            d.to_string(),
            "c/tags.yaml:3:5: unknown field `nmae`\n  |\n3 |     nmae: Gold\n  |     ^^^^\n  = help: did you mean `name`?\n"
        );
    }
}
