//! `payouts plan | create | list | show` and `report products`.

use std::fmt::Write as _;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};

use super::history::ListFormat;
use super::{GlobalArgs, exit, output};
use crate::engine::ledger::payouts::PayoutDetail;
use crate::store::record::PayoutPartner;

#[derive(Debug, Args)]
pub struct PayoutsArgs {
    #[command(subcommand)]
    pub what: Payouts,
}

#[derive(Debug, Subcommand)]
pub enum Payouts {
    /// What a payout would pay: per partner, the approved lines no payout
    /// holds; partners below the program's minimum are carried over.
    Plan {
        /// Pay what is approved as of this time (RFC 3339 or a date) instead of now.
        #[arg(long, value_name = "TIME", value_parser = super::time_arg)]
        as_of: Option<DateTime<Utc>>,
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Records a payout: its lines become paid, in one transaction. Needs
    /// --yes; over --engine a token with payouts:write.
    Create {
        #[arg(long, value_name = "TIME", value_parser = super::time_arg)]
        as_of: Option<DateTime<Utc>>,
        /// Do it (without, nothing is changed).
        #[arg(short, long)]
        yes: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: PayoutFormat,
    },
    /// Every payout, oldest first.
    List {
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// One payout: per partner key, name, email, amount, currency, lines.
    Show {
        id: u64,
        #[arg(long, value_enum, default_value = "text")]
        format: PayoutFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PayoutFormat {
    Text,
    Json,
    Csv,
}

fn partner_rows(out: &mut String, partners: &[PayoutPartner], currency: &str) {
    let _ = writeln!(
        out,
        "  {:<20} {:<24} {:<28} {:>12} {:<4} {:>6}",
        "PARTNER", "NAME", "EMAIL", "AMOUNT", "", "LINES"
    );
    for p in partners {
        let _ = writeln!(
            out,
            "  {:<20} {:<24} {:<28} {:>12} {:<4} {:>6}",
            p.partner,
            p.name.as_deref().unwrap_or("-"),
            p.email.as_deref().unwrap_or("-"),
            p.amount.to_string(),
            currency,
            p.lines
        );
    }
}

fn show_payout(detail: &PayoutDetail, format: PayoutFormat) -> anyhow::Result<()> {
    match format {
        PayoutFormat::Json => output::println(&serde_json::to_string_pretty(detail)?),
        PayoutFormat::Csv => output::print(&crate::engine::ledger::csv::payout(detail)),
        PayoutFormat::Text => {
            let p = &detail.payout;
            let mut out = format!(
                "payout {} of program {}: {} {} to {}, {}, as of {} (made {})\n",
                p.id,
                p.program,
                p.total,
                p.currency,
                super::plural(
                    usize::try_from(p.partners).unwrap_or(0),
                    "partner",
                    "partners"
                ),
                super::plural(usize::try_from(p.lines).unwrap_or(0), "line", "lines"),
                p.as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                p.created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
            partner_rows(&mut out, &detail.partners, &p.currency);
            output::print(&out)
        }
    }
}

pub async fn run(global: &GlobalArgs, args: &PayoutsArgs) -> anyhow::Result<ExitCode> {
    match &args.what {
        Payouts::Plan { as_of, format } => {
            let reader = global.target().reader().await?;
            let program = super::program(reader.as_ref(), global).await?;
            let plan = reader
                .payout_plan(&program, as_of.unwrap_or_else(Utc::now))
                .await?;
            if *format == ListFormat::Json {
                output::println(&serde_json::to_string_pretty(&plan)?)?;
                return Ok(ExitCode::from(exit::OK));
            }
            let mut out = format!(
                "payout plan for program {} as of {} (hold {} days, minimum {} {}):\n",
                plan.program,
                plan.as_of
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                plan.hold_days,
                plan.minimum,
                plan.currency
            );
            if plan.partners.is_empty() {
                out.push_str("  nothing is payable\n");
            } else {
                partner_rows(&mut out, &plan.partners, &plan.currency);
            }
            let _ = writeln!(
                out,
                "{} {} to {}",
                plan.total,
                plan.currency,
                super::plural(plan.partners.len(), "partner", "partners")
            );
            if !plan.carried_over.is_empty() {
                out.push_str("carried over (approved net below the minimum, or not above zero):\n");
                partner_rows(&mut out, &plan.carried_over, &plan.currency);
            }
            output::print(&out)?;
            Ok(ExitCode::from(exit::OK))
        }
        Payouts::Create { as_of, yes, format } => {
            if !yes {
                say!(
                    "payouts create changes the ledger: run it again with --yes (see `payouts plan` first)"
                );
                return Ok(ExitCode::from(exit::REFUSED));
            }
            let writer = global.target().writer().await?;
            let program = super::program(writer.as_ref(), global).await?;
            match writer
                .create_payout(&program, as_of.unwrap_or_else(Utc::now))
                .await?
            {
                Some(detail) => show_payout(&detail, *format)?,
                None => say!("nothing is payable: no payout was made"),
            }
            Ok(ExitCode::from(exit::OK))
        }
        Payouts::List { format } => {
            let reader = global.target().reader().await?;
            let program = super::program(reader.as_ref(), global).await?;
            let payouts = reader.payouts(&program).await?;
            if *format == ListFormat::Json {
                output::println(&serde_json::to_string_pretty(&payouts)?)?;
                return Ok(ExitCode::from(exit::OK));
            }
            let mut out = format!(
                "{:>4}  {:<20}  {:<20}  {:>8} {:>8} {:>14}\n",
                "ID", "MADE", "AS OF", "PARTNERS", "LINES", "TOTAL"
            );
            for p in &payouts {
                let _ = writeln!(
                    out,
                    "{:>4}  {:<20}  {:<20}  {:>8} {:>8} {:>14} {}",
                    p.id,
                    p.created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    p.as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    p.partners,
                    p.lines,
                    p.total.to_string(),
                    p.currency
                );
            }
            output::print(&out)?;
            Ok(ExitCode::from(exit::OK))
        }
        Payouts::Show { id, format } => {
            let reader = global.target().reader().await?;
            let program = super::program(reader.as_ref(), global).await?;
            show_payout(&reader.payout(&program, *id).await?, *format)?;
            Ok(ExitCode::from(exit::OK))
        }
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub what: Report,
}

#[derive(Debug, Subcommand)]
pub enum Report {
    /// Per product: customers, sales, revenue (less refunds) and net
    /// commissions of transactions in the window.
    Products {
        /// Transactions at or after this time (RFC 3339 or a date).
        #[arg(long, value_name = "TIME", value_parser = super::time_arg)]
        since: Option<DateTime<Utc>>,
        /// Transactions before this time (RFC 3339 or a date).
        #[arg(long, value_name = "TIME", value_parser = super::time_arg)]
        until: Option<DateTime<Utc>>,
        /// Split each product by partner.
        #[arg(long, value_enum)]
        by: Option<By>,
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum By {
    Partner,
}

pub async fn report(global: &GlobalArgs, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let Report::Products {
        since,
        until,
        by,
        format,
    } = &args.what;
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    let report = reader
        .product_report(&program, *since, *until, by.is_some())
        .await?;
    if *format == ListFormat::Json {
        output::println(&serde_json::to_string_pretty(&report)?)?;
        return Ok(ExitCode::from(exit::OK));
    }
    let mut out = String::new();
    let split = by.is_some();
    let _ = writeln!(
        out,
        "{:<20} {:<20}{} {:>9} {:>7} {:>14} {:>14}",
        "PRODUCT",
        "NAME",
        if split {
            format!(" {:<18}", "PARTNER")
        } else {
            String::new()
        },
        "CUSTOMERS",
        "SALES",
        "REVENUE",
        "COMMISSIONS"
    );
    for r in &report.rows {
        let _ = writeln!(
            out,
            "{:<20} {:<20}{} {:>9} {:>7} {:>14} {:>14}",
            r.product.as_deref().unwrap_or("(no product)"),
            r.name.as_deref().unwrap_or("-"),
            if split {
                format!(" {:<18}", r.partner.as_deref().unwrap_or("(none)"))
            } else {
                String::new()
            },
            r.customers,
            r.sales,
            r.revenue.to_string(),
            r.commissions.to_string()
        );
    }
    let _ = writeln!(out, "amounts in {}", report.currency);
    output::print(&out)?;
    Ok(ExitCode::from(exit::OK))
}
