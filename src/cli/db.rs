//! `partnerops db`: the engine's store itself. `db copy` moves a whole
//! engine between stores (a SQLite file, a PostgreSQL database) and
//! verifies it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::history::ListFormat;
use super::{exit, output};
use crate::store::copy;
use crate::store::{StoreOptions, describe};

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy a whole engine (programs, history, events, ledger, payouts,
    /// tokens, webhooks, Stripe records) into an empty store, and verify it
    /// table by table (row counts and SHA-256 checksums); a copy that
    /// differs is rolled back. Stop the engines writing to --from first.
    Copy(CopyArgs),
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The store to copy: a SQLite file or a postgres:// URL.
    #[arg(long, value_name = "DB")]
    pub from: PathBuf,
    /// The store to copy into (created and migrated as needed; it must
    /// hold no engine yet): a SQLite file or a postgres:// URL.
    #[arg(long, value_name = "DB")]
    pub to: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

pub async fn run(args: &DbArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        DbCommand::Copy(a) => copy_run(a).await,
    }
}

async fn copy_run(args: &CopyArgs) -> anyhow::Result<ExitCode> {
    let options = StoreOptions::from_env()?;
    let (from, to) = (describe(&args.from), describe(&args.to));
    let started = std::time::Instant::now();
    let text = args.format != ListFormat::Json;
    // A spinner with the time so far on a terminal (a copy of a large engine
    // takes minutes); each table's line is printed as it is verified.
    let progress = super::progress::Progress::spinner(&format!("copying {from} to {to}"));
    let report = copy::copy(&args.from, &args.to, &options, |t| {
        if text {
            progress.println(&format!(
                "copied {:<18} {:>9} rows  sha256 {}",
                t.table,
                t.rows,
                &t.sha256[..16]
            ));
        }
        progress.inc(t.rows);
    })
    .await?;
    progress.finish();
    if text {
        output::println(&format!(
            "Copied {from} to {to}: {} rows in {} tables, verified, in {:.1} s.",
            report.rows(),
            report.tables.len(),
            started.elapsed().as_secs_f64()
        ))?;
    } else {
        output::println(&serde_json::to_string_pretty(&report)?)?;
    }
    Ok(ExitCode::from(exit::OK))
}
