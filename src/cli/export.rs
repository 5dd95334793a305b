use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use super::{GlobalArgs, exit, output};
use crate::config::{files_per_kind, to_yaml, yaml_files};
use crate::spec::ConfigDocument;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write one YAML file per kind (program.yaml, tags.yaml, ...) into this
    /// directory instead of printing one document.
    ///
    /// DIR must not hold YAML files yet: `plan DIR` reads every *.yaml / *.yml
    /// below it, so files left from another config would be merged with the
    /// export.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace the config in DIR: after writing the export, delete every other
    /// *.yaml / *.yml below DIR (the files `plan DIR` would read), so that DIR
    /// holds exactly the live config. Other files are kept; the deleted ones
    /// are listed.
    #[arg(long)]
    pub force: bool,
    /// Export the config as it stood at this revision (as `history` lists
    /// them) instead of now; `apply` of it rolls the program back.
    #[arg(long, value_name = "REV")]
    pub revision: Option<u64>,
}

/// Up to ten paths relative to `dir`, for a message.
fn list(dir: &Path, files: &[PathBuf]) -> String {
    let mut names: Vec<String> = files
        .iter()
        .take(10)
        .map(|f| f.strip_prefix(dir).unwrap_or(f).display().to_string())
        .collect();
    if files.len() > 10 {
        names.push(format!("and {} more", files.len() - 10));
    }
    names.join(", ")
}

pub async fn run(global: &GlobalArgs, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    let snapshot = match args.revision {
        None => reader.snapshot(&program).await?,
        Some(revision) => crate::engine::Snapshot {
            program: program.clone(),
            revision,
            resources: crate::history::state_at(reader.as_ref(), &program, revision)
                .await?
                .into_values()
                .collect(),
        },
    };
    let Some(config) = snapshot.config() else {
        bail!(
            "the engine holds no config for program `{program}`{}",
            if args.revision == Some(0) {
                " at revision 0 (before its first changeset)"
            } else {
                ""
            }
        );
    };
    let header = format!(
        "# Exported by partnerops from revision {} of program {program}.\n",
        snapshot.revision
    );
    let Some(dir) = &args.out else {
        output::print(&format!("{header}{}", to_yaml(&config.to_document())))?;
        return Ok(ExitCode::from(exit::OK));
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let before = yaml_files(dir).map_err(|d| anyhow::anyhow!("{d}"))?;
    if !before.is_empty() && !args.force {
        bail!(
            "{} already holds YAML files ({}), which plan would read together with the export; use an empty directory, or --force to replace them",
            dir.display(),
            list(dir, &before)
        );
    }
    // --force deletes inside DIR only: a file reached through a symbolic link
    // to elsewhere belongs to something else.
    let home = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let elsewhere: Vec<PathBuf> = before
        .iter()
        .filter(|f| {
            f.parent()
                .and_then(|p| p.canonicalize().ok())
                .is_none_or(|p| !p.starts_with(&home))
        })
        .cloned()
        .collect();
    let files = files_per_kind(&config);
    let links: Vec<PathBuf> = files
        .iter()
        .map(|(name, _)| dir.join(name))
        .filter(|p| {
            p.symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink())
        })
        .collect();
    if !links.is_empty() {
        bail!(
            "{} is a symbolic link; export writes files of its own and will not write through it: use another directory",
            list(dir, &links)
        );
    }
    if !elsewhere.is_empty() {
        bail!(
            "{} reaches YAML files outside it through symbolic links ({}); export will not delete them: use another directory",
            dir.display(),
            list(dir, &elsewhere)
        );
    }
    // Written first and the old files deleted after, so a failed write leaves
    // the old config in place.
    let mut written = Vec::new();
    for (name, doc) in files {
        if doc == ConfigDocument::default() {
            continue;
        }
        let path = dir.join(name);
        std::fs::write(&path, format!("{header}{}", to_yaml(&doc)))
            .with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    let stale: Vec<PathBuf> = before
        .into_iter()
        .filter(|f| !written.contains(f))
        .collect();
    for f in &stale {
        std::fs::remove_file(f).with_context(|| format!("deleting {}", f.display()))?;
    }
    say!(
        "Exported revision {} of program {program} to {} ({}).",
        snapshot.revision,
        dir.display(),
        crate::plural::count(written.len(), "file")
    );
    if !stale.is_empty() {
        say!(
            "Deleted {} (--force): {}",
            crate::plural::count(stale.len(), "other YAML file"),
            list(dir, &stale)
        );
    }
    Ok(ExitCode::from(exit::OK))
}
