use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::{exit, output};
use crate::schema::json_schema;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write the schema to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 1 when FILE differs from the schema (for CI).
    #[arg(long, value_name = "FILE", conflicts_with = "out")]
    pub check: Option<PathBuf>,
}

pub fn run(args: &SchemaArgs) -> anyhow::Result<ExitCode> {
    let schema = json_schema();
    if let Some(path) = &args.check {
        let committed =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        if committed != schema {
            say!(
                "{} is out of date: run `partnerops schema --out {}`",
                path.display(),
                path.display()
            );
            return Ok(ExitCode::from(exit::ERROR));
        }
        return Ok(ExitCode::from(exit::OK));
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, &schema).with_context(|| format!("writing {}", path.display()))?
        }
        None => output::print(&schema)?,
    }
    Ok(ExitCode::from(exit::OK))
}
