//! The command line: argument types here, one module per command.

/// `eprintln!` that never panics: with stderr closed (`2>/dev/full`, a
/// reader that went away) there is no one left to tell.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod apply;
mod commissions;
mod erase;
mod events;
mod export;
mod history;
mod output;
mod pages;
mod partners;
mod plan;
mod provenance;
mod schema;
mod serve;
mod sweep;
mod token;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::client::Target;

/// partnerops: partner-program config in git. Validate it, plan it against the
/// live engine, apply it.
#[derive(Debug, Parser)]
#[command(name = "partnerops", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts, before or after the subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Engine URL to talk to over HTTP, e.g. http://127.0.0.1:7420 (default: the embedded engine).
    #[arg(long, global = true, env = "PARTNEROPS_ENGINE", value_name = "URL")]
    pub engine: Option<String>,
    /// SQLite file of the embedded engine.
    #[arg(
        long,
        global = true,
        env = "PARTNEROPS_DB",
        value_name = "PATH",
        default_value = ".partnerops/engine.db"
    )]
    pub db: PathBuf,
    /// Program to act on, when the engine holds several.
    #[arg(long, global = true, env = "PARTNEROPS_PROGRAM", value_name = "KEY")]
    pub program: Option<String>,
    /// Bearer token for --engine.
    #[arg(
        long,
        global = true,
        env = "PARTNEROPS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a config directory; print every error as file:line:column.
    Validate(validate::ValidateArgs),
    /// Show what applying a config directory would change in the engine.
    Plan(plan::PlanArgs),
    /// Apply a config directory, or a plan saved with `plan --out`, as one changeset.
    Apply(apply::ApplyArgs),
    /// Write the engine's config as YAML that plans to no changes.
    Export(export::ExportArgs),
    /// List the changesets applied to a program.
    History(history::HistoryArgs),
    /// Send partner events.
    Events(events::EventsArgs),
    /// Run the daily checks (anniversary, inactive, no_referrals) now.
    Sweep(sweep::SweepArgs),
    /// List partners with their stats and tags.
    Partners(partners::PartnersArgs),
    /// Show one partner: stats, tags and tag history.
    Partner(partners::PartnerArgs),
    /// Show one customer: referrer, products, tags and tag history.
    Customer(partners::CustomerArgs),
    /// List commissions (the ledger).
    Commissions(commissions::CommissionsArgs),
    /// Explain why commissions did or did not fire.
    Explain(commissions::ExplainArgs),
    /// What a partner sees: their customers' products, their commissions, their offers.
    PartnerView(commissions::ViewArgs),
    /// Print the JSON Schema of config files.
    Schema(schema::SchemaArgs),
    /// Run the engine as an HTTP server.
    Serve(serve::ServeArgs),
    /// Print the OpenAPI 3.1 document of the server's HTTP API.
    Openapi,
    /// Manage API tokens.
    Token(token::TokenArgs),
}

/// Exit statuses shared by every command.
pub mod exit {
    pub const OK: u8 = 0;
    /// Invalid input or a failure.
    pub const ERROR: u8 = 1;
    /// `plan --exit-code`: the plan has changes.
    pub const CHANGES: u8 = 2;
    /// A safety guard refused.
    pub const REFUSED: u8 = 3;
}

impl GlobalArgs {
    pub fn target(&self) -> Target {
        Target {
            engine: self.engine.clone(),
            db: self.db.clone(),
            token: self.token.clone(),
        }
    }
}

/// A config or saved plan names its program; a `--program` (or
/// `PARTNEROPS_PROGRAM`) that names another is a mistake worth stopping for,
/// not an option to ignore.
/// `what` names it: "the config", "the saved plan".
pub fn check_program(global: &GlobalArgs, what: &str, program: &str) -> anyhow::Result<()> {
    match &global.program {
        Some(asked) if asked != program => anyhow::bail!(
            "--program (or PARTNEROPS_PROGRAM) is `{asked}` but {what} is for program `{program}`"
        ),
        _ => Ok(()),
    }
}

/// The program to act on: `--program`, or the only one the engine holds.
pub async fn program(
    reader: &dyn crate::client::Reader,
    global: &GlobalArgs,
) -> anyhow::Result<String> {
    if let Some(p) = &global.program {
        return Ok(p.clone());
    }
    let programs = reader.programs().await?;
    match programs.as_slice() {
        [one] => Ok(one.key.clone()),
        [] => anyhow::bail!("the engine holds no program yet; apply a config first"),
        many => anyhow::bail!(
            "the engine holds programs {}; choose one with --program",
            many.iter()
                .map(|p| p.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub fn main() -> ExitCode {
    // `PARTNEROPS_DB=` and the like mean "not set", as in a shell script that
    // clears a variable; clap would take them as empty values.
    let empty: Vec<std::ffi::OsString> = std::env::vars_os()
        .filter(|(name, value)| {
            value.is_empty() && name.to_str().is_some_and(|n| n.starts_with("PARTNEROPS_"))
        })
        .map(|(name, _)| name)
        .collect();
    for name in empty {
        // SAFETY: nothing else runs yet; the async runtime and its threads
        // start below.
        unsafe { std::env::remove_var(name) };
    }
    // clap exits 2 on a usage error, which here means "the plan has changes".
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let cli = match parsed {
        Ok((mut cli, matches)) => {
            let from_env = |id: &str| matches.value_source(id) == Some(ValueSource::EnvVariable);
            let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
            // What the command line says beats what the environment says:
            // `--db` over PARTNEROPS_ENGINE, and serve (which runs an engine
            // on its file) never talks to one.
            if from_env("engine") && (given("db") || matches!(cli.command, Command::Serve(_))) {
                cli.global.engine = None;
            }
            cli
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            });
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            say!("error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = &cli.global;
    // Commands that act on no program do not care what it says.
    let uses_program = !matches!(
        cli.command,
        Command::Validate(_) | Command::Schema(_) | Command::Serve(_) | Command::Openapi
    );
    if uses_program
        && let Some(problem) = global
            .program
            .as_deref()
            .and_then(crate::spec::check::key_problem)
    {
        anyhow::bail!("--program (or PARTNEROPS_PROGRAM): {problem}");
    }
    match &cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Plan(args) => plan::run(global, args).await,
        Command::Apply(args) => apply::run(global, args).await,
        Command::Export(args) => export::run(global, args).await,
        Command::History(args) => history::run(global, args).await,
        Command::Events(args) => events::run(global, args).await,
        Command::Sweep(args) => sweep::run(global, args).await,
        Command::Partners(args) => partners::list(global, args).await,
        Command::Partner(args) => partners::show(global, args).await,
        Command::Customer(args) => partners::customer(global, args).await,
        Command::Commissions(args) => commissions::list(global, args).await,
        Command::Explain(args) => commissions::explain(global, args).await,
        Command::PartnerView(args) => commissions::view(global, args).await,
        Command::Serve(args) => serve::run(global, args).await,
        Command::Openapi => {
            output::println(&format!("{:#}", crate::server::openapi::document()))?;
            Ok(ExitCode::from(exit::OK))
        }
        Command::Token(args) => token::run(global, args).await,
    }
}
