//! Shell completions (clap_complete) and manual pages (clap_mangen), both made
//! from the same command line the binary parses, so they never disagree with it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use clap_complete::Shell;

use super::{exit, output};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write partnerops.1 and a page per command (partnerops-plan.1, ...)
    /// into this directory instead of printing partnerops.1.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut cmd = super::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "partnerops", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    output::print(&script(args.shell))?;
    Ok(ExitCode::from(exit::OK))
}

pub fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = super::command();
    match &args.out {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page)?;
            output::print(&String::from_utf8_lossy(&page))?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("writing manual pages into {}", dir.display()))?;
            let pages = std::fs::read_dir(dir)?
                .filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "1"))
                })
                .count();
            say!(
                "Wrote {} into {} (read one with `man {}/partnerops.1`).",
                crate::plural::count(pages, "manual page"),
                dir.display(),
                dir.display()
            );
        }
    }
    Ok(ExitCode::from(exit::OK))
}
