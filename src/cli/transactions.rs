use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;

use super::history::ListFormat;
use super::{GlobalArgs, exit, output};

#[derive(Debug, Args)]
pub struct TransactionsArgs {
    /// Only transactions with no partner yet: their customer's referral
    /// signup has not arrived (or came after them).
    #[arg(long)]
    pub unattributed: bool,
    /// Only transactions whose subscription key matched no product record.
    #[arg(long)]
    pub unmatched: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

const PAGE: usize = 1_000;

pub async fn list(global: &GlobalArgs, args: &TransactionsArgs) -> anyhow::Result<ExitCode> {
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    let mut stdout = std::io::stdout().lock();
    let json = args.format == ListFormat::Json;
    if json {
        output::write(&mut stdout, "[")?;
    } else {
        output::write(
            &mut stdout,
            &format!(
                "{:<22} {:<16} {:>10}  {:<25}  {:<16} WAITS FOR\n",
                "TRANSACTION", "CUSTOMER", "AMOUNT", "AT", "SUBSCRIPTION"
            ),
        )?;
    }
    let mut after: Option<String> = None;
    let mut count = 0usize;
    loop {
        let page = reader
            .waiting_transactions(
                &program,
                args.unattributed,
                args.unmatched,
                after.as_deref(),
                PAGE,
            )
            .await?;
        let mut out = String::new();
        for t in &page.transactions {
            if json {
                if count > 0 {
                    out.push(',');
                }
                out.push_str("\n  ");
                out.push_str(&serde_json::to_string(t)?);
            } else {
                let mut waits = Vec::new();
                if t.partner.is_none() {
                    waits.push("a referral signup");
                }
                if t.subscription_key.is_some() && t.product.is_none() {
                    waits.push("a product");
                }
                let _ = writeln!(
                    out,
                    "{:<22} {:<16} {:>10}  {:<25}  {:<16} {}",
                    t.key,
                    t.customer,
                    t.amount.to_string(),
                    t.at.to_rfc3339(),
                    t.subscription_key.as_deref().unwrap_or("-"),
                    waits.join(" and ")
                );
            }
            count += 1;
        }
        output::write(&mut stdout, &out)?;
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    if json {
        output::write(&mut stdout, if count > 0 { "\n]\n" } else { "]\n" })?;
    } else {
        output::write(
            &mut stdout,
            &format!(
                "{} waiting\n",
                super::plural(count, "transaction", "transactions")
            ),
        )?;
    }
    Ok(ExitCode::from(exit::OK))
}
