use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{
    GlobalArgs, color, exit, output, plan as plan_cmd, planfile, progress, provenance, validate,
};
use crate::engine::Error;
use crate::plan::render;

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

/// From this many changes on, apply shows a spinner on a terminal while the
/// engine works.
const LARGE_APPLY: usize = 1_000;

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

pub async fn run(
    global: &GlobalArgs,
    args: &ApplyArgs,
    color: color::When,
) -> anyhow::Result<ExitCode> {
    let target = global.target();
    // Planning reads only: an apply that stops at a guard or the question
    // leaves the engine, and an embedded engine's file, as they were.
    let saved = planfile::read(&args.path)?;
    let from_file = saved.is_some();
    let mut plan = match saved {
        Some(plan) => plan,
        None => {
            let config = validate::load_or_report(&args.path)?;
            super::check_program(global, "the config", &config.program.key)?;
            let reader = target.reader().await?;
            plan_cmd::make(reader.as_ref(), &config, &args.path, &[], 0).await?
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
        plan_cmd::colors(color),
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
    // One request, so no count to show: a spinner says it is still going.
    let spinner = (changeset.changes.len() >= LARGE_APPLY).then(|| {
        progress::Progress::spinner(&format!(
            "applying {}",
            crate::plural::count(changeset.changes.len(), "change")
        ))
    });
    let applied = writer.apply(&plan.program, &changeset).await;
    drop(spinner);
    match applied {
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
                say!(
                    "Backfill: automations fired {} for partners already past them.",
                    crate::plural::count(fired, "time")
                );
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
