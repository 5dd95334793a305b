use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::history::ListFormat;
use super::{GlobalArgs, exit, output};

#[derive(Debug, Args)]
pub struct CommissionsArgs {
    /// Only this partner's commissions.
    #[arg(long, value_name = "KEY")]
    pub partner: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
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

pub async fn list(global: &GlobalArgs, args: &CommissionsArgs) -> anyhow::Result<ExitCode> {
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    let commissions = reader
        .commissions(&program, args.partner.as_deref())
        .await?;
    if args.format == ListFormat::Json {
        output::println(&serde_json::to_string_pretty(&commissions)?)?;
        return Ok(ExitCode::from(exit::OK));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<22} {:<20} {:>10}  {:<10}  {:>5}  REV",
        "PARTNER", "TRANSACTION", "TRIGGER", "AMOUNT", "DUE", "PART"
    );
    let mut total = 0i128;
    for c in &commissions {
        total += i128::from(c.amount.cents());
        let _ = writeln!(
            out,
            "{:<16} {:<22} {:<20} {:>10}  {:<10}  {:>5}  {}",
            c.partner,
            c.transaction,
            c.trigger,
            c.amount.to_string(),
            due(c),
            format!("{}/{}", c.installment, c.installments),
            c.revision
        );
    }
    let _ = writeln!(
        out,
        "{}, {} in all",
        crate::plural::count(commissions.len(), "commission"),
        crate::spec::money::format_wide(total)
    );
    output::print(&out)?;
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
    let _ = writeln!(out, "\nrecorded commissions:");
    if e.commissions.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for c in &e.commissions {
        let _ = writeln!(
            out,
            "  {} {} due {} ({}/{}, revision {})",
            c.trigger,
            c.amount,
            due(c),
            c.installment,
            c.installments,
            c.revision
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
            "  {:>9}  due {}  {} ({})",
            c.amount.to_string(),
            c.due_on,
            c.offer,
            c.transaction
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
fn due(c: &crate::engine::runtime::state::CommissionRecord) -> String {
    c.due_on
        .unwrap_or_else(|| c.due_at.date_naive())
        .to_string()
}
