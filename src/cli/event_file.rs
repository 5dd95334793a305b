//! Reading a file of events a piece at a time, so sending a file of any size
//! holds one batch in memory: NDJSON a line at a time; a JSON array an
//! element at a time, each put on one line, with the line it starts on.

use std::io::{BufRead, ErrorKind};

/// One event's text (on one line) and the line of the file it starts on.
pub type Piece = (usize, String);

/// The events of an NDJSON stream: one per non-blank line.
pub struct Lines<R> {
    input: R,
    line: usize,
}

impl<R: BufRead> Lines<R> {
    pub fn new(input: R) -> Lines<R> {
        Lines { input, line: 0 }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = std::io::Result<Piece>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match self.input.read_until(b'\n', &mut buf) {
                Ok(0) => return None,
                Ok(_) => {
                    self.line += 1;
                    let text = String::from_utf8_lossy(&buf);
                    let text = text.trim_end_matches(['\n', '\r']);
                    // Editors on Windows start a UTF-8 file with a byte order mark.
                    let text = if self.line == 1 {
                        text.strip_prefix('\u{feff}').unwrap_or(text)
                    } else {
                        text
                    };
                    if !text.trim().is_empty() {
                        return Some(Ok((self.line, text.to_owned())));
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// The elements of a JSON array stream, split at the top level without
/// parsing them (the engine reads each): strings and escapes are followed so
/// a bracket or comma inside one does not split. A newline between tokens is
/// whitespace, so an element fits on one line by turning it into a space.
pub struct ArrayElements<R> {
    input: R,
    line: usize,
    started: bool,
    done: bool,
}

impl<R: BufRead> ArrayElements<R> {
    pub fn new(input: R) -> ArrayElements<R> {
        ArrayElements {
            input,
            line: 1,
            started: false,
            done: false,
        }
    }

    fn byte(&mut self) -> std::io::Result<Option<u8>> {
        loop {
            let b = match self.input.fill_buf() {
                Ok([]) => return Ok(None),
                Ok(buf) => buf[0],
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.input.consume(1);
            if b == b'\n' {
                self.line += 1;
            }
            return Ok(Some(b));
        }
    }

    fn bad(&self, what: &str) -> std::io::Error {
        std::io::Error::new(
            ErrorKind::InvalidData,
            format!(
                "line {}: the file is not a JSON array of events: {what}",
                self.line
            ),
        )
    }
}

impl<R: BufRead> Iterator for ArrayElements<R> {
    type Item = std::io::Result<Piece>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let result = (|| -> std::io::Result<Option<Piece>> {
            if !self.started {
                // Up to the opening bracket, past a byte order mark.
                loop {
                    match self.byte()? {
                        Some(b'[') => break,
                        Some(b) if b.is_ascii_whitespace() => {}
                        Some(0xEF | 0xBB | 0xBF) if self.line == 1 => {}
                        Some(_) => return Err(self.bad("it does not start with `[`")),
                        None => return Err(self.bad("it is empty")),
                    }
                }
                self.started = true;
            }
            // Skip whitespace and the comma before an element.
            let first = loop {
                match self.byte()? {
                    Some(b) if b.is_ascii_whitespace() || b == b',' => {}
                    Some(b']') => return Ok(None),
                    Some(b) => break b,
                    None => return Err(self.bad("it ends before its closing `]`")),
                }
            };
            let start = self.line;
            let mut text = vec![first];
            let (mut depth, mut in_string, mut escaped) = (0i64, false, false);
            let mut b = first;
            loop {
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => depth -= 1,
                        _ => {}
                    }
                }
                if depth == 0 && !in_string {
                    // A scalar element ends at the next comma or bracket.
                    if matches!(first, b'{' | b'[' | b'"') {
                        break;
                    }
                }
                let Some(next) = self.byte()? else {
                    return Err(self.bad("it ends inside an element"));
                };
                if depth == 0 && !in_string && matches!(next, b',' | b']') {
                    if next == b']' {
                        self.done = true;
                    }
                    break;
                }
                if depth < 0 {
                    return Err(self.bad("a bracket closes that was never opened"));
                }
                b = next;
                text.push(if matches!(b, b'\n' | b'\r') { b' ' } else { b });
            }
            let text = String::from_utf8_lossy(&text).trim_end().to_owned();
            Ok(Some((start, text)))
        })();
        match result {
            Ok(Some(piece)) => Some(Ok(piece)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array(text: &str) -> Vec<(usize, String)> {
        ArrayElements::new(text.as_bytes())
            .collect::<std::io::Result<Vec<_>>>()
            .unwrap()
    }

    #[test]
    fn splits_an_array_with_the_lines_elements_start_on() {
        let text =
            "\u{feff}[\n  {\"a\": \"x,]}\\\"\",\n   \"b\": [1, 2]},\n\n  {\"c\": 1}, 7, \"s\"\n]\n";
        assert_eq!(
            array(text),
            vec![
                (2, "{\"a\": \"x,]}\\\"\",    \"b\": [1, 2]}".to_owned()),
                (5, "{\"c\": 1}".to_owned()),
                (5, "7".to_owned()),
                (5, "\"s\"".to_owned()),
            ]
        );
        assert!(array("[]").is_empty());
        assert!(array(" [ ] ").is_empty());
    }

    #[test]
    fn says_where_an_array_goes_wrong() {
        let err = ArrayElements::new("[\n {\"a\": 1".as_bytes())
            .collect::<std::io::Result<Vec<_>>>()
            .unwrap_err();
        assert!(err.to_string().contains("ends inside an element"), "{err}");
        let err = ArrayElements::new("{}".as_bytes())
            .collect::<std::io::Result<Vec<_>>>()
            .unwrap_err();
        assert!(err.to_string().contains("does not start with `[`"), "{err}");
    }

    #[test]
    fn reads_ndjson_a_line_at_a_time() {
        let lines: Vec<_> = Lines::new("\u{feff}{\"a\":1}\r\n\n  \n{\"b\":2}".as_bytes())
            .collect::<std::io::Result<Vec<_>>>()
            .unwrap();
        assert_eq!(
            lines,
            vec![(1, "{\"a\":1}".to_owned()), (4, "{\"b\":2}".to_owned())]
        );
    }
}
