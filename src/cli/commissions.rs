use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use chrono::{DateTime, Utc};

use super::history::ListFormat;
use super::{GlobalArgs, exit, output};
use crate::engine::ledger::listing::LedgerQuery;
use crate::spec::money::Total;
use crate::store::record::{LedgerLine, LineKind, LineStatus};

#[derive(Debug, Args)]
pub struct CommissionsArgs {
    /// Only this partner's lines.
    #[arg(long, value_name = "KEY")]
    pub partner: Option<String>,
    /// Only lines in this state.
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// Only lines due at or after this time (RFC 3339, or a date: midnight UTC).
    #[arg(long, value_name = "TIME", value_parser = super::time_arg)]
    pub since: Option<DateTime<Utc>>,
    /// Only lines due before this time (RFC 3339, or a date: midnight UTC).
    #[arg(long, value_name = "TIME", value_parser = super::time_arg)]
    pub until: Option<DateTime<Utc>>,
    /// text: a table with the total; json: an array of lines; csv: one row
    /// per line, for a spreadsheet.
    #[arg(long, value_enum, default_value = "text")]
    pub format: TableFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusArg {
    Pending,
    Approved,
    Paid,
}

impl From<StatusArg> for LineStatus {
    fn from(s: StatusArg) -> LineStatus {
        match s {
            StatusArg::Pending => LineStatus::Pending,
            StatusArg::Approved => LineStatus::Approved,
            StatusArg::Paid => LineStatus::Paid,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    Text,
    Json,
    Csv,
}

/// `explain KEY` or, as before, `explain transaction KEY`.
#[derive(Debug, Args)]
#[command(
    subcommand_negates_reqs = true,
    override_usage = "partnerops explain [OPTIONS] <KEY>\n       partnerops explain transaction [OPTIONS] <KEY>"
)]
pub struct ExplainArgs {
    #[command(subcommand)]
    pub what: Option<Explain>,
    /// The transaction's key (`explain KEY` is short for `explain transaction KEY`).
    #[arg(required = true, value_name = "KEY")]
    pub key: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

#[derive(Debug, Subcommand)]
pub enum Explain {
    /// Why each commission trigger did or did not fire for a transaction.
    Transaction {
        /// The transaction's key.
        key: String,
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
}

#[derive(Debug, Args)]
pub struct ViewArgs {
    /// The partner (with a partner:KEY token over --engine, leave it out).
    pub key: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

/// Lines read per request: the ledger is printed as it is read, so memory
/// does not grow with it.
const PAGE: usize = 1_000;

pub async fn list(global: &GlobalArgs, args: &CommissionsArgs) -> anyhow::Result<ExitCode> {
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    let currency = reader
        .snapshot(&program)
        .await?
        .config()
        .map(|c| c.program.currency)
        .unwrap_or_default();
    let mut query = LedgerQuery {
        partner: args.partner.clone(),
        transaction: None,
        status: args.status.map(Into::into),
        since: args.since,
        until: args.until,
        after: None,
        limit: PAGE,
    };
    let mut stdout = std::io::stdout().lock();
    let mut count = 0usize;
    let mut total: Option<Total> = None;
    match args.format {
        TableFormat::Text => output::write(
            &mut stdout,
            &format!(
                "{:>6}  {:<16} {:<20} {:<20} {:<10} {:>10}  {:<10}  {:<8} {:>5}  REV\n",
                "LINE",
                "PARTNER",
                "TRANSACTION",
                "TRIGGER",
                "KIND",
                "AMOUNT",
                "DUE",
                "STATUS",
                "PART"
            ),
        )?,
        TableFormat::Json => output::write(&mut stdout, "[")?,
        TableFormat::Csv => output::write(
            &mut stdout,
            &crate::engine::ledger::csv::lines(&[], &currency, true),
        )?,
    }
    loop {
        let page = reader.ledger(&program, &query).await?;
        let mut out = String::new();
        for l in &page.lines {
            total
                .get_or_insert_with(|| Total::zero(l.amount.exp()))
                .add(l.amount);
            match args.format {
                TableFormat::Text => {
                    let _ = writeln!(
                        out,
                        "{:>6}  {:<16} {:<20} {:<20} {:<10} {:>10}  {:<10}  {:<8} {:>5}  {}",
                        l.id,
                        l.partner,
                        l.transaction,
                        l.trigger,
                        l.kind.as_str(),
                        l.amount.to_string(),
                        due(l),
                        l.status.as_str(),
                        format!("{}/{}", l.installment, l.installments),
                        l.revision
                    );
                }
                TableFormat::Json => {
                    if count > 0 {
                        out.push(',');
                    }
                    out.push_str("\n  ");
                    out.push_str(&serde_json::to_string(l)?);
                }
                TableFormat::Csv => {}
            }
            count += 1;
        }
        if args.format == TableFormat::Csv {
            out = crate::engine::ledger::csv::lines(&page.lines, &currency, false);
        }
        output::write(&mut stdout, &out)?;
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    match args.format {
        TableFormat::Text => output::write(
            &mut stdout,
            &format!(
                "{}, {} in all\n",
                super::plural(count, "line", "lines"),
                total.map_or_else(|| "0".to_owned(), |t| t.to_string())
            ),
        )?,
        TableFormat::Json => output::write(&mut stdout, if count > 0 { "\n]\n" } else { "]\n" })?,
        TableFormat::Csv => {}
    }
    Ok(ExitCode::from(exit::OK))
}

pub async fn explain(global: &GlobalArgs, args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let (key, format) = match (&args.what, &args.key) {
        (Some(Explain::Transaction { key, format }), _) => (key, format),
        (None, Some(key)) => (key, &args.format),
        (None, None) => anyhow::bail!("explain needs a transaction's key"),
    };
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    let e = reader.explain_transaction(&program, key).await?;
    if *format == ListFormat::Json {
        output::println(&serde_json::to_string_pretty(&e)?)?;
        return Ok(ExitCode::from(exit::OK));
    }
    let t = &e.transaction;
    let kind = serde_json::to_value(t.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "transaction {}: {} ({kind}) on {}, customer {}",
        t.key,
        t.amount,
        t.at.to_rfc3339(),
        t.customer
    );
    let _ = writeln!(out, "  product:  {}", e.product_match);
    let _ = writeln!(out, "  partner:  {}", e.attribution);
    let _ = writeln!(
        out,
        "  config:   judged under revision {}, as the transaction was{}",
        e.revision,
        if e.current_revision == e.revision {
            String::new()
        } else {
            format!(" (the program is at revision {} now)", e.current_revision)
        }
    );
    let _ = writeln!(out);
    for trigger in &e.triggers {
        let verdict = match (trigger.enabled, trigger.fires) {
            (false, _) => "disabled".to_owned(),
            (true, true) => format!(
                "fires: {}",
                trigger.amount.map(|a| a.to_string()).unwrap_or_default()
            ),
            (true, false) => "does not fire".to_owned(),
        };
        let mark = if trigger.fires { "✓" } else { "✗" };
        let _ = writeln!(out, "{mark} {} — {verdict}", trigger.trigger);
        for r in &trigger.rules {
            let _ = writeln!(
                out,
                "    {} {}: {}",
                if r.holds { "✓" } else { "✗" },
                r.rule.subject(),
                r.reason
            );
        }
        if trigger.rules.is_empty() && t.partner.is_some() {
            let _ = writeln!(out, "    (no rules: every attributed transaction)");
        }
    }
    let _ = writeln!(out, "\nledger lines:");
    if e.commissions.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for c in &e.commissions {
        let _ = writeln!(
            out,
            "  {:<10} {} {} to {} due {} ({}/{}, revision {}, {}){}",
            c.kind.as_str(),
            c.trigger,
            c.amount,
            c.partner,
            due(c),
            c.installment,
            c.installments,
            c.revision,
            c.status.as_str(),
            c.cause
                .as_deref()
                .map(|e| format!(", event {e}"))
                .unwrap_or_default()
        );
    }
    for r in &e.refunds {
        let _ = writeln!(
            out,
            "  refund {} of {} on {}{}",
            r.key,
            r.amount,
            r.at.to_rfc3339(),
            if r.applied { "" } else { " (waiting)" }
        );
    }
    output::print(&out)?;
    Ok(ExitCode::from(exit::OK))
}

pub async fn view(global: &GlobalArgs, args: &ViewArgs) -> anyhow::Result<ExitCode> {
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    let v = reader.partner_view(&program, args.key.as_deref()).await?;
    if args.format == ListFormat::Json {
        output::println(&serde_json::to_string_pretty(&v)?)?;
        return Ok(ExitCode::from(exit::OK));
    }
    let mut out = String::new();
    let _ = writeln!(out, "partner {}\n\ncustomers:", v.partner);
    for c in &v.customers {
        let _ = writeln!(out, "  {}", c.key);
        for p in &c.products {
            let status = serde_json::to_value(p.status)
                .ok()
                .and_then(|s| s.as_str().map(str::to_owned))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    {:<16} {:<8} {:>9}  since {}",
                p.product,
                status,
                p.amount.map(|a| a.to_string()).unwrap_or_default(),
                p.purchased_at.format("%Y-%m-%d")
            );
        }
    }
    let _ = writeln!(out, "\ncommissions:");
    for c in &v.commissions {
        let _ = writeln!(
            out,
            "  {:>9}  due {}  {:<8} {} ({}{})",
            c.amount.to_string(),
            c.due_on,
            c.status.as_str(),
            c.offer,
            c.transaction,
            match c.kind {
                LineKind::Commission => "",
                LineKind::Reversal => ", reversed",
                LineKind::Adjustment => ", adjusted",
            }
        );
    }
    let _ = writeln!(out, "\noffers:");
    for o in &v.offers {
        let _ = writeln!(out, "  {o}");
    }
    output::print(&out)?;
    Ok(ExitCode::from(exit::OK))
}

/// The due date in the program's time zone (where drip month ends clamp),
/// falling back to the UTC date.
fn due(c: &LedgerLine) -> String {
    c.due_on
        .unwrap_or_else(|| c.due_at.date_naive())
        .to_string()
}
