use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::plan::{PlanFormat, colors};
use super::{color, exit, output, planfile};
use crate::plan::render;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `plan --out`.
    pub planfile: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
}

/// Prints a saved plan as `plan` printed it, from the file alone: the counts
/// are the file's, as they were when it was made (`apply` counts again
/// against the engine before it applies).
pub fn run(args: &ShowArgs, color: color::When) -> anyhow::Result<ExitCode> {
    let Some(plan) = planfile::read(&args.planfile)? else {
        anyhow::bail!(
            "{} is not a plan saved with `plan --out` (a JSON document with format_version); to plan a config, run `partnerops plan {}`",
            args.planfile.display(),
            args.planfile.display()
        );
    };
    let text = match args.format {
        PlanFormat::Text => {
            let made = format!(
                "Saved plan {}, made {}{}.\n",
                args.planfile.display(),
                plan.created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                plan.git_commit
                    .as_deref()
                    .map(|c| format!(" from commit {c}"))
                    .unwrap_or_default()
            );
            made + &render::text(&plan, "the engine", colors(color), false)
        }
        PlanFormat::Json => serde_json::to_string_pretty(&plan)? + "\n",
        PlanFormat::Markdown => render::markdown(&plan),
    };
    output::print(&text)?;
    Ok(ExitCode::from(exit::OK))
}
