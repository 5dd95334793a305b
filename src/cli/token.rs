use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::history::ListFormat;
use super::pages::{self, JsonList, PAGE};
use super::{GlobalArgs, exit, output};
use crate::engine::access::{Scope, TokenRecord, TokenRequest};

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, alone, on stdout (it is shown this once).
    ///
    /// With --program (or PARTNEROPS_PROGRAM) the token reaches that program
    /// only. A partner:KEY token is always bound to one: --program, or the
    /// engine's only program.
    ///
    /// On the embedded engine (--db) anyone who can write the file may do this,
    /// which is how the first admin token of a server is made; through --engine
    /// it needs an admin token.
    Create {
        /// config:read, config:write, events:write, data:read, admin or
        /// partner:KEY; repeat or separate with commas for several.
        #[arg(
            long = "scope",
            value_name = "SCOPE",
            required = true,
            value_delimiter = ','
        )]
        scopes: Vec<Scope>,
        /// The token stops working after this long (e.g. 90d, 12h); it never
        /// expires when not given.
        #[arg(long, value_name = "DURATION", value_parser = parse_lifetime)]
        expires_in: Option<chrono::Duration>,
    },
    /// List tokens: id, scopes, program, created, last used (to within about
    /// a minute), expires, revoked. Never the token itself.
    List {
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Revoke a token by its id (from `token list`): from now on it gets 401.
    Revoke {
        /// The token's id.
        id: String,
    },
}

/// `90d`, `12h`, `30m`: at most ten years.
fn parse_lifetime(s: &str) -> Result<chrono::Duration, String> {
    let s = s.trim();
    let bad = || format!("`{s}` is not a duration like 90d, 12h or 30m");
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    const MAX: i64 = 3653 * 86_400;
    match n.checked_mul(seconds) {
        Some(0) => Err(format!("`{s}`: a token must live longer than that")),
        Some(total) if total <= MAX => Ok(chrono::Duration::seconds(total)),
        _ => Err(format!("`{s}` is too long: at most 3653d (ten years)")),
    }
}

pub async fn run(global: &GlobalArgs, args: &TokenArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        TokenCommand::Create { scopes, expires_in } => {
            let writer = global.target().writer().await?;
            // A partner key names a partner of one program, so a partner
            // token is bound to it; other tokens only when --program says so.
            let program = if scopes.iter().any(|s| matches!(s, Scope::Partner(_))) {
                Some(super::program(writer.as_ref(), global).await?)
            } else {
                global.program.clone()
            };
            let token = writer
                .issue_token(&TokenRequest {
                    scopes: scopes.clone(),
                    program,
                    expires_at: expires_in.map(|d| chrono::Utc::now() + d),
                })
                .await?;
            output::println(&token)?;
            Ok(ExitCode::from(exit::OK))
        }
        TokenCommand::List { format } => {
            let reader = global.target().reader().await?;
            let fetch =
                async |cursor: Option<String>| reader.tokens_page(cursor.as_deref(), PAGE).await;
            if *format == ListFormat::Json {
                let mut list = JsonList::default();
                pages::walk(fetch, |page| page.iter().try_for_each(|t| list.push(t))).await?;
                list.finish()?;
                return Ok(ExitCode::from(exit::OK));
            }
            output::println(&format!(
                "{:<12}  {:<20}  {:<20}  {:<20}  {:<20}  {:<20}  {}",
                "ID", "CREATED", "LAST USED", "EXPIRES", "REVOKED", "PROGRAM", "SCOPES"
            ))?;
            let now = chrono::Utc::now();
            let count = pages::walk(fetch, |page| {
                let text: String = page.iter().map(|t| row(t, now)).collect();
                output::print(&text)
            })
            .await?;
            say!("{count} tokens");
            Ok(ExitCode::from(exit::OK))
        }
        TokenCommand::Revoke { id } => {
            let writer = global.target().writer().await?;
            let record = writer.revoke_token(id).await?;
            say!(
                "token {} revoked at {}",
                record.id,
                record
                    .revoked_at
                    .map_or_else(String::new, |t| t.to_rfc3339())
            );
            Ok(ExitCode::from(exit::OK))
        }
    }
}

fn row(t: &TokenRecord, now: chrono::DateTime<chrono::Utc>) -> String {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(
            || "-".to_owned(),
            |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        )
    };
    let expires = match t.expires_at {
        Some(at) if at <= now => format!("{} (expired)", time(Some(at))),
        other => time(other),
    };
    format!(
        "{:<12}  {:<20}  {:<20}  {:<20}  {:<20}  {:<20}  {}\n",
        t.id,
        time(Some(t.created_at)),
        time(t.last_used_at),
        expires,
        time(t.revoked_at),
        t.program.as_deref().unwrap_or("(any)"),
        t.scopes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    )
}
