use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::value::RawValue;

use super::history::ListFormat;
use super::progress::{Progress, Unit};
use super::{GlobalArgs, exit, output};
use crate::engine::event::{BatchFormat, EventNote, IngestReport};
use crate::plural::count;

#[derive(Debug, Args)]
pub struct EventsArgs {
    #[command(subcommand)]
    pub command: EventsCommand,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Send events from a file (a JSON array or NDJSON), or `-` for stdin.
    ///
    /// A `.ndjson` or `.jsonl` file is read a line each, a `.json` file as an
    /// array; any other (and stdin) as an array when it starts with `[`.
    ///
    /// Good events take effect; an event id sent before is a duplicate with no
    /// effect; a bad event is reported with its line and reason and the others
    /// still count. Exits 1 when any event was rejected.
    Send {
        /// The file, or - for stdin.
        file: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
        /// Events per request (each request is one transaction), at most 100000.
        #[arg(long, default_value_t = 5000, value_name = "N")]
        batch_size: usize,
    },
}

/// How a file is written: by its extension (`.ndjson`, `.jsonl`: a line each;
/// `.json`: an array), else an array when it starts with `[`.
fn format_of(file: &Path, text: &str) -> BatchFormat {
    match file.extension().and_then(|e| e.to_str()) {
        Some("ndjson" | "jsonl") => BatchFormat::Ndjson,
        Some("json") => BatchFormat::Array,
        _ if text.trim_start().starts_with('[') => BatchFormat::Array,
        _ => BatchFormat::Ndjson,
    }
}

/// The events of a file, one per element, each on one line, with the line it
/// starts on in the file.
fn split(text: &str, format: BatchFormat) -> anyhow::Result<Vec<(usize, String)>> {
    if format == BatchFormat::Array {
        let items: Vec<&RawValue> =
            serde_json::from_str(text).context("the file is not a JSON array of events")?;
        // A newline can only be whitespace between JSON tokens, never inside a
        // string, so an element fits on one line by swapping them for spaces.
        // Lines counted on from the previous element: one pass over the file.
        let (mut line, mut counted) = (1, 0);
        return Ok(items
            .into_iter()
            .map(|raw| {
                let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
                line += text.as_bytes()[counted..offset]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count();
                counted = offset;
                (line, raw.get().replace(['\n', '\r'], " "))
            })
            .collect());
    }
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.to_owned()))
        .collect())
}

const SHOWN_DUPLICATES: usize = 20;

fn print_notes(what: &str, notes: &[EventNote]) {
    for n in notes {
        let id =
            n.id.as_deref()
                .map(|i| format!(" (event {i})"))
                .unwrap_or_default();
        match &n.reason {
            Some(reason) => say!("line {}{id}: {what}: {reason}", n.line),
            None => say!("line {}{id}: {what}", n.line),
        }
    }
}

pub async fn run(global: &GlobalArgs, args: &EventsArgs) -> anyhow::Result<ExitCode> {
    let EventsCommand::Send {
        file,
        format,
        batch_size,
    } = &args.command;
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading stdin")?;
        s
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    if *batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    if *batch_size > crate::engine::event::MAX_BATCH {
        bail!(
            "--batch-size {batch_size} is more than an engine takes in one request ({})",
            crate::engine::event::MAX_BATCH
        );
    }
    // Editors on Windows start a UTF-8 file with a byte order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let events = split(text, format_of(file, text))?;
    if events.is_empty() {
        bail!("{} holds no events", file.display());
    }
    let writer = global.target().writer().await?;
    let program = super::program(writer.as_ref(), global).await?;
    let mut report = IngestReport::default();
    let progress = Progress::bar(
        "sending",
        u64::try_from(events.len()).unwrap_or(u64::MAX),
        Unit::Items("events"),
    );
    for chunk in events.chunks((*batch_size).max(1)) {
        let body = chunk
            .iter()
            .map(|(_, e)| e.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let mut part = writer.send_events(&program, body).await.with_context(|| {
            format!(
                "sending events from line {} on ({} accepted before; send the file again: \
                 what was accepted counts as duplicates)",
                chunk[0].0, report.accepted
            )
        })?;
        // The engine numbers lines within the request; map them back to the file.
        for n in part.rejected.iter_mut().chain(part.duplicates.iter_mut()) {
            n.line = chunk
                .get(n.line.saturating_sub(1))
                .map_or(n.line, |(l, _)| *l);
        }
        report.merge(part);
        progress.inc(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
    }
    progress.finish();
    if *format == ListFormat::Json {
        output::println(&serde_json::to_string_pretty(&report)?)?;
    } else {
        // A resent file is all duplicates: name a few, count the rest.
        print_notes(
            "duplicate, no effect",
            &report.duplicates[..report.duplicates.len().min(SHOWN_DUPLICATES)],
        );
        if report.duplicates.len() > SHOWN_DUPLICATES {
            say!(
                "... and {} (--format json lists them all)",
                count(report.duplicates.len() - SHOWN_DUPLICATES, "more duplicate")
            );
        }
        print_notes("rejected", &report.rejected);
    }
    say!(
        "{}: {} to program {program}: {} accepted, {}, {} rejected.",
        file.display(),
        count(events.len(), "event"),
        report.accepted,
        count(report.duplicates.len(), "duplicate"),
        report.rejected.len()
    );
    Ok(ExitCode::from(if report.rejected.is_empty() {
        exit::OK
    } else {
        exit::ERROR
    }))
}
