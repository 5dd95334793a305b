use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use similar::TextDiff;

use super::{exit, output};
use crate::config::{self, Diagnostic};
use crate::plural::count;

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Config directory (every *.yaml / *.yml below it, as `validate` reads
    /// them) or a single file.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Change nothing: print what formatting would change, as a diff, and
    /// exit 1 when a file is not formatted (for CI).
    #[arg(long)]
    pub check: bool,
}

/// The files `validate` would read: a file as given, or the YAML below a
/// directory.
fn files(path: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    if path.is_file() {
        Ok(vec![path.to_owned()])
    } else {
        config::yaml_files(path)
    }
}

pub fn run(args: &FmtArgs) -> anyhow::Result<ExitCode> {
    let files = files(&args.dir).map_err(|d| anyhow::anyhow!("{}", d.to_string().trim_end()))?;
    let mut problems = 0;
    let mut changed = Vec::new();
    for file in &files {
        let name = file.display().to_string();
        let source = std::fs::read_to_string(file).with_context(|| format!("reading {name}"))?;
        let formatted = match config::format(&name, &source) {
            Ok(formatted) => formatted,
            Err(d) => {
                say!("{d}");
                problems += 1;
                continue;
            }
        };
        if formatted == source {
            continue;
        }
        if args.check {
            let diff = TextDiff::from_lines(&source, &formatted);
            output::print(
                &diff
                    .unified_diff()
                    .context_radius(2)
                    .header(&name, &format!("{name} (formatted)"))
                    .to_string(),
            )?;
        } else {
            std::fs::write(file, &formatted).with_context(|| format!("writing {name}"))?;
        }
        changed.push(name);
    }
    let verb = if args.check {
        "not formatted"
    } else {
        "formatted"
    };
    for name in &changed {
        say!("{verb}: {name}");
    }
    let left = if problems > 0 {
        format!(
            "; {} left as {} (see above)",
            count(problems, "file"),
            if problems == 1 { "it was" } else { "they were" }
        )
    } else {
        String::new()
    };
    if changed.is_empty() {
        say!(
            "{}: {} already formatted{left}.",
            args.dir.display(),
            count(files.len() - problems, "file")
        );
    } else {
        say!(
            "{}: {} of {} {verb}{left}.",
            args.dir.display(),
            changed.len(),
            count(files.len(), "file")
        );
    }
    let failed = problems > 0 || (args.check && !changed.is_empty());
    Ok(ExitCode::from(if failed { exit::ERROR } else { exit::OK }))
}
