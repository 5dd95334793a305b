//! Loading a config directory: every `*.yaml` / `*.yml` below it, merged into one
//! [`Config`], or every problem found, each with its file, line and column.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;
use serde::de::DeserializeOwned;

use super::checks::{self, Entry};
use super::diagnostic::{self, Diagnostic};
use super::node::{self, Node, Span, Value};
use super::partial::{self, Partial};
use crate::spec::{Config, Kind, Resource};
use crate::suggest::did_you_mean;

/// Loads and checks the config at `path` (a directory, or a single file).
pub fn load(path: &Path) -> Result<Config, Vec<Diagnostic>> {
    let Discovered { files, diagnostics } = discover(path);
    let read = |(file, display): &(PathBuf, String), budget: &node::AliasBudget| {
        let bytes = std::fs::read(file)
            .map_err(|e| Diagnostic::whole(display, format!("cannot read: {e}")))?;
        Source::from_bytes(bytes, display.clone(), budget)
    };
    let names: Vec<&str> = files.iter().map(|(_, d)| d.as_str()).collect();
    load_from(
        &path.display().to_string(),
        &files,
        &names,
        read,
        diagnostics,
    )
}

/// Loads and checks a config given as files in memory, `(name, bytes)` in
/// the order a directory would list them: what the fuzzer drives.
pub fn load_texts(root: &str, files: &[(String, Vec<u8>)]) -> Result<Config, Vec<Diagnostic>> {
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    let read = |(name, bytes): &(String, Vec<u8>), budget: &node::AliasBudget| {
        Source::from_bytes(bytes.clone(), name.clone(), budget)
    };
    load_from(root, files, &names, read, Vec::new())
}

fn load_from<F: Sync>(
    root: &str,
    files: &[F],
    names: &[&str],
    read: impl Fn(&F, &node::AliasBudget) -> Result<Source, Diagnostic> + Sync,
    mut diagnostics: Vec<Diagnostic>,
) -> Result<Config, Vec<Diagnostic>> {
    // Files are independent until the cross-file checks, so they are read, parsed
    // and deserialized in parallel.
    let budget = node::AliasBudget::default();
    let mut read_files: Vec<Result<Source, Diagnostic>> =
        files.par_iter().map(|f| read(f, &budget)).collect();
    if budget.refused() {
        // Aliases spent the budget all files share. Which file found it
        // spent depends on how the threads ran: read again one file at a
        // time, in path order, so the same files are refused every time.
        drop(read_files);
        let budget = node::AliasBudget::default();
        read_files = files.iter().map(|f| read(f, &budget)).collect();
    }
    let read = read_files;
    // Sections a file that could not be read may have held: what they
    // declare is unknown, so a reference to it is not called undeclared.
    let mut unread: HashSet<&'static str> = HashSet::new();
    // A directory that could not be read may hold any of it.
    if !diagnostics.is_empty() {
        unread.extend(Kind::ALL.map(Kind::section));
    }
    let mut sources = Vec::new();
    for result in read {
        match result {
            Ok(source) => sources.push(source),
            Err(d) => {
                unread.extend(Kind::ALL.map(Kind::section));
                diagnostics.push(d);
            }
        }
    }

    let mut entries = Vec::new();
    for collected in sources.par_iter().map(collect).collect::<Vec<_>>() {
        entries.extend(collected.entries);
        diagnostics.extend(collected.diagnostics);
        unread.extend(collected.unread);
    }
    checks::check(&entries, &unread, &mut diagnostics);

    let programs = entries.iter().filter(|e| e.kind == Kind::Program).count();
    if programs == 0 && !unread.contains(Kind::Program.section()) && !files.is_empty() {
        diagnostics.push(
            Diagnostic::whole(root, "no program is declared").with_help(Some(
                "add `program: { key: ..., name: ..., currency: USD, timezone: UTC }` to one file"
                    .to_owned(),
            )),
        );
    }

    if !diagnostics.is_empty() {
        // Files in path order, positions in order within a file; problems with
        // paths outside the files read (a directory loop) after them.
        let order: HashMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, display)| (*display, i))
            .collect();
        diagnostics.sort_by(|a, b| {
            let key = |d: &Diagnostic| order.get(d.file.as_str()).copied().unwrap_or(usize::MAX);
            (key(a), &a.file, a.line, a.column).cmp(&(key(b), &b.file, b.line, b.column))
        });
        return Err(diagnostics);
    }
    Ok(
        Config::from_resources(entries.into_iter().filter_map(|e| e.resource))
            .expect("exactly one program, every resource loaded: checked above"),
    )
}

/// The YAML files of a config, sorted, each with the name to show for it, and
/// what could not be read while looking for them.
struct Discovered {
    files: Vec<(PathBuf, String)>,
    diagnostics: Vec<Diagnostic>,
}

fn discover(path: &Path) -> Discovered {
    let shown = path.display().to_string();
    let mut found = Discovered {
        files: Vec::new(),
        diagnostics: Vec::new(),
    };
    match std::fs::metadata(path) {
        Err(e) => found
            .diagnostics
            .push(Diagnostic::whole(&shown, e.to_string())),
        Ok(meta) if meta.is_file() => found.files.push((path.to_path_buf(), shown)),
        Ok(_) => {
            let mut files = Vec::new();
            let mut seen = HashMap::new();
            walk(path, &mut seen, &mut files, &mut found.diagnostics);
            if files.is_empty() && found.diagnostics.is_empty() {
                found
                    .diagnostics
                    .push(Diagnostic::whole(shown, "no *.yaml or *.yml files here"));
            }
            files.sort();
            found.files = files
                .into_iter()
                .map(|f| {
                    let display = f.display().to_string();
                    (f, display)
                })
                .collect();
        }
    }
    found
}

/// Every file `load` would read below `dir`, sorted; the first thing that
/// cannot be read is an error.
pub fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let mut files = Vec::new();
    let mut diagnostics = Vec::new();
    walk(dir, &mut HashMap::new(), &mut files, &mut diagnostics);
    if let Some(d) = diagnostics.into_iter().next() {
        return Err(d);
    }
    files.sort();
    Ok(files)
}

/// Collects the YAML files below `dir`. `seen` maps each directory read, by its
/// real path, to the path it was read through, so a symbolic link back up the
/// tree is reported instead of read again and again.
fn walk(
    dir: &Path,
    seen: &mut HashMap<PathBuf, PathBuf>,
    files: &mut Vec<PathBuf>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let cannot = |path: &Path, e: std::io::Error| {
        Diagnostic::whole(path.display().to_string(), format!("cannot read: {e}"))
    };
    match std::fs::canonicalize(dir) {
        Ok(real) => {
            if let Some(first) = seen.get(&real) {
                diagnostics.push(Diagnostic::whole(
                    dir.display().to_string(),
                    format!(
                        "a directory loop: this is `{}` again, through a symbolic link; remove the link or point it elsewhere",
                        first.display()
                    ),
                ));
                return;
            }
            seen.insert(real, dir.to_path_buf());
        }
        Err(e) => return diagnostics.push(cannot(dir, e)),
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return diagnostics.push(cannot(dir, e)),
    };
    // Sorted so that what is reported about the entries does not depend on the
    // order the file system lists them in.
    let mut paths = Vec::new();
    for entry in entries {
        match entry {
            // Hidden entries hold tool state (.git, .partnerops), never config.
            Ok(entry) if entry.file_name().to_string_lossy().starts_with('.') => {}
            Ok(entry) => paths.push(entry.path()),
            Err(e) => diagnostics.push(cannot(dir, e)),
        }
    }
    paths.sort();
    for path in paths {
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk(&path, seen, files, diagnostics),
            Ok(meta) => {
                let yaml = matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                );
                if yaml && meta.is_file() {
                    files.push(path);
                } else if yaml {
                    // A pipe or device would be read forever, or never.
                    diagnostics.push(Diagnostic::whole(
                        path.display().to_string(),
                        "not a regular file; a config file must be one",
                    ));
                }
            }
            Err(e) => diagnostics.push(cannot(&path, e)),
        }
    }
}

/// Lines longer than this (in bytes) are split into characters once per file.
const LONG_LINE: usize = 1024;

pub(super) struct Source {
    pub display: String,
    text: String,
    /// Where each line starts and ends in `text`: a file with many problems
    /// finds each one's line without reading the file again.
    lines: Vec<(usize, usize)>,
    /// The characters of long lines that problems were found on, split once.
    long_lines: Mutex<HashMap<usize, Arc<[char]>>>,
    root: Node,
    /// Mistakes found while parsing that did not stop it.
    diagnostics: Vec<Diagnostic>,
}

impl Source {
    fn from_bytes(
        bytes: Vec<u8>,
        display: String,
        budget: &node::AliasBudget,
    ) -> Result<Source, Diagnostic> {
        let text = String::from_utf8(bytes).map_err(|e| not_utf8(&display, e))?;
        let parsed = node::parse_within(&text, budget).map_err(|e| {
            Diagnostic::at(
                &display,
                &text,
                e.span,
                format!("invalid YAML: {}", e.message),
            )
        })?;
        let base = text.as_ptr() as usize;
        let lines = diagnostic::lines(&text)
            .map(|l| {
                let start = l.as_ptr() as usize - base;
                (start, start + l.len())
            })
            .collect();
        let mut source = Source {
            display,
            text,
            lines,
            long_lines: Mutex::default(),
            root: parsed.root,
            diagnostics: Vec::new(),
        };
        source.diagnostics = parsed
            .duplicates
            .into_iter()
            .map(|e| source.diagnostic_at(e.span, e.message))
            .collect();
        Ok(source)
    }

    pub fn diagnostic(&self, node: &Node, message: impl Into<String>) -> Diagnostic {
        self.diagnostic_at(node.span, message)
    }

    fn diagnostic_at(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        let Some(i) = span.line.checked_sub(1).map(|i| i as usize) else {
            return Diagnostic::on_line(&self.display, None, span, message);
        };
        let Some(&(from, to)) = self.lines.get(i) else {
            return Diagnostic::on_line(&self.display, None, span, message);
        };
        let line = &self.text[from..to];
        if line.len() <= LONG_LINE {
            return Diagnostic::on_line(&self.display, Some(line), span, message);
        }
        let chars = {
            let mut cache = self
                .long_lines
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Arc::clone(
                cache
                    .entry(i)
                    .or_insert_with(|| line.trim_end().chars().collect()),
            )
        };
        Diagnostic::on_chars(&self.display, Some(&chars), span, message)
    }
}

/// Where a file stops being UTF-8, pointed at like any other mistake.
fn not_utf8(display: &str, e: std::string::FromUtf8Error) -> Diagnostic {
    let valid = e.utf8_error().valid_up_to();
    let bytes = e.as_bytes();
    let before = String::from_utf8_lossy(&bytes[..valid]);
    let line_no = diagnostic::lines(&format!("{before}x")).count();
    let line_start = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let shown = String::from_utf8_lossy(bytes);
    let span = Span {
        line: u32::try_from(line_no).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
        len: 1,
    };
    Diagnostic::at(
        display,
        &shown,
        span,
        format!(
            "the file is not UTF-8: byte 0x{:02X} is not part of a character; save it as UTF-8",
            bytes[valid]
        ),
    )
}

/// What one file contributed.
#[derive(Default)]
struct Collected<'a> {
    entries: Vec<Entry<'a>>,
    diagnostics: Vec<Diagnostic>,
    /// Sections that may hold what was not read: all of them after a root
    /// that is no mapping, the one a misspelt section name was meant as.
    unread: HashSet<&'static str>,
}

fn collect(source: &Source) -> Collected<'_> {
    let mut out = Collected {
        diagnostics: source.diagnostics.clone(),
        ..Collected::default()
    };
    let root = &source.root;
    let sections = match &root.value {
        Value::Null => return out,
        Value::Map(entries) => entries,
        other => {
            out.diagnostics.push(source.diagnostic(
                root,
                format!(
                    "expected a mapping of sections (program, groups, tags, products, webhooks, automations, commission_triggers), found {}",
                    other.describe()
                ),
            ));
            out.unread.extend(Kind::ALL.map(Kind::section));
            return out;
        }
    };
    let names = Kind::ALL.map(Kind::section);
    let listed = || names.map(|s| format!("`{s}`")).join(", ");
    for (key, value) in sections {
        let Some(name) = key.as_str() else {
            let found = match key.scalar_text() {
                Some(text) => format!("{} `{text}`", key.value.describe()),
                None => key.value.describe().to_owned(),
            };
            out.diagnostics.push(source.diagnostic(
                key,
                format!("a section name must be one of {}; found {found}", listed()),
            ));
            continue;
        };
        let Some(kind) = Kind::from_section(name) else {
            let suggestion = did_you_mean(name, names);
            out.unread.extend(suggestion);
            out.diagnostics.push(
                source
                    .diagnostic(
                        key,
                        format!("unknown section `{name}`; expected one of {}", listed()),
                    )
                    .with_help(suggestion.map(|s| format!("did you mean `{s}`?"))),
            );
            continue;
        };
        if kind == Kind::Program {
            load_item(kind, source, value, &mut out);
            continue;
        }
        match &value.value {
            Value::Null => {}
            Value::Seq(items) => {
                for item in items {
                    load_item(kind, source, item, &mut out);
                }
            }
            other => {
                out.unread.insert(kind.section());
                out.diagnostics.push(source.diagnostic(
                    value,
                    format!("`{name}` must be a list, found {}", other.describe()),
                ));
            }
        }
    }
    out
}

fn load_item<'a>(kind: Kind, source: &'a Source, node: &'a Node, out: &mut Collected<'a>) {
    fn read<T: DeserializeOwned>(node: &Node, wrap: fn(T) -> Resource) -> Partial<Resource> {
        let partial = partial::from_node::<T>(node);
        Partial {
            value: partial.value.map(wrap),
            errors: partial.errors,
            patches: partial.patches,
        }
    }
    let partial = match kind {
        Kind::Program => read(node, Resource::Program),
        Kind::Group => read(node, Resource::Group),
        Kind::Tag => read(node, Resource::Tag),
        Kind::Product => read(node, Resource::Product),
        Kind::Webhook => read(node, Resource::Webhook),
        Kind::Automation => read(node, Resource::Automation),
        Kind::CommissionTrigger => read(node, Resource::CommissionTrigger),
    };
    out.diagnostics.extend(
        partial
            .errors
            .iter()
            .map(|e| source.diagnostic_at(e.span.unwrap_or(node.span), e.message.clone())),
    );
    out.entries.push(Entry {
        kind,
        resource: partial.value,
        patches: partial.patches,
        source,
        node,
    });
}
