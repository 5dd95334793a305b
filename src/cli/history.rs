use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{GlobalArgs, exit, output};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

pub async fn run(global: &GlobalArgs, args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    let history = reader.history(&program).await?;
    if args.format == ListFormat::Json {
        output::println(&serde_json::to_string_pretty(&history)?)?;
        return Ok(ExitCode::from(exit::OK));
    }
    if history.is_empty() {
        eprintln!("Program {program} has no changesets yet.");
        return Ok(ExitCode::from(exit::OK));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>4}  {:<20}  {:<17}  {:<9}  {:<24}  MESSAGE",
        "REV", "APPLIED (UTC)", "CHANGES", "COMMIT", "AUTHOR"
    );
    for r in &history {
        let changes = format!(
            "+{} ~{} -{}",
            r.summary.create, r.summary.update, r.summary.delete
        );
        let commit = r
            .git_commit
            .as_deref()
            .map_or("-", |c| &c[..c.len().min(9)]);
        let _ = writeln!(
            out,
            "{:>4}  {:<20}  {:<17}  {:<9}  {:<24}  {}",
            r.revision,
            r.applied_at.format("%Y-%m-%d %H:%M:%S"),
            changes,
            commit,
            r.author,
            r.message.as_deref().unwrap_or("")
        );
    }
    output::print(&out)?;
    Ok(ExitCode::from(exit::OK))
}
