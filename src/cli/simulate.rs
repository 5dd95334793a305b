//! `partnerops simulate DIR --events FILE`: the ledger and tags a config
//! would produce from a file of events, for trying a program before it
//! exists. The engine itself runs them (attribution, automations, pricing,
//! late events and refunds, exactly as it would live), on a throwaway
//! database in a temporary directory that is removed afterwards: nothing
//! of the user's engine is read or written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use super::event_file::Piece;
use super::history::ListFormat;
use super::{events, exit, output, validate};
use crate::client::{Embedded, Reader, Writer};
use crate::engine::Engine;
use crate::engine::event::{EventNote, MAX_BATCH};
use crate::engine::ledger::listing::{LedgerQuery, MAX_PAGE};
use crate::engine::partner::Partner;
use crate::spec::money::Total;
use crate::store::record::LedgerLine;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Config directory (or a single file).
    pub dir: PathBuf,
    /// The events (a JSON array or NDJSON, as `events send` reads them), or
    /// `-` for stdin.
    #[arg(long, value_name = "FILE")]
    pub events: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

/// One trigger's commissions, net of refunds.
#[derive(Debug, Serialize)]
pub struct TriggerTotal {
    pub trigger: String,
    pub amount: Total,
}

/// What a config made of a file of events.
#[derive(Debug, Serialize)]
pub struct Simulation {
    pub program: String,
    pub accepted: usize,
    /// Events the engine refused, with their line and reason.
    pub rejected: Vec<EventNote>,
    /// Per trigger, in key order.
    pub triggers: Vec<TriggerTotal>,
    pub total: Total,
    /// Every partner, with stats and tags, in key order.
    pub partners: Vec<Partner>,
    /// Every ledger line, in the order written.
    pub ledger: Vec<LedgerLine>,
}

/// A directory removed when dropped, even on an error.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> anyhow::Result<Scratch> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "partnerops-simulate-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `file`'s events through a fresh engine holding the config in `dir`.
pub async fn simulate(dir: &Path, file: &Path) -> anyhow::Result<Simulation> {
    let config = validate::load_or_report(dir)?;
    let program = config.program.key.clone();
    let scratch = Scratch::new()?;
    let engine = Engine::open(&scratch.0.join("engine.db")).await?;
    let client = Embedded::new(engine);
    let empty = client.snapshot(&program).await?;
    let plan = crate::plan::diff(&config, &empty);
    client
        .apply(&program, &plan.changeset("simulate".into(), None, None))
        .await?;

    let mut pieces = events::pieces(file)?.peekable();
    if pieces.peek().is_none() {
        bail!("{} holds no events", file.display());
    }
    let mut accepted = 0;
    let mut rejected = Vec::new();
    let mut chunk: Vec<Piece> = Vec::new();
    loop {
        let piece = pieces
            .next()
            .transpose()
            .with_context(|| format!("reading {}", file.display()))?;
        let end = piece.is_none();
        chunk.extend(piece);
        if chunk.len() < MAX_BATCH.min(5_000) && !end {
            continue;
        }
        if !chunk.is_empty() {
            let part = events::send(&client, &program, &chunk, accepted).await?;
            accepted += part.accepted;
            // A repeated id in the file is no new event, but the user
            // should hear of it as they would from `events send`.
            rejected.extend(part.rejected);
            rejected.extend(part.duplicates.into_iter().map(|mut d| {
                d.reason = Some("duplicate event id: no effect".to_owned());
                d
            }));
            chunk.clear();
        }
        if end {
            break;
        }
    }

    let mut ledger = Vec::new();
    let mut after = None;
    loop {
        let page = client
            .ledger(
                &program,
                &LedgerQuery {
                    after,
                    limit: MAX_PAGE,
                    ..LedgerQuery::default()
                },
            )
            .await?;
        ledger.extend(page.lines);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let exp = ledger.first().map_or(2, |l| l.amount.exp());
    let mut by_trigger: BTreeMap<String, Total> = BTreeMap::new();
    let mut total = Total::zero(exp);
    for line in &ledger {
        by_trigger
            .entry(line.trigger.clone())
            .or_insert_with(|| Total::zero(exp))
            .add(line.amount);
        total.add(line.amount);
    }
    let mut partners = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = client
            .partners(&program, None, after.as_deref(), 1_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.key.clone());
        let n = page.len();
        partners.extend(page);
        if n < 1_000 {
            break;
        }
    }
    drop(client);
    drop(scratch);
    Ok(Simulation {
        program,
        accepted,
        rejected,
        triggers: by_trigger
            .into_iter()
            .map(|(trigger, amount)| TriggerTotal { trigger, amount })
            .collect(),
        total,
        partners,
        ledger,
    })
}

fn text(s: &Simulation) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Simulated program {}: {} accepted, {} rejected.",
        s.program,
        crate::plural::count(s.accepted, "event"),
        s.rejected.len()
    );
    let _ = writeln!(out, "\nCommissions (net of refunds):");
    let width = s
        .triggers
        .iter()
        .map(|t| t.trigger.len())
        .chain(s.partners.iter().map(|p| p.key.len()))
        .chain([5])
        .max()
        .unwrap_or(5);
    for t in &s.triggers {
        let _ = writeln!(out, "  {:<width$}  {:>12}", t.trigger, t.amount.to_string());
    }
    let _ = writeln!(out, "  {:<width$}  {:>12}", "total", s.total.to_string());
    let _ = writeln!(out, "\nPartners:");
    for p in &s.partners {
        let mut earned = Total::zero(s.total.money().map_or(2, |m| m.exp()));
        for l in s.ledger.iter().filter(|l| l.partner == p.key) {
            earned.add(l.amount);
        }
        let tags: Vec<&str> = p.tags.iter().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "  {:<width$}  {:>12}  revenue {}  tags: {}",
            p.key,
            earned.to_string(),
            p.stats.revenue,
            if tags.is_empty() {
                "-".to_owned()
            } else {
                tags.join(", ")
            }
        );
    }
    let _ = writeln!(
        out,
        "\n{} in the ledger (`--format json` lists them).",
        crate::plural::count(s.ledger.len(), "line")
    );
    out
}

pub async fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let simulation = simulate(&args.dir, &args.events).await?;
    for n in &simulation.rejected {
        let id =
            n.id.as_deref()
                .map(|i| format!(" (event {i})"))
                .unwrap_or_default();
        say!(
            "{}:{}{id}: rejected: {}",
            args.events.display(),
            n.line,
            n.reason.as_deref().unwrap_or("no reason given")
        );
    }
    let printed = match args.format {
        ListFormat::Json => serde_json::to_string_pretty(&simulation)? + "\n",
        _ => text(&simulation),
    };
    output::print(&printed)?;
    Ok(ExitCode::from(if simulation.rejected.is_empty() {
        exit::OK
    } else {
        exit::ERROR
    }))
}
