use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::{GlobalArgs, exit, output, provenance, validate};
use crate::client::Reader;
use crate::plan::{self, Plan, render};
use crate::spec::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// For people: coloured on a terminal (NO_COLOR turns colour off).
    Text,
    /// The plan document (format_version 1), as `--out` saves it.
    Json,
    /// For pull-request comments: counts first, details folded, under 60,000 characters.
    Markdown,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Config directory (or a single file).
    pub dir: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
    /// Also save the plan (JSON) here, for `partnerops apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there are changes, 0 when none, 3 when apply would refuse them.
    #[arg(long)]
    pub exit_code: bool,
}

/// Colour on a terminal, unless NO_COLOR is set.
pub fn colors() -> render::Colors {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    render::Colors {
        enabled: std::io::stdout().is_terminal() && !no_color,
    }
}

/// Diffs `config` against the engine and asks it for the counts the plan shows.
/// Takes a [`Reader`]: planning cannot write.
pub async fn make(reader: &dyn Reader, config: &Config, dir: &Path) -> anyhow::Result<Plan> {
    let snapshot = reader.snapshot(&config.program.key).await?;
    let mut plan = plan::diff(config, &snapshot);
    plan.git_commit = provenance::git_commit(provenance::dir_of(dir));
    if let Some(commit) = &plan.git_commit
        && provenance::uncommitted(dir)
    {
        say!(
            "warning: {} has uncommitted changes; the plan records commit {commit}, which does not hold them",
            dir.display()
        );
    }
    let query = plan.impact_query();
    if !query.is_empty() {
        let impact = reader.impact(&plan.program, &query).await?;
        plan.add_impact(&impact);
    }
    Ok(plan)
}

pub fn save(plan: &Plan, path: &Path) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(plan)?;
    std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))
}

pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let config = validate::load_or_report(&args.dir)?;
    super::check_program(global, "the config", &config.program.key)?;
    let target = global.target();
    let reader = target.reader().await?;
    let plan = make(reader.as_ref(), &config, &args.dir).await?;
    if let Some(path) = &args.out {
        save(&plan, path)?;
        say!(
            "Saved the plan to {}; apply it with `partnerops apply {}`.",
            path.display(),
            path.display()
        );
    }
    let text = match args.format {
        PlanFormat::Text => render::text(&plan, &target.describe(), colors(), false),
        PlanFormat::Json => serde_json::to_string_pretty(&plan)? + "\n",
        PlanFormat::Markdown => render::markdown(&plan),
    };
    output::print(&text)?;
    let refusals = plan.refusals();
    let code = if !args.exit_code || plan.is_empty() {
        exit::OK
    } else if refusals.is_empty() {
        exit::CHANGES
    } else {
        // The text and markdown plans say why; json readers get it here.
        if args.format == PlanFormat::Json {
            for reason in &refusals {
                say!("apply would refuse: {reason}");
            }
        }
        exit::REFUSED
    };
    Ok(ExitCode::from(code))
}
