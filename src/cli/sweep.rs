use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;

use super::history::ListFormat;
use super::{GlobalArgs, exit, output};
use crate::plural::count;

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Run the checks as of this time (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME")]
    pub now: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

pub async fn run(global: &GlobalArgs, args: &SweepArgs) -> anyhow::Result<ExitCode> {
    let writer = global.target().writer().await?;
    // One request however many partners: a spinner, not a bar.
    let spinner = super::progress::Progress::spinner("running the daily checks");
    let reports = writer
        .sweep(global.program.as_deref(), args.now.unwrap_or_else(Utc::now))
        .await;
    drop(spinner);
    let reports = reports?;
    if args.format == ListFormat::Json {
        output::println(&serde_json::to_string_pretty(&reports)?)?;
    } else {
        for r in &reports {
            output::println(&format!(
                "{}: swept as of {}: {} with a check due, {} fired, {}",
                r.program,
                r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                count(r.partners, "partner"),
                r.fired,
                count(r.tag_changes, "tag change")
            ))?;
        }
    }
    Ok(ExitCode::from(exit::OK))
}
