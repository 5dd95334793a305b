use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use super::{GlobalArgs, exit, output, plan as plan_cmd, provenance, validate};
use crate::engine::Error;
use crate::plan::{FORMAT_VERSION, Plan, render};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A config directory (plan and apply in one go) or a plan saved with `plan --out`.
    pub path: PathBuf,
    /// Apply without asking (needed when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Apply even when the plan deletes or rewrites more than 30% of a kind.
    #[arg(long)]
    pub force: bool,
    /// Recorded with the changeset in the history.
    #[arg(long, short = 'm', value_name = "TEXT")]
    pub message: Option<String>,
}

fn read_plan(path: &std::path::Path) -> anyhow::Result<Plan> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let version: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a plan file", path.display()))?;
    if version["format_version"] != FORMAT_VERSION {
        bail!(
            "{} has plan format_version {}; this partnerops reads {FORMAT_VERSION}",
            path.display(),
            version["format_version"]
        );
    }
    let plan: Plan = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid plan", path.display()))?;
    let problems = plan.problems();
    if !problems.is_empty() {
        bail!(
            "{} is not a valid plan:\n  {}",
            path.display(),
            problems.join("\n  ")
        );
    }
    Ok(plan)
}

fn is_plan_file(path: &std::path::Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e == "json")
}

fn confirm(program: &str, engine: &str) -> anyhow::Result<bool> {
    eprint!(
        "Apply these changes to program {program} on {engine}?\n  Only 'yes' will be accepted: "
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

pub async fn run(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let target = global.target();
    let writer = target.writer().await?;
    let plan = if is_plan_file(&args.path) {
        read_plan(&args.path)?
    } else {
        let config = validate::load_or_report(&args.path)?;
        plan_cmd::make(writer.as_ref(), &config, &args.path).await?
    };
    output::print(&render::text(&plan, &target.describe(), plan_cmd::colors()))?;
    if plan.is_empty() {
        return Ok(ExitCode::from(exit::OK));
    }

    let refusals = plan.refusals();
    let blocking: Vec<_> = refusals
        .iter()
        .filter(|r| !(args.force && r.forceable()))
        .collect();
    if !blocking.is_empty() {
        for r in &blocking {
            eprintln!("error: refusing to apply: {r}");
        }
        eprintln!("Nothing was changed.");
        return Ok(ExitCode::from(exit::REFUSED));
    }

    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.yes {
        if !interactive {
            eprintln!(
                "error: apply needs --yes when it cannot ask on a terminal. Nothing was changed."
            );
            return Ok(ExitCode::from(exit::REFUSED));
        }
        if !confirm(&plan.program, &target.describe())? {
            eprintln!("Apply cancelled. Nothing was changed.");
            return Ok(ExitCode::from(exit::ERROR));
        }
    }

    let dir = provenance::dir_of(&args.path);
    let changeset = plan.changeset(
        provenance::author(dir),
        args.message.clone(),
        provenance::git_commit(dir),
    );
    match writer.apply(&plan.program, &changeset).await {
        Ok(record) => {
            eprintln!(
                "Applied: program {} is at revision {} ({} created, {} updated, {} deleted).",
                record.program,
                record.revision,
                record.summary.create,
                record.summary.update,
                record.summary.delete
            );
            Ok(ExitCode::from(exit::OK))
        }
        Err(e @ Error::Stale { .. }) => {
            eprintln!("error: {e}. Nothing was changed.");
            Ok(ExitCode::from(exit::REFUSED))
        }
        Err(e) => Err(e.into()),
    }
}
