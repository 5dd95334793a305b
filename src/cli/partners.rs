use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;

use super::history::ListFormat;
use super::{GlobalArgs, exit, output};
use crate::engine::partner::Partner;
use crate::engine::runtime::state::{Cause, TagChange};

#[derive(Debug, Args)]
pub struct PartnersArgs {
    /// Only partners with this tag.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct PartnerArgs {
    /// The partner's key.
    pub key: String,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

const PAGE: usize = 1000;

pub async fn list(global: &GlobalArgs, args: &PartnersArgs) -> anyhow::Result<ExitCode> {
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    let mut all: Vec<Partner> = Vec::new();
    loop {
        let after = all.last().map(|p| p.key.clone());
        let page = reader
            .partners(&program, args.tag.as_deref(), after.as_deref(), PAGE)
            .await?;
        let done = page.len() < PAGE;
        all.extend(page);
        if done {
            break;
        }
    }
    if args.format == ListFormat::Json {
        output::println(&serde_json::to_string_pretty(&all)?)?;
        return Ok(ExitCode::from(exit::OK));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<20} {:<12} {:>7} {:>9} {:>12}  TAGS",
        "PARTNER", "GROUP", "SIGNUPS", "CUSTOMERS", "REVENUE"
    );
    for p in &all {
        let _ = writeln!(
            out,
            "{:<20} {:<12} {:>7} {:>9} {:>12}  {}",
            p.key,
            p.group.as_deref().unwrap_or("-"),
            p.stats.signups,
            p.stats.customers,
            p.stats.revenue.to_string(),
            p.tags.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    output::print(&out)?;
    say!(
        "{}{}",
        crate::plural::count(all.len(), "partner"),
        args.tag
            .as_ref()
            .map(|t| format!(" tagged {t}"))
            .unwrap_or_default()
    );
    Ok(ExitCode::from(exit::OK))
}

pub async fn show(global: &GlobalArgs, args: &PartnerArgs) -> anyhow::Result<ExitCode> {
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    let detail = reader.partner(&program, &args.key).await?;
    if args.format == ListFormat::Json {
        output::println(&serde_json::to_string_pretty(&detail)?)?;
        return Ok(ExitCode::from(exit::OK));
    }
    let p = &detail.partner;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "partner {}{}",
        p.key,
        p.name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "  group:            {}",
        p.group.as_deref().unwrap_or("-")
    );
    let _ = writeln!(out, "  joined:           {}", p.joined_at.to_rfc3339());
    let _ = writeln!(out, "  signups:          {}", p.stats.signups);
    let _ = writeln!(out, "  customers:        {}", p.stats.customers);
    let _ = writeln!(out, "  revenue:          {}", p.stats.revenue);
    let _ = writeln!(
        out,
        "  last activity:    {}",
        p.stats.last_activity_at.to_rfc3339()
    );
    let _ = writeln!(
        out,
        "  last referral:    {}",
        p.stats.last_referral_at.to_rfc3339()
    );
    let _ = writeln!(
        out,
        "  tags:             {}",
        p.tags.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    write_tag_history(&mut out, &detail.tag_history);
    output::print(&out)?;
    Ok(ExitCode::from(exit::OK))
}

#[derive(Debug, Args)]
pub struct CustomerArgs {
    /// The customer's key.
    pub key: String,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

pub async fn customer(global: &GlobalArgs, args: &CustomerArgs) -> anyhow::Result<ExitCode> {
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    let detail = reader.customer(&program, &args.key).await?;
    if args.format == ListFormat::Json {
        output::println(&serde_json::to_string_pretty(&detail)?)?;
        return Ok(ExitCode::from(exit::OK));
    }
    let time =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or("-".to_owned(), |t| t.to_rfc3339());
    let mut out = String::new();
    let _ = writeln!(out, "customer {}", detail.key);
    let _ = writeln!(
        out,
        "  referred by:      {}",
        detail.partner.as_deref().unwrap_or("-")
    );
    let _ = writeln!(out, "  first seen:       {}", time(detail.signed_up_at));
    let _ = writeln!(
        out,
        "  first purchase:   {}",
        time(detail.first_purchase_at)
    );
    let _ = writeln!(
        out,
        "  tags:             {}",
        detail.tags.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(out, "products:");
    for p in &detail.products {
        let _ = writeln!(
            out,
            "  {:<20} {:<8} {:<24} since {}{}",
            p.product,
            p.status.as_str(),
            p.external_subscription_key,
            p.created_at.to_rfc3339(),
            p.partner
                .as_deref()
                .map(|s| format!(", sold by {s}"))
                .unwrap_or_default()
        );
    }
    write_tag_history(&mut out, &detail.tag_history);
    output::print(&out)?;
    Ok(ExitCode::from(exit::OK))
}

/// Tag changes, oldest first, each with its cause.
fn write_tag_history(out: &mut String, history: &[TagChange]) {
    let _ = writeln!(out, "tag history:");
    for c in history {
        let cause = match c.cause_kind {
            Cause::Automation => format!("automation {}", c.cause),
            Cause::Config => format!("config {}", c.cause),
            Cause::Person => format!("by {}", c.cause),
            Cause::Correction => c.cause.clone(),
        };
        let event = c
            .event_id
            .as_deref()
            .filter(|_| c.cause_kind != Cause::Correction)
            .map(|e| format!(", event {e}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}  {} {:<20} ({cause}{event})",
            c.at.to_rfc3339(),
            if c.added { "+" } else { "-" },
            c.tag
        );
    }
}
