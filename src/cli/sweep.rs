use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;

use super::history::ListFormat;
use super::{GlobalArgs, exit, output};

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
    let reports = writer
        .sweep(global.program.as_deref(), args.now.unwrap_or_else(Utc::now))
        .await?;
    if args.format == ListFormat::Json {
        output::println(&serde_json::to_string_pretty(&reports)?)?;
    } else {
        for r in &reports {
            output::println(&format!(
                "{}: checked {} partners as of {}: {} fired, {} tag changes",
                r.program,
                r.partners,
                r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                r.fired,
                r.tag_changes
            ))?;
        }
    }
    Ok(ExitCode::from(exit::OK))
}
