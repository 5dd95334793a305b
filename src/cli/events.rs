use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use super::event_file::{ArrayElements, Lines, Piece};
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
        /// Events per request (each request is one transaction), at most
        /// 100000; by default 100000 to an embedded engine, 5000 to a server.
        #[arg(long, value_name = "N")]
        batch_size: Option<usize>,
    },
}

/// How a file is written: by its extension (`.ndjson`, `.jsonl`: a line each;
/// `.json`: an array), else an array when it starts with `[`.
fn format_of(file: &Path, start: &[u8]) -> BatchFormat {
    let start = start.strip_prefix("\u{feff}".as_bytes()).unwrap_or(start);
    match file.extension().and_then(|e| e.to_str()) {
        Some("ndjson" | "jsonl") => BatchFormat::Ndjson,
        Some("json") => BatchFormat::Array,
        _ if start.trim_ascii_start().starts_with(b"[") => BatchFormat::Array,
        _ => BatchFormat::Ndjson,
    }
}

/// The events of a file or stdin, a piece at a time.
pub(super) fn pieces(
    file: &Path,
) -> anyhow::Result<Box<dyn Iterator<Item = std::io::Result<Piece>>>> {
    let mut input: Box<dyn BufRead> = if file.as_os_str() == "-" {
        Box::new(BufReader::with_capacity(1 << 16, std::io::stdin()))
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
        Box::new(BufReader::with_capacity(1 << 16, f))
    };
    let start = input
        .fill_buf()
        .with_context(|| format!("reading {}", file.display()))?
        .to_vec();
    Ok(match format_of(file, &start) {
        BatchFormat::Array => Box::new(ArrayElements::new(input)),
        _ => Box::new(Lines::new(input)),
    })
}

const SHOWN_DUPLICATES: usize = 20;

/// Events per request when `--batch-size` does not say. An embedded engine
/// takes a file in the largest transactions it allows: a batch reads and
/// writes each partner, customer and subscription it touches once, however
/// many of its events name them, so a file of events over 10,000 partners
/// goes 1.9x as fast in batches of 100,000 as of 5,000 (README). A server
/// holds each program's write lock for a request, which its other clients
/// (Stripe's deliveries among them) wait for, so requests there stay short.
const EMBEDDED_BATCH: usize = crate::engine::event::MAX_BATCH;
const SERVER_BATCH: usize = 5_000;

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
    let batch_size = batch_size.unwrap_or(if global.engine.is_some() {
        SERVER_BATCH
    } else {
        EMBEDDED_BATCH
    });
    if batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    if batch_size > crate::engine::event::MAX_BATCH {
        bail!(
            "--batch-size {batch_size} is more than an engine takes in one request ({})",
            crate::engine::event::MAX_BATCH
        );
    }
    let mut pieces = pieces(file)?.peekable();
    if pieces.peek().is_none() {
        bail!("{} holds no events", file.display());
    }
    let writer = global.target().writer().await?;
    let program = super::program(writer.as_ref(), global).await?;
    let json = *format == ListFormat::Json;
    let mut report = IngestReport::default();
    // Without --format json only the first duplicates are named: a resent
    // file of millions would otherwise be held to the end.
    let mut duplicates = 0usize;
    let mut events = 0usize;
    let mut chunk: Vec<Piece> = Vec::with_capacity(batch_size);
    // The file's size is known, the number of events in it is not.
    let progress = match std::fs::metadata(file)
        .ok()
        .filter(|_| file.as_os_str() != "-")
    {
        Some(m) => Progress::bar("sending", m.len(), Unit::Bytes),
        None => Progress::spinner("sending events"),
    };
    loop {
        let piece = pieces
            .next()
            .transpose()
            .with_context(|| format!("reading {}", file.display()))?;
        let end = piece.is_none();
        if let Some(p) = piece {
            progress.inc(u64::try_from(p.1.len() + 1).unwrap_or(0));
            chunk.push(p);
            events += 1;
        }
        if chunk.len() < batch_size && !end {
            continue;
        }
        if !chunk.is_empty() {
            let mut part = send(writer.as_ref(), &program, &chunk, report.accepted).await?;
            duplicates += part.duplicates.len();
            if !json {
                let room = SHOWN_DUPLICATES.saturating_sub(report.duplicates.len());
                part.duplicates.truncate(room);
            }
            report.merge(part);
            chunk.clear();
        }
        if end {
            break;
        }
    }
    progress.finish();
    if json {
        output::println(&serde_json::to_string_pretty(&report)?)?;
    } else {
        // A resent file is all duplicates: name a few, count the rest.
        print_notes("duplicate, no effect", &report.duplicates);
        if duplicates > report.duplicates.len() {
            say!(
                "... and {} (--format json lists them all)",
                count(duplicates - report.duplicates.len(), "more duplicate")
            );
        }
        print_notes("rejected", &report.rejected);
    }
    say!(
        "{}: {} to program {program}: {} accepted, {}, {} rejected.",
        file.display(),
        count(events, "event"),
        report.accepted,
        count(duplicates, "duplicate"),
        report.rejected.len()
    );
    let w = report.waiting;
    let mut waits = Vec::new();
    if w.signup > 0 {
        waits.push(format!(
            "{} for a referral signup",
            super::plural(w.signup, "transaction waits", "transactions wait")
        ));
    }
    if w.product > 0 {
        waits.push(format!(
            "{} for a product record",
            super::plural(w.product, "transaction waits", "transactions wait")
        ));
    }
    if w.partner > 0 {
        waits.push(format!(
            "{} for its partner to join",
            super::plural(w.partner, "waits", "wait")
        ));
    }
    if w.transaction > 0 {
        waits.push(format!(
            "{} for its transaction",
            super::plural(w.transaction, "refund waits", "refunds wait")
        ));
    }
    if !waits.is_empty() {
        say!(
            "waiting: {} (`partnerops transactions` lists transactions that wait).",
            waits.join("; ")
        );
    }
    if report.replayed > 0 {
        say!(
            "{} came late: {} replayed and corrected.",
            if report.replayed == 1 {
                "an event"
            } else {
                "events"
            },
            super::plural(report.replayed, "partner's history", "partners' histories")
        );
    }
    Ok(ExitCode::from(if report.rejected.is_empty() {
        exit::OK
    } else {
        exit::ERROR
    }))
}

/// Sends one batch and maps the engine's line numbers (within the request)
/// back to the file's.
pub(super) async fn send(
    writer: &dyn crate::client::Writer,
    program: &str,
    chunk: &[Piece],
    accepted_before: usize,
) -> anyhow::Result<IngestReport> {
    let body = chunk
        .iter()
        .map(|(_, e)| e.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut part = writer.send_events(program, body).await.with_context(|| {
        format!(
            "sending events from line {} on ({accepted_before} accepted before; send the file again: \
             what was accepted counts as duplicates)",
            chunk[0].0
        )
    })?;
    for n in part.rejected.iter_mut().chain(part.duplicates.iter_mut()) {
        n.line = chunk
            .get(n.line.saturating_sub(1))
            .map_or(n.line, |(l, _)| *l);
    }
    Ok(part)
}
