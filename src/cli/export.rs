use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use super::{GlobalArgs, exit, output};
use crate::config::to_yaml;
use crate::spec::ConfigDocument;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write one YAML file per kind into this directory instead of printing one
    /// document.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write into a directory that already holds YAML files.
    #[arg(long)]
    pub force: bool,
}

pub async fn run(global: &GlobalArgs, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    let snapshot = reader.snapshot(&program).await?;
    let Some(config) = snapshot.config() else {
        bail!("the engine holds no config for program `{program}`");
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
    let has_yaml = std::fs::read_dir(dir)?.filter_map(Result::ok).any(|e| {
        e.path()
            .extension()
            .is_some_and(|x| x == "yaml" || x == "yml")
    });
    if has_yaml && !args.force {
        bail!(
            "{} already holds YAML files, which would be read together with the export; use an empty directory or --force",
            dir.display()
        );
    }
    let files: [(&str, ConfigDocument); 6] = [
        (
            "program.yaml",
            ConfigDocument {
                program: Some(config.program.clone()),
                ..Default::default()
            },
        ),
        (
            "groups.yaml",
            ConfigDocument {
                groups: config.groups.clone(),
                ..Default::default()
            },
        ),
        (
            "tags.yaml",
            ConfigDocument {
                tags: config.tags.clone(),
                ..Default::default()
            },
        ),
        (
            "products.yaml",
            ConfigDocument {
                products: config.products.clone(),
                ..Default::default()
            },
        ),
        (
            "automations.yaml",
            ConfigDocument {
                automations: config.automations.clone(),
                ..Default::default()
            },
        ),
        (
            "commission-triggers.yaml",
            ConfigDocument {
                commission_triggers: config.commission_triggers.clone(),
                ..Default::default()
            },
        ),
    ];
    let mut written = 0;
    for (name, doc) in files {
        let path = dir.join(name);
        if doc == ConfigDocument::default() {
            if args.force && path.exists() {
                std::fs::remove_file(&path)?;
            }
            continue;
        }
        std::fs::write(&path, format!("{header}{}", to_yaml(&doc)))
            .with_context(|| format!("writing {}", path.display()))?;
        written += 1;
    }
    eprintln!(
        "Exported revision {} of program {program} to {} ({written} files).",
        snapshot.revision,
        dir.display()
    );
    Ok(ExitCode::from(exit::OK))
}
