//! Loading a config directory: every `*.yaml` / `*.yml` below it, merged into one
//! [`Config`], or every problem found, each with its file, line and column.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::de::DeserializeOwned;

use super::de::from_node;
use super::diagnostic::Diagnostic;
use super::node::{self, Node, Value};
use crate::spec::check::{self, Declared, Problem, Seg};
use crate::spec::{Config, Kind, Resource};
use crate::suggest::did_you_mean;

/// Loads and checks the config at `path` (a directory, or a single file).
pub fn load(path: &Path) -> Result<Config, Vec<Diagnostic>> {
    let files = discover(path).map_err(|d| vec![d])?;
    // Files are independent until the cross-file checks, so they are read, parsed
    // and deserialized in parallel.
    let (sources, mut diagnostics): (Vec<_>, Vec<_>) = files
        .par_iter()
        .map(|(file, display)| Source::read(file, display.clone()))
        .collect::<Vec<_>>()
        .into_iter()
        .partition(Result::is_ok);
    let sources: Vec<Source> = sources.into_iter().filter_map(Result::ok).collect();
    let mut diagnostics: Vec<Diagnostic> = diagnostics.drain(..).filter_map(Result::err).collect();

    let mut entries = Vec::new();
    let mut broken = Vec::new();
    for collected in sources.par_iter().map(collect).collect::<Vec<_>>() {
        entries.extend(collected.entries);
        broken.extend(collected.broken);
        diagnostics.extend(collected.diagnostics);
    }
    check(&entries, &broken, &mut diagnostics);

    let programs = entries
        .iter()
        .filter(|e| e.resource.kind() == Kind::Program)
        .count();
    let program_failed = broken.iter().any(|b| b.kind == Kind::Program);
    if programs == 0 && !program_failed && diagnostics.is_empty() {
        diagnostics.push(
            Diagnostic::whole(path.display().to_string(), "no program is declared")
                .with_help(Some(
                "add `program: { key: ..., name: ..., currency: USD, timezone: UTC }` to one file"
                    .to_owned(),
            )),
        );
    }

    if !diagnostics.is_empty() {
        // Files in path order, positions in order within a file.
        let order: HashMap<&str, usize> = files
            .iter()
            .enumerate()
            .map(|(i, (_, display))| (display.as_str(), i))
            .collect();
        diagnostics.sort_by_key(|d| {
            (
                order.get(d.file.as_str()).copied().unwrap_or(usize::MAX),
                d.line,
                d.column,
            )
        });
        return Err(diagnostics);
    }
    Ok(
        Config::from_resources(entries.into_iter().map(|e| e.resource))
            .expect("exactly one program was checked above"),
    )
}

/// The YAML files of a config, sorted, each with the name to show for it.
fn discover(path: &Path) -> Result<Vec<(PathBuf, String)>, Diagnostic> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Diagnostic::whole(&shown, e.to_string()))?;
    if meta.is_file() {
        return Ok(vec![(path.to_path_buf(), shown)]);
    }
    let mut files = Vec::new();
    walk(path, &mut files).map_err(|e| Diagnostic::whole(&shown, e.to_string()))?;
    if files.is_empty() {
        return Err(Diagnostic::whole(shown, "no *.yaml or *.yml files here"));
    }
    files.sort();
    Ok(files
        .into_iter()
        .map(|f| {
            let display = f.display().to_string();
            (f, display)
        })
        .collect())
}

/// Every file `load` would read below `dir`, sorted.
pub fn yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        // Hidden entries hold tool state (.git, .partnerops), never config.
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if std::fs::metadata(&path)?.is_dir() {
            walk(&path, files)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            files.push(path);
        }
    }
    Ok(())
}

struct Source {
    display: String,
    text: String,
    root: Node,
}

impl Source {
    fn read(file: &Path, display: String) -> Result<Source, Diagnostic> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Diagnostic::whole(&display, format!("cannot read: {e}")))?;
        let root = node::parse(&text).map_err(|e| {
            Diagnostic::at(
                &display,
                &text,
                e.span,
                format!("invalid YAML: {}", e.message),
            )
        })?;
        Ok(Source {
            display,
            text,
            root,
        })
    }

    fn diagnostic(&self, node: &Node, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(&self.display, &self.text, node.span, message)
    }
}

/// A resource that loaded, and where it was written.
struct Entry<'a> {
    resource: Resource,
    source: &'a Source,
    node: &'a Node,
}

/// A resource that did not load; its key and name still count as declared so one
/// mistake does not cascade into "not declared" errors elsewhere.
struct Broken<'a> {
    kind: Kind,
    node: &'a Node,
}

/// What one file contributed.
#[derive(Default)]
struct Collected<'a> {
    entries: Vec<Entry<'a>>,
    broken: Vec<Broken<'a>>,
    diagnostics: Vec<Diagnostic>,
}

fn collect(source: &Source) -> Collected<'_> {
    let mut out = Collected::default();
    collect_into(source, &mut out);
    out
}

fn collect_into<'a>(source: &'a Source, out: &mut Collected<'a>) {
    let Collected {
        entries,
        broken,
        diagnostics,
    } = out;
    let root = &source.root;
    let sections = match &root.value {
        Value::Null => return,
        Value::Map(entries) => entries,
        other => {
            diagnostics.push(source.diagnostic(
                root,
                format!(
                    "expected a mapping of sections (program, groups, tags, products, automations, commission_triggers), found {}",
                    other.describe()
                ),
            ));
            return;
        }
    };
    for (key, value) in sections {
        let name = key.as_str().unwrap_or_default();
        let Some(kind) = Kind::from_section(name) else {
            let sections = Kind::ALL.map(Kind::section);
            let help = did_you_mean(name, sections).map(|s| format!("did you mean `{s}`?"));
            diagnostics.push(
                source
                    .diagnostic(
                        key,
                        format!(
                            "unknown section `{name}`; expected one of {}",
                            sections.map(|s| format!("`{s}`")).join(", ")
                        ),
                    )
                    .with_help(help),
            );
            continue;
        };
        if kind == Kind::Program {
            load_item(kind, source, value, entries, broken, diagnostics);
            continue;
        }
        match &value.value {
            Value::Null => {}
            Value::Seq(items) => {
                for item in items {
                    load_item(kind, source, item, entries, broken, diagnostics);
                }
            }
            other => diagnostics.push(source.diagnostic(
                value,
                format!("`{name}` must be a list, found {}", other.describe()),
            )),
        }
    }
}

fn load_item<'a>(
    kind: Kind,
    source: &'a Source,
    node: &'a Node,
    entries: &mut Vec<Entry<'a>>,
    broken: &mut Vec<Broken<'a>>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    fn de<T: DeserializeOwned>(
        node: &Node,
        wrap: fn(T) -> Resource,
    ) -> Result<Resource, super::de::DeError> {
        from_node::<T>(node).map(wrap)
    }
    let result = match kind {
        Kind::Program => de(node, Resource::Program),
        Kind::Group => de(node, Resource::Group),
        Kind::Tag => de(node, Resource::Tag),
        Kind::Product => de(node, Resource::Product),
        Kind::Automation => de(node, Resource::Automation),
        Kind::CommissionTrigger => de(node, Resource::CommissionTrigger),
    };
    match result {
        Ok(resource) => entries.push(Entry {
            resource,
            source,
            node,
        }),
        Err(e) => {
            let span = e.span.unwrap_or(node.span);
            diagnostics.push(Diagnostic::at(
                &source.display,
                &source.text,
                span,
                e.message,
            ));
            broken.push(Broken { kind, node });
        }
    }
}

/// Follows `path` into `node` as far as it goes.
fn locate<'a>(node: &'a Node, path: &[Seg]) -> &'a Node {
    let mut here = node;
    for seg in path {
        let next = match seg {
            Seg::Key(k) => here.get(k),
            Seg::Index(i) => here.items().get(*i),
        };
        match next {
            Some(n) => here = n,
            None => break,
        }
    }
    here
}

fn position(entry: &Entry, path: &[Seg]) -> String {
    let node = locate(entry.node, path);
    format!(
        "{}:{}:{}",
        entry.source.display, node.span.line, node.span.column
    )
}

fn problem(entry: &Entry, problem: Problem) -> Diagnostic {
    let node = locate(entry.node, &problem.path);
    entry
        .source
        .diagnostic(node, problem.message)
        .with_help(problem.help)
}

fn check(entries: &[Entry], broken: &[Broken], diagnostics: &mut Vec<Diagnostic>) {
    let mut declared = Declared::default();
    for entry in entries {
        declared.add(&entry.resource);
        diagnostics.extend(
            check::check_resource(&entry.resource)
                .into_iter()
                .map(|p| problem(entry, p)),
        );
    }
    for b in broken {
        let key = b.node.get("key").and_then(Node::as_str);
        match (b.kind, key) {
            (Kind::Group, Some(k)) => {
                declared.groups.insert(k);
            }
            (Kind::Tag, Some(k)) => {
                declared.tags.insert(k);
            }
            (Kind::Product, Some(k)) => {
                declared.products.insert(k);
                if let Some(name) = b.node.get("name").and_then(Node::as_str) {
                    declared.product_names.insert(name);
                }
            }
            _ => {}
        }
    }

    let mut programs = entries
        .iter()
        .filter(|e| e.resource.kind() == Kind::Program);
    if let Some(first) = programs.next() {
        for extra in programs {
            let message = format!(
                "a second program is declared; a config holds exactly one (the first is at {})",
                position(first, &[])
            );
            diagnostics.push(problem(
                extra,
                Problem {
                    path: Vec::new(),
                    message,
                    help: None,
                },
            ));
        }
    }

    let mut first_by_key: HashMap<(Kind, &str), &Entry> = HashMap::new();
    for entry in entries
        .iter()
        .filter(|e| e.resource.kind() != Kind::Program)
    {
        let id = (entry.resource.kind(), entry.resource.key());
        if let Some(first) = first_by_key.get(&id) {
            let message = format!(
                "duplicate {} key `{}`; it is first declared at {}",
                id.0.noun(),
                id.1,
                position(first, &[Seg::Key("key")])
            );
            diagnostics.push(problem(
                entry,
                Problem {
                    path: vec![Seg::Key("key")],
                    message,
                    help: None,
                },
            ));
        } else {
            first_by_key.insert(id, entry);
        }
    }

    // A previous key must name no current resource and be claimed only once, or a
    // rename would be ambiguous.
    let mut claimed: HashMap<(Kind, &str), (&Entry, usize)> = HashMap::new();
    for entry in entries {
        let kind = entry.resource.kind();
        for (i, old) in entry.resource.previously().iter().enumerate() {
            let path = [Seg::Key("previously"), Seg::Index(i)];
            let message = if let Some(current) = first_by_key.get(&(kind, old.as_str())) {
                if std::ptr::eq(*current, entry) {
                    continue; // reported by the resource check
                }
                format!(
                    "`{old}` cannot be a previous key: it is the key of the {} at {}",
                    kind.noun(),
                    position(current, &[Seg::Key("key")])
                )
            } else if let Some((other, j)) = claimed.get(&(kind, old.as_str())) {
                format!(
                    "`{old}` is already listed as a previous key at {}",
                    position(other, &[Seg::Key("previously"), Seg::Index(*j)])
                )
            } else {
                claimed.insert((kind, old.as_str()), (entry, i));
                continue;
            };
            diagnostics.push(problem(
                entry,
                Problem {
                    path: path.to_vec(),
                    message,
                    help: None,
                },
            ));
        }
    }

    for entry in entries {
        diagnostics.extend(
            check::check_references(&entry.resource, &declared)
                .into_iter()
                .map(|p| problem(entry, p)),
        );
    }
}
