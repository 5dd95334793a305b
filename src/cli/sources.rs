use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use super::history::ListFormat;
use super::{GlobalArgs, exit, output};
use crate::sources::stripe::{EventResult, MAX_BATCH, Outcome, Status, import};

#[derive(Debug, Args)]
pub struct SourcesArgs {
    #[command(subcommand)]
    pub source: Source,
}

#[derive(Debug, Subcommand)]
pub enum Source {
    /// Stripe's webhooks as partnerops events.
    Stripe(StripeArgs),
}

#[derive(Debug, Args)]
pub struct StripeArgs {
    #[command(subcommand)]
    pub command: StripeCommand,
}

#[derive(Debug, Subcommand)]
pub enum StripeCommand {
    /// Set the webhook endpoint's signing secret (whsec_...), read from stdin.
    ///
    /// Never on the command line, where shell history and `ps` would show it.
    /// Through --engine it needs an admin token.
    SetSecret,
    /// Replay Stripe events from a file through the same mapping as the
    /// webhook, oldest first, without signatures.
    ///
    /// The file is what `stripe events list` prints (`{"object": "list",
    /// "data": [...]}`), a JSON array of events, or NDJSON. Events taken
    /// before (by the webhook or an earlier import) change nothing. Exits 1
    /// when an event could not be read or the engine rejected one of the
    /// partnerops events it became.
    Import {
        /// The file, or - for stdin.
        file: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
}

pub async fn run(global: &GlobalArgs, args: &SourcesArgs) -> anyhow::Result<ExitCode> {
    let Source::Stripe(stripe) = &args.source;
    match &stripe.command {
        StripeCommand::SetSecret => set_secret(global).await,
        StripeCommand::Import { file, format } => import_file(global, file, *format).await,
    }
}

async fn set_secret(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        say!("Paste the endpoint's signing secret (whsec_...) and press Enter:");
    }
    let mut text = String::new();
    stdin
        .lock()
        .read_to_string(&mut text)
        .context("reading the secret from stdin")?;
    let secret = text.lines().next().unwrap_or("").trim();
    if secret.is_empty() {
        bail!(
            "no secret on stdin: pipe it in, e.g. `partnerops sources stripe set-secret < secret.txt`"
        );
    }
    let writer = global.target().writer().await?;
    let program = super::program(writer.as_ref(), global).await?;
    writer.set_stripe_secret(&program, secret).await?;
    say!(
        "The Stripe signing secret of program {program} is set on {}.",
        global.target().describe()
    );
    Ok(ExitCode::from(exit::OK))
}

const SHOWN: usize = 20;

async fn import_file(
    global: &GlobalArgs,
    file: &PathBuf,
    format: ListFormat,
) -> anyhow::Result<ExitCode> {
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading stdin")?;
        s
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    let (events, has_more) = import::read_file(&text).map_err(anyhow::Error::msg)?;
    if events.is_empty() {
        bail!("{} holds no Stripe events", file.display());
    }
    if has_more {
        say!(
            "warning: the list says Stripe holds more events than the file (has_more); fetch them all for a complete backfill"
        );
    }
    let writer = global.target().writer().await?;
    let program = super::program(writer.as_ref(), global).await?;
    let mut outcomes: Vec<(usize, Outcome)> = Vec::new();
    // A line that is not JSON is reported here: it could not travel in a
    // JSON request to a server anyway.
    let (events, unreadable): (Vec<_>, Vec<_>) =
        events.into_iter().partition(|e| e.problem.is_none());
    for e in unreadable {
        outcomes.push((
            e.line,
            Outcome {
                id: String::new(),
                kind: String::new(),
                status: Status::Rejected,
                events: Vec::new(),
                notes: e.problem.into_iter().collect(),
            },
        ));
    }
    for chunk in events.chunks(MAX_BATCH) {
        let texts: Vec<&str> = chunk.iter().map(|e| e.text.as_str()).collect();
        let part = writer
            .import_stripe_events(&program, &texts)
            .await
            .with_context(|| {
                format!(
                    "importing from line {} on ({} events taken before; import the file again: what was taken counts as duplicates)",
                    chunk[0].line,
                    outcomes.len()
                )
            })?;
        outcomes.extend(chunk.iter().map(|e| e.line).zip(part));
    }
    let count = |s: Status| outcomes.iter().filter(|(_, o)| o.status == s).count();
    let results = |r: EventResult| {
        outcomes
            .iter()
            .flat_map(|(_, o)| &o.events)
            .filter(|e| e.result == r)
            .count()
    };
    let failed = count(Status::Rejected) > 0 || results(EventResult::Rejected) > 0;
    if format == ListFormat::Json {
        let list: Vec<&Outcome> = outcomes.iter().map(|(_, o)| o).collect();
        output::println(&serde_json::to_string_pretty(&list)?)?;
    } else {
        print_problems(&outcomes);
    }
    say!(
        "{}: {} Stripe events to program {program}: {} processed, {} duplicates, {} ignored, {} unreadable; \
         partnerops events: {} accepted, {} duplicates, {} rejected.",
        file.display(),
        outcomes.len(),
        count(Status::Processed),
        count(Status::Duplicate),
        count(Status::Ignored),
        count(Status::Rejected),
        results(EventResult::Accepted),
        results(EventResult::Duplicate),
        results(EventResult::Rejected),
    );
    Ok(ExitCode::from(if failed { exit::ERROR } else { exit::OK }))
}

/// Every unreadable event and rejected partnerops event; the first notes of
/// events that were left out in part or whole (types the source does not use
/// are only counted).
fn print_problems(outcomes: &[(usize, Outcome)]) {
    let mut notes = 0;
    for (line, o) in outcomes {
        let name = if o.id.is_empty() {
            format!("line {line}")
        } else {
            format!("line {line} ({} {})", o.kind, o.id)
        };
        if o.status == Status::Rejected {
            say!("{name}: unreadable: {}", o.notes.join("; "));
            continue;
        }
        for e in o
            .events
            .iter()
            .filter(|e| e.result == EventResult::Rejected)
        {
            say!(
                "{name}: {} {} rejected: {}",
                e.kind,
                e.id,
                e.reason.as_deref().unwrap_or("")
            );
        }
        let used = crate::sources::stripe::object::TYPES.contains(&o.kind.as_str());
        if used && o.status != Status::Duplicate {
            for note in &o.notes {
                notes += 1;
                if notes <= SHOWN {
                    say!("{name}: {note}");
                }
            }
        }
    }
    if notes > SHOWN {
        say!(
            "... and {} more notes (--format json lists them all)",
            notes - SHOWN
        );
    }
}
