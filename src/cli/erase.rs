//! `partnerops partner erase KEY`: a partner's personal data, gone.

use std::process::ExitCode;

use clap::Args;

use super::{GlobalArgs, exit, output};

#[derive(Debug, Args)]
pub struct EraseArgs {
    /// The partner's key.
    pub key: String,
    /// Erase without asking (required when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: super::history::ListFormat,
}

pub async fn run(global: &GlobalArgs, args: &EraseArgs) -> anyhow::Result<ExitCode> {
    let writer = global.target().writer().await?;
    let program = super::program(writer.as_ref(), global).await?;
    if !args.yes && !confirmed(&program, &args.key)? {
        say!("Nothing erased: erasing needs `yes` on a terminal, or --yes.");
        return Ok(ExitCode::from(exit::REFUSED));
    }
    let erasure = writer.erase_partner(&program, &args.key).await?;
    if args.format == super::history::ListFormat::Json {
        output::println(&serde_json::to_string_pretty(&erasure)?)?;
    } else {
        say!(
            "Erased the name and email of partner {} in program {program}: the partner and {} stored events. Keys, money and tags are kept.",
            erasure.partner,
            erasure.events
        );
    }
    Ok(ExitCode::from(exit::OK))
}

/// Asks on a terminal; anywhere else, no.
fn confirmed(program: &str, key: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    let mut stderr = std::io::stderr();
    let _ = write!(
        stderr,
        "Erase the name and email of partner {key} in program {program}, everywhere the engine keeps them? This cannot be undone. Type yes: "
    );
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
