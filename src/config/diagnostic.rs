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
        let line = span
            .line
            .checked_sub(1)
            .and_then(|i| lines(source).nth(i as usize));
        Diagnostic::on_line(file, line, span, message)
    }

    /// A problem at `span`, whose line (`span.line`) reads `line`: for callers
    /// that index a file's lines once rather than per problem.
    pub fn on_line(
        file: impl Into<String>,
        line: Option<&str>,
        span: Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        let chars: Option<Vec<char>> = line.map(|l| l.trim_end().chars().collect());
        Diagnostic::on_chars(file, chars.as_deref(), span, message)
    }

    /// [`Diagnostic::on_line`] with the line's characters (trailing space
    /// trimmed) at hand: a long line with many problems is split into
    /// characters once, not once per problem.
    pub fn on_chars(
        file: impl Into<String>,
        chars: Option<&[char]>,
        span: Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line: span.line,
            column: span.column,
            message: message.into(),
            help: None,
            snippet: chars.map(|c| snippet(c, span)),
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

/// Source lines longer than this are shown as a window around the caret.
const MAX_SHOWN: usize = 120;

/// The lines of `text` as YAML counts them: ended by `\n`, `\r\n` or a lone
/// `\r`.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        match t.find(['\n', '\r']) {
            Some(i) => {
                let next = if t[i..].starts_with("\r\n") {
                    i + 2
                } else {
                    i + 1
                };
                rest = Some(&t[next..]);
                Some(&t[..i])
            }
            None => {
                rest = None;
                (!t.is_empty()).then_some(t)
            }
        }
    })
}

/// The longest quoted name (between backticks) a message shows whole.
const MAX_QUOTED: usize = 80;
/// The most of a message shown, whatever it quotes.
const MAX_MESSAGE: usize = 2_000;

/// A message or help as it may be printed on a terminal: control and
/// bidirectional characters escaped (a key holding ESC sequences must not
/// drive the terminal), every `quoted` name cut to [`MAX_QUOTED`]
/// characters, and the whole to [`MAX_MESSAGE`]. Messages quote whatever a
/// file holds, which may be a 10 MB section name.
fn tame(message: &str) -> String {
    let mut out = String::new();
    // Characters of the message kept, and of the quoted name being read.
    let mut kept = 0;
    let mut quoted: Option<usize> = None;
    for c in message.chars() {
        if kept == MAX_MESSAGE {
            out.push('…');
            break;
        }
        match (c, quoted.as_mut()) {
            ('`', Some(_)) => quoted = None,
            ('`', None) => quoted = Some(0),
            (_, Some(n)) => {
                *n += 1;
                if *n > MAX_QUOTED {
                    if *n == MAX_QUOTED + 1 {
                        out.push('…');
                    }
                    continue;
                }
            }
            (_, None) => {}
        }
        if c == '\n' {
            out.push(c);
        } else {
            crate::spec::text::push_shown(&mut out, c);
        }
        kept += 1;
    }
    out
}

fn snippet(chars: &[char], span: Span) -> Snippet {
    let snippet = window(chars, span);
    // Escapes take several characters: re-index the caret on the escaped text.
    let mut text = String::new();
    let (mut start, mut width) = (0, 0);
    for (i, c) in snippet.text.chars().enumerate() {
        let before = text.chars().count();
        if c == '\t' {
            text.push(c);
        } else {
            crate::spec::text::push_shown(&mut text, c);
        }
        let taken = text.chars().count() - before;
        if i < snippet.start {
            start += taken;
        } else if i < snippet.start + snippet.width {
            width += taken;
        }
    }
    Snippet {
        text,
        start,
        width: width.max(1),
    }
}

/// The line, or the window of a long one, around the span.
fn window(chars: &[char], span: Span) -> Snippet {
    let start = (span.column as usize).saturating_sub(1).min(chars.len());
    // A span may run past the line (a quoted scalar over two lines); the caret
    // stays on this line and is at least one character wide.
    let width = span.len.min(chars.len().saturating_sub(start)).max(1);
    if chars.len() <= MAX_SHOWN {
        return Snippet {
            text: chars.iter().collect(),
            start,
            width,
        };
    }
    // A generated or minified file can hold a whole config on one line; show
    // the caret with some context before it, marking what is cut.
    let width = width.min(MAX_SHOWN / 2);
    let from = start
        .saturating_sub(MAX_SHOWN / 4)
        .min(chars.len() - MAX_SHOWN);
    let to = from + MAX_SHOWN;
    let mut text = String::new();
    if from > 0 {
        text.push('…');
    }
    text.extend(&chars[from..to]);
    if to < chars.len() {
        text.push('…');
    }
    Snippet {
        text,
        start: start - from + usize::from(from > 0),
        width,
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {}",
            crate::spec::text::shown(&self.location(), MAX_MESSAGE),
            tame(&self.message)
        )?;
        // The gutter is as wide as the line number, like rustc's.
        let pad = " ".repeat(self.line.to_string().len());
        if let Some(s) = &self.snippet {
            let number = self.line.to_string();
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
            writeln!(f, "{pad} = help: {}", tame(help))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_a_window_of_a_long_line() {
        let source = format!(
            "tags: [{}{{ key: gold, nmae: Gold }}{}]\n",
            "x, ".repeat(500),
            ", y".repeat(500)
        );
        let column = source.find("nmae").unwrap() + 1;
        let span = Span {
            line: 1,
            column: u32::try_from(column).unwrap(),
            len: 4,
        };
        let text = Diagnostic::at("c.yaml", &source, span, "unknown field").to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].starts_with("1 | …"), "{text}");
        assert!(
            lines[2].ends_with("y, y…") || lines[2].ends_with(", y…"),
            "{text}"
        );
        assert_eq!(lines[2].chars().count(), "1 | ".len() + MAX_SHOWN + 2);
        let caret = lines[3].chars().position(|c| c == '^').unwrap();
        let under: String = lines[2].chars().skip(caret).take(4).collect();
        assert_eq!(under, "nmae", "{text}");
        assert_eq!(lines[3].matches('^').count(), 4);

        let end = format!("{}nmae", "x".repeat(300));
        let span = Span {
            line: 1,
            column: 301,
            len: 4,
        };
        let text = Diagnostic::at("c.yaml", &end, span, "m").to_string();
        assert!(text.contains("| …xxx"), "{text}");
        assert!(text.contains("xnmae\n"), "{text}");
    }

    #[test]
    fn escapes_terminal_sequences_and_cuts_long_names() {
        let source = "tags:\n  - key: \u{1b}]0;owned\u{7}x\n";
        let span = Span {
            line: 2,
            column: 10,
            len: 10,
        };
        let message = "invalid key `\u{1b}]0;owned\u{7}x`";
        let text = Diagnostic::at("c.yaml", source, span, message).to_string();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(
            text.contains("invalid key `\\u{1b}]0;owned\\u{7}x`"),
            "{text}"
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "2 |   - key: \\u{1b}]0;owned\\u{7}x");
        // The caret covers the escaped text.
        assert_eq!(lines[3], "  |          ^^^^^^^^^^^^^^^^^^^");

        let huge = format!(
            "unknown section `{}`; expected one of `tags`",
            "s".repeat(10_000_000)
        );
        let text = Diagnostic::whole("c.yaml", huge).to_string();
        assert!(text.len() < 300, "{}", text.len());
        assert!(text.ends_with("…`; expected one of `tags`\n"), "{text}");
    }

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
