use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{GlobalArgs, color, exit, output, planfile, provenance, validate};
use crate::client::Reader;
use crate::plan::target::{self, Address};
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
    /// Plan only this resource (KIND/KEY, e.g. tag/gold) and what it needs;
    /// repeat for several. Other differences are left for a later plan.
    #[arg(long, value_name = "KIND/KEY")]
    pub target: Vec<Address>,
    /// Replay this many days of the program's events (e.g. 30d) under the
    /// planned config and show what it changes: commissions per trigger,
    /// the partners whose earnings move most, tags gained and lost. `0`
    /// turns it off. Runs only when the plan changes a commission trigger
    /// or an automation.
    #[arg(
        long,
        value_name = "DAYS",
        default_value = "30d",
        env = "PARTNEROPS_IMPACT_WINDOW",
        value_parser = parse_window
    )]
    pub impact_window: u32,
}

/// `30d` or `30`: whole days.
fn parse_window(s: &str) -> Result<u32, String> {
    let digits = s.strip_suffix('d').unwrap_or(s);
    digits.parse::<u32>().map_err(|_| {
        format!("`{s}` is not a number of days (e.g. 30d, or 0 to turn the impact off)")
    })
}

/// Colours for the text plan on stdout.
pub fn colors(when: color::When) -> render::Colors {
    render::Colors {
        enabled: when.stdout(),
    }
}

/// Diffs `config` against the engine and asks it for the counts the plan shows.
/// Takes a [`Reader`]: planning cannot write.
/// With `targets`, the plan holds only their changes and what they need.
pub async fn make(
    reader: &dyn Reader,
    config: &Config,
    dir: &Path,
    targets: &[Address],
    impact_window: u32,
) -> anyhow::Result<Plan> {
    let snapshot = reader.snapshot(&config.program.key).await?;
    let mut plan = plan::diff(config, &snapshot);
    if !targets.is_empty() {
        target::check(targets, config, &snapshot.resources).map_err(anyhow::Error::msg)?;
        target::restrict(&mut plan, targets, &snapshot.resources);
    }
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
    if let Some(query) = plan.what_if_query(config, impact_window) {
        plan.impact = Some(reader.what_if(&plan.program, &query).await?);
    }
    Ok(plan)
}

pub async fn run(
    global: &GlobalArgs,
    args: &PlanArgs,
    color: color::When,
) -> anyhow::Result<ExitCode> {
    // `plan plan.json` is a natural thing to try; a saved plan is not config.
    if planfile::read(&args.dir)?.is_some() {
        anyhow::bail!(
            "{} is a plan saved with `plan --out`, not a config: print it with `partnerops show {}`, apply it with `partnerops apply {}`",
            args.dir.display(),
            args.dir.display(),
            args.dir.display()
        );
    }
    let config = validate::load_or_report(&args.dir)?;
    super::check_program(global, "the config", &config.program.key)?;
    let target = global.target();
    let reader = target.reader().await?;
    let plan = make(
        reader.as_ref(),
        &config,
        &args.dir,
        &args.target,
        args.impact_window,
    )
    .await?;
    if let Some(path) = &args.out {
        planfile::save(&plan, path)?;
        say!(
            "Saved the plan to {}; apply it with `partnerops apply {}`.",
            path.display(),
            path.display()
        );
    }
    let text = match args.format {
        PlanFormat::Text => render::text(&plan, &target.describe(), colors(color), false),
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
