use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;

use super::history::ListFormat;
use super::pages::{self, JsonList, PAGE};
use super::{GlobalArgs, exit, output};
use crate::client::Reader;
use crate::engine::partner::Partner;
use crate::engine::runtime::state::{Cause, Subject, TagChange};

#[derive(Debug, Args)]
pub struct PartnersArgs {
    /// Only partners with this tag.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct PartnerArgs {
    /// The partner's key.
    #[arg(required = true)]
    pub key: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
    #[command(subcommand)]
    pub command: Option<PartnerCommand>,
}

#[derive(Debug, clap::Subcommand)]
pub enum PartnerCommand {
    /// Erase a partner's personal data (name and email) from the partner and
    /// every stored event; keys, money and tags stay. Irreversible.
    Erase(super::erase::EraseArgs),
}

pub async fn list(global: &GlobalArgs, args: &PartnersArgs) -> anyhow::Result<ExitCode> {
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    let tag = args.tag.as_deref();
    let fetch = async |cursor: Option<String>| {
        reader
            .partners_page(&program, tag, cursor.as_deref(), PAGE)
            .await
    };
    if args.format == ListFormat::Json {
        let mut list = JsonList::default();
        pages::walk(fetch, |page| page.iter().try_for_each(|p| list.push(p))).await?;
        list.finish()?;
        return Ok(ExitCode::from(exit::OK));
    }
    output::println(&format!(
        "{:<20} {:<12} {:>7} {:>9} {:>12}  TAGS",
        "PARTNER", "GROUP", "SIGNUPS", "CUSTOMERS", "REVENUE"
    ))?;
    let count = pages::walk(fetch, |page| {
        let mut out = String::new();
        for p in &page {
            write_row(&mut out, p);
        }
        output::print(&out)
    })
    .await?;
    say!(
        "{}{}",
        crate::plural::count(count, "partner"),
        args.tag
            .as_ref()
            .map(|t| format!(" tagged {t}"))
            .unwrap_or_default()
    );
    Ok(ExitCode::from(exit::OK))
}

fn write_row(out: &mut String, p: &Partner) {
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

/// The tag changes after the first page a detail holds, printed a page at a
/// time; a JSON detail gets them in its `tag_history` instead.
async fn rest_of_history(
    reader: &dyn Reader,
    program: &str,
    subject: Subject,
    key: &str,
    cursor: Option<String>,
) -> anyhow::Result<()> {
    let Some(first) = cursor else {
        return Ok(());
    };
    let mut first = Some(first);
    pages::walk(
        async |cursor: Option<String>| {
            let cursor = first.take().or(cursor);
            reader
                .tag_history_page(program, subject, key, cursor.as_deref(), PAGE)
                .await
        },
        |page| {
            let mut out = String::new();
            write_changes(&mut out, &page);
            output::print(&out)
        },
    )
    .await?;
    Ok(())
}

/// Every tag change after `cursor`, for a JSON document that holds them all.
async fn all_history(
    reader: &dyn Reader,
    program: &str,
    subject: Subject,
    key: &str,
    history: &mut Vec<TagChange>,
    cursor: Option<String>,
) -> anyhow::Result<()> {
    let mut cursor = cursor;
    while let Some(c) = cursor.take() {
        let mut page = reader
            .tag_history_page(program, subject, key, Some(&c), PAGE)
            .await?;
        history.append(&mut page.items);
        cursor = page.next_cursor;
    }
    Ok(())
}

pub async fn show(global: &GlobalArgs, args: &PartnerArgs) -> anyhow::Result<ExitCode> {
    let key = match (&args.command, &args.key) {
        (Some(PartnerCommand::Erase(erase)), _) => return super::erase::run(global, erase).await,
        (None, Some(key)) => key.clone(),
        (None, None) => anyhow::bail!("name the partner: partnerops partner KEY"),
    };
    let args = &ShowArgs {
        key,
        format: args.format,
    };
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    let mut detail = reader.partner(&program, &args.key).await?;
    if args.format == ListFormat::Json {
        let cursor = detail.tag_history_next_cursor.take();
        all_history(
            reader.as_ref(),
            &program,
            Subject::Partner,
            &args.key,
            &mut detail.tag_history,
            cursor,
        )
        .await?;
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
    for e in &detail.erasures {
        let _ = writeln!(
            out,
            "  erased:           {} (name and email, from {} stored events)",
            e.erased_at.to_rfc3339(),
            e.events
        );
    }
    write_tag_history(&mut out, &detail.tag_history);
    output::print(&out)?;
    rest_of_history(
        reader.as_ref(),
        &program,
        Subject::Partner,
        &args.key,
        detail.tag_history_next_cursor.clone(),
    )
    .await?;
    Ok(ExitCode::from(exit::OK))
}

/// `partner KEY`, once told from `partner erase KEY`.
struct ShowArgs {
    key: String,
    format: ListFormat,
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
    let mut detail = reader.customer(&program, &args.key).await?;
    if args.format == ListFormat::Json {
        let cursor = detail.tag_history_next_cursor.take();
        all_history(
            reader.as_ref(),
            &program,
            Subject::Customer,
            &args.key,
            &mut detail.tag_history,
            cursor,
        )
        .await?;
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
    rest_of_history(
        reader.as_ref(),
        &program,
        Subject::Customer,
        &args.key,
        detail.tag_history_next_cursor.clone(),
    )
    .await?;
    Ok(ExitCode::from(exit::OK))
}

/// Tag changes, oldest first, each with its cause.
fn write_tag_history(out: &mut String, history: &[TagChange]) {
    let _ = writeln!(out, "tag history:");
    write_changes(out, history);
}

fn write_changes(out: &mut String, history: &[TagChange]) {
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
