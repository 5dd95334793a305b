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
            let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
            output::println(&format!(
                "{}: swept as of {}: {} with a check due, {} fired, {}",
                r.program,
                r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                super::plural(n(r.partners), "partner", "partners"),
                r.fired,
                super::plural(n(r.tag_changes), "tag change", "tag changes")
            ))?;
        }
    }
    Ok(ExitCode::from(exit::OK))
}
