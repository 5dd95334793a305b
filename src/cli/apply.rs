use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use super::{GlobalArgs, exit, output, plan as plan_cmd, provenance, validate};
use crate::engine::Error;
use crate::plan::{FORMAT_VERSION, Plan, render};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A config directory or file (plan and apply in one go), or a plan saved
    /// with `plan --out` (told apart by content: a JSON object with
    /// `format_version`).
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

/// `path` as a plan saved with `plan --out`, or `None` when it is not one and
/// is to be loaded as config. Decided by content, not by the file's name, so
/// `plan --out p1.plan` can be applied as `apply p1.plan`.
fn saved_plan(path: &Path) -> anyhow::Result<Option<Plan>> {
    if !path.is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(None);
    };
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        // A plan cut short or edited by hand: say so, rather than report it
        // as a YAML config with errors.
        Err(e) if text.trim_start().starts_with('{') && text.contains("\"format_version\"") => {
            bail!(
                "{} looks like a saved plan but is not valid JSON: {e}",
                path.display()
            )
        }
        Err(_) => return Ok(None),
    };
    let Some(version) = value.as_object().and_then(|o| o.get("format_version")) else {
        return Ok(None);
    };
    if *version != FORMAT_VERSION {
        bail!(
            "{} has plan format_version {version}; this partnerops reads {FORMAT_VERSION}",
            path.display(),
        );
    }
    let plan: Plan = serde_json::from_value(value).with_context(|| {
        format!(
            "{} looks like a saved plan (it has format_version) but is not a valid one",
            path.display()
        )
    })?;
    let problems = plan.problems();
    if !problems.is_empty() {
        bail!(
            "{} is not a valid plan:\n  {}",
            path.display(),
            problems.join("\n  ")
        );
    }
    Ok(Some(plan))
}

fn confirm(program: &str, engine: &str) -> anyhow::Result<bool> {
    let mut stderr = std::io::stderr();
    write!(
        stderr,
        "Apply these changes to program {program} on {engine}?\n  Only 'yes' will be accepted: "
    )?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

pub async fn run(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let target = global.target();
    // Planning reads only: an apply that stops at a guard or the question
    // leaves the engine, and an embedded engine's file, as they were.
    let saved = saved_plan(&args.path)?;
    let from_file = saved.is_some();
    let mut plan = match saved {
        Some(plan) => plan,
        None => {
            let config = validate::load_or_report(&args.path)?;
            super::check_program(global, "the config", &config.program.key)?;
            let reader = target.reader().await?;
            plan_cmd::make(reader.as_ref(), &config, &args.path).await?
        }
    };
    super::check_program(global, "the saved plan", &plan.program)?;
    if from_file {
        let live = target.reader().await?.snapshot(&plan.program).await?;
        // Applying a saved plan of no changes sends nothing, but it still
        // says what the engine held then: if that moved, the plan is stale.
        let current = live.revision;
        if plan.is_empty() && current != plan.base_revision {
            say!(
                "error: {}. Nothing was changed.",
                Error::Stale {
                    base: plan.base_revision,
                    current
                }
            );
            return Ok(ExitCode::from(exit::REFUSED));
        }
        // The guards count what the engine holds, not what the file says.
        plan.recount(&live.resources);
    }
    output::print(&render::text(
        &plan,
        &target.describe(),
        plan_cmd::colors(),
        args.force,
    ))?;
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
            say!("error: refusing to apply: {r}");
        }
        say!("Nothing was changed.");
        return Ok(ExitCode::from(exit::REFUSED));
    }

    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.yes {
        if !interactive {
            say!("error: apply needs --yes when it cannot ask on a terminal. Nothing was changed.");
            return Ok(ExitCode::from(exit::REFUSED));
        }
        if !confirm(&plan.program, &target.describe())? {
            say!("Apply cancelled. Nothing was changed.");
            return Ok(ExitCode::from(exit::ERROR));
        }
    }

    // The commit is the plan's: the HEAD of the config when it was planned,
    // never that of wherever a saved plan file happens to lie.
    let changeset = plan.changeset(
        provenance::author(provenance::dir_of(&args.path)),
        args.message.clone(),
        None,
    );
    let writer = target.writer().await?;
    match writer.apply(&plan.program, &changeset).await {
        Ok(record) => {
            say!(
                "Applied: program {} is at revision {} ({} created, {} updated, {} deleted).",
                record.program,
                record.revision,
                record.summary.create,
                record.summary.update,
                record.summary.delete
            );
            if let Some(fired) = record.backfill_fired {
                say!("Backfill: automations fired {fired} times for partners already past them.");
            }
            Ok(ExitCode::from(exit::OK))
        }
        // Safety refusals by the engine: the plan went stale, or customers
        // came to hold a product it deletes after it was made.
        Err(e @ (Error::Stale { .. } | Error::ProductHeld { .. })) => {
            say!("error: {e}. Nothing was changed.");
            Ok(ExitCode::from(exit::REFUSED))
        }
        Err(e) => Err(e.into()),
    }
}
