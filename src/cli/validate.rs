use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{exit, output};
use crate::config;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Config directory (every *.yaml / *.yml below it) or a single file.
    pub dir: PathBuf,
}

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    match config::load(&args.dir) {
        Ok(config) => {
            output::println(&format!(
                "{}: valid: program {}, {} groups, {} tags, {} products, {} automations, {} commission triggers",
                args.dir.display(),
                config.program.key,
                config.groups.len(),
                config.tags.len(),
                config.products.len(),
                config.automations.len(),
                config.commission_triggers.len(),
            ))?;
            Ok(ExitCode::from(exit::OK))
        }
        Err(diagnostics) => {
            for d in &diagnostics {
                say!("{d}");
            }
            let n = diagnostics.len();
            say!(
                "{}: {n} error{}",
                args.dir.display(),
                if n == 1 { "" } else { "s" }
            );
            Ok(ExitCode::from(exit::ERROR))
        }
    }
}

/// Loads a config; on errors prints every diagnostic to stderr and fails.
pub fn load_or_report(dir: &std::path::Path) -> anyhow::Result<crate::spec::Config> {
    config::load(dir).map_err(|diagnostics| {
        for d in &diagnostics {
            say!("{d}");
        }
        let n = diagnostics.len();
        anyhow::anyhow!(
            "{}: {n} error{} in the config",
            dir.display(),
            if n == 1 { "" } else { "s" }
        )
    })
}
