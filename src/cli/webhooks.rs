use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::history::ListFormat;
use super::{GlobalArgs, exit, output};
use crate::store::outbox::{Delivery, DeliveryQuery, DeliveryStatus};

#[derive(Debug, Args)]
pub struct WebhooksArgs {
    #[command(subcommand)]
    pub command: WebhooksCommand,
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// List messages to webhook endpoints and where their delivery stands, newest first.
    Deliveries {
        /// Only this endpoint's messages.
        #[arg(long, value_name = "KEY")]
        endpoint: Option<String>,
        /// Only messages that failed for good.
        #[arg(long)]
        failed: bool,
        /// At most this many (1 to 10000).
        #[arg(long, value_name = "N", default_value = "100", value_parser = clap::value_parser!(u16).range(1..=10_000))]
        limit: u16,
        /// text: one line per message; json: every field, with each message's body.
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Send a message again (same id and body, a fresh signature), due now.
    Redeliver {
        /// The message's id (its webhook-id, `msg_...`).
        id: String,
    },
    /// Print an endpoint's signing secret, alone, on stdout.
    Secret {
        /// The webhook's key.
        key: String,
    },
    /// Replace an endpoint's signing secret and print the new one on stdout;
    /// the old one keeps signing too for 24 hours.
    RotateSecret {
        /// The webhook's key.
        key: String,
    },
    /// Send what is due now, once, from the embedded engine (`serve` sends by itself).
    Dispatch {
        /// Send to loopback and private addresses too (development).
        #[arg(long)]
        allow_private_webhooks: bool,
    },
}

pub async fn run(global: &GlobalArgs, args: &WebhooksArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        WebhooksCommand::Deliveries {
            endpoint,
            failed,
            limit,
            format,
        } => {
            let reader = global.target().reader().await?;
            let program = super::program(reader.as_ref(), global).await?;
            let query = DeliveryQuery {
                endpoint: endpoint.clone(),
                status: failed.then_some(DeliveryStatus::Failed),
                before: None,
                limit: usize::from(*limit),
                with_body: *format == ListFormat::Json,
            };
            let list = reader.deliveries(&program, &query).await?;
            if *format == ListFormat::Json {
                output::println(&serde_json::to_string_pretty(&list)?)?;
            } else {
                output::print(&table(&list))?;
            }
        }
        WebhooksCommand::Redeliver { id } => {
            let writer = global.target().writer().await?;
            let program = super::program(writer.as_ref(), global).await?;
            let d = writer.redeliver(&program, id).await?;
            say!("{} to {} is queued again: it is sent now", d.id, d.endpoint);
        }
        WebhooksCommand::Secret { key } => {
            let reader = global.target().reader().await?;
            let program = super::program(reader.as_ref(), global).await?;
            let secret = reader.webhook_secret(&program, key).await?;
            if let Some(until) = secret.previous_signs_until {
                say!(
                    "the secret it replaced signs too until {}",
                    until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
            }
            output::println(&secret.secret)?;
        }
        WebhooksCommand::RotateSecret { key } => {
            let writer = global.target().writer().await?;
            let program = super::program(writer.as_ref(), global).await?;
            let secret = writer.rotate_webhook_secret(&program, key).await?;
            if let Some(until) = secret.previous_signs_until {
                say!(
                    "new secret for {key}; the old one signs too until {}",
                    until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
            }
            output::println(&secret.secret)?;
        }
        WebhooksCommand::Dispatch {
            allow_private_webhooks,
        } => {
            let writer = global.target().writer().await?;
            let r = writer.dispatch_webhooks(*allow_private_webhooks).await?;
            output::println(&format!(
                "{} delivered, {} to retry, {} failed ({} endpoints)",
                r.delivered, r.retrying, r.failed, r.endpoints
            ))?;
        }
    }
    Ok(ExitCode::from(exit::OK))
}

fn table(list: &[Delivery]) -> String {
    let mut out = String::new();
    if list.is_empty() {
        out.push_str("no messages\n");
        return out;
    }
    let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    for d in list {
        let status = match d.status {
            DeliveryStatus::Pending => match d.next_attempt_at {
                Some(next) => format!("pending (next {})", time(next)),
                None => "pending".to_owned(),
            },
            other => other.as_str().to_owned(),
        };
        let last = match (&d.last_status, &d.last_error) {
            (_, Some(e)) => e.chars().take(80).collect(),
            (Some(s), None) => format!("answered {s}"),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "{}  {}  {:<20}  {:<19}  {:<32}  {} attempt{}  {}",
            d.id,
            time(d.created_at),
            d.endpoint,
            d.event_type.as_str(),
            status,
            d.attempts,
            if d.attempts == 1 { "" } else { "s" },
            last
        );
    }
    out
}
