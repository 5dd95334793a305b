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
pub mod color;
mod commissions;
mod completions;
mod db;
mod erase;
mod event_file;
mod events;
mod export;
mod fmt;
mod history;
mod init;
mod output;
mod pages;
mod partners;
mod payouts;
mod plan;
mod planfile;
pub mod progress;
mod provenance;
mod schema;
mod serve;
mod show;
mod simulate;
mod sources;
mod sweep;
mod token;
mod transactions;
mod validate;
mod webhooks;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::client::Target;

/// partnerops: partner-program config in git. Validate it, plan it against the
/// live engine, apply it.
#[derive(Debug, Parser)]
#[command(
    name = "partnerops",
    version,
    about,
    propagate_version = true,
    after_help = "Commands that reach an engine take --engine, --db, --program and --token, \
                  before or after the command's name; see `partnerops help COMMAND`."
)]
pub struct Cli {
    /// Colour: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: color::When,
    /// Where the engine is, for the commands that reach one: resolved from the
    /// command line and the environment by [`parse_from`], never by clap alone.
    #[arg(skip)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the engine is: the options of the commands that reach one.
#[derive(Debug, Clone)]
pub struct GlobalArgs {
    pub engine: Option<String>,
    pub db: PathBuf,
    pub program: Option<String>,
    pub token: Option<String>,
}

impl Default for GlobalArgs {
    fn default() -> GlobalArgs {
        GlobalArgs {
            engine: None,
            db: PathBuf::from(DEFAULT_DB),
            program: None,
            token: None,
        }
    }
}

const DEFAULT_DB: &str = ".partnerops/engine.db";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a config in a directory: a program that validates, the JSON Schema
    /// for editors, and a .gitignore that keeps the engine's files out of git.
    Init(init::InitArgs),
    /// Check a config directory; print every error as file:line:column.
    Validate(validate::ValidateArgs),
    /// Format config files the canonical way, keeping comments.
    Fmt(fmt::FmtArgs),
    /// Show what applying a config directory would change in the engine.
    Plan(plan::PlanArgs),
    /// Run a file of events through a config, in a throwaway engine: the
    /// ledger and tags it would produce, for trying a program before it exists.
    Simulate(simulate::SimulateArgs),
    /// Print a plan saved with `plan --out`, without reaching the engine.
    Show(show::ShowArgs),
    /// Apply a config directory, or a plan saved with `plan --out`, as one changeset.
    Apply(apply::ApplyArgs),
    /// Write the engine's config as YAML that plans to no changes.
    Export(export::ExportArgs),
    /// List the changesets applied to a program, or show one as a diff.
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
    /// Transactions that wait for a referral signup or a product record.
    Transactions(transactions::TransactionsArgs),
    /// What partners are paid: plan, create, list and show payouts.
    Payouts(payouts::PayoutsArgs),
    /// Reports: per product customers, sales, revenue and commissions.
    Report(payouts::ReportArgs),
    /// Explain why commissions did or did not fire for a transaction.
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the manual page, or write one per command into a directory.
    Man(completions::ManArgs),
    /// Event sources: Stripe's webhooks.
    Sources(sources::SourcesArgs),
    /// Webhooks out: deliveries, redelivery, signing secrets, dispatch.
    Webhooks(webhooks::WebhooksArgs),
    /// The engine's store: copy a whole engine between SQLite and PostgreSQL.
    Db(db::DbArgs),
}

/// The commands that reach no engine, by name: they take none of `--engine`,
/// `--db`, `--program` and `--token`, so their help lists only what they use.
/// Every other command (and its subcommands) takes all four; a new command
/// that reaches no engine belongs here.
const LOCAL_COMMANDS: &[&str] = &[
    "init",
    "validate",
    "fmt",
    "show",
    "simulate",
    "schema",
    "openapi",
    "completions",
    "man",
    "help",
    // Names its stores with --from and --to.
    "db",
];

/// Whether the command of that name reaches an engine (and so takes
/// `--engine`, `--db`, `--program` and `--token`).
pub fn reaches_engine(command: &str) -> bool {
    !LOCAL_COMMANDS.contains(&command) && !DB_COMMANDS.contains(&command)
}

/// `serve` runs an engine on a file: `--db` only.
const DB_COMMANDS: &[&str] = &["serve"];

const ENGINE_OPTIONS: &str = "Engine options";

fn engine_args() -> [Arg; 4] {
    [
        Arg::new("engine")
            .long("engine")
            .env("PARTNEROPS_ENGINE")
            .value_name("URL")
            .help("Engine URL to talk to over HTTP, e.g. http://127.0.0.1:7420 (default: the embedded engine)"),
        db_arg(),
        Arg::new("program")
            .long("program")
            .env("PARTNEROPS_PROGRAM")
            .value_name("KEY")
            .help("Program to act on, when the engine holds several"),
        Arg::new("token")
            .long("token")
            .env("PARTNEROPS_TOKEN")
            .hide_env_values(true)
            .value_name("TOKEN")
            .help("Bearer token for --engine"),
    ]
}

fn db_arg() -> Arg {
    Arg::new("db")
        .long("db")
        .env("PARTNEROPS_DB")
        .value_name("PATH")
        .value_parser(clap::value_parser!(PathBuf))
        .default_value(DEFAULT_DB)
        .help("The embedded engine's store: a SQLite file, or a postgres:// URL")
}

/// The engine options as given before the command's name (`partnerops --db X
/// plan`): hidden, since only some commands take them, and without the
/// environment, which the command's own copy reads.
const BEFORE: &str = "before-";

/// Those options' ids, names and value names before the command's name.
const BEFORE_ARGS: [(&str, &str, &str); 4] = [
    ("before-engine", "engine", "URL"),
    ("before-db", "db", "PATH"),
    ("before-program", "program", "KEY"),
    ("before-token", "token", "TOKEN"),
];

/// The command line's shape: [`Cli`] with the engine options put on the
/// commands that reach an engine. Completions and the man page come from it.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    for (id, long, value_name) in BEFORE_ARGS {
        cmd = cmd.arg(Arg::new(id).long(long).hide(true).value_name(value_name));
    }
    let engine_commands: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .filter(|name| reaches_engine(name))
        .collect();
    for name in engine_commands {
        cmd = cmd.mut_subcommand(name, |sub| {
            sub.args(engine_args().map(|a| a.global(true).help_heading(ENGINE_OPTIONS)))
        });
    }
    for name in DB_COMMANDS {
        cmd = cmd.mut_subcommand(*name, |sub| sub.arg(db_arg().help_heading(ENGINE_OPTIONS)));
    }
    cmd
}

/// Parses a command line (the program's name first) as the binary does.
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let matches = command()
        .color(color::When::from_args(&args).for_clap())
        .try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.global = resolve_engine(&cli.command, &matches)?;
    Ok(cli)
}

/// The engine options of the command that runs: its own (flags or
/// environment), else those written before its name.
fn resolve_engine(command: &Command, root: &ArgMatches) -> Result<GlobalArgs, clap::Error> {
    let Some((name, mut leaf)) = root.subcommand() else {
        return Ok(GlobalArgs::default());
    };
    while let Some((_, m)) = leaf.subcommand() {
        leaf = m;
    }
    let before = |id: &str| root.get_one::<String>(&format!("{BEFORE}{id}")).cloned();
    let takes = |id: &str| reaches_engine(name) || (DB_COMMANDS.contains(&name) && id == "db");
    let mut global = GlobalArgs::default();
    let mut given_db = false;
    let mut engine_from_env = false;
    for id in ["engine", "db", "program", "token"] {
        let early = before(id);
        if !takes(id) {
            if early.is_some() {
                return Err(clap::Error::raw(
                    clap::error::ErrorKind::UnknownArgument,
                    format!("`{name}` does not reach an engine through --{id}; leave it out\n"),
                ));
            }
            continue;
        }
        let source = leaf.value_source(id);
        // The command line beats the environment, wherever on it.
        let value = match (source, early) {
            (Some(ValueSource::CommandLine), _) | (_, None) => leaf
                .get_raw(id)
                .and_then(|mut v| v.next())
                .map(|v| v.to_string_lossy().into_owned()),
            (_, Some(early)) => Some(early),
        };
        let on_command_line = source == Some(ValueSource::CommandLine) || before(id).is_some();
        match id {
            "engine" => {
                engine_from_env = !on_command_line && value.is_some();
                global.engine = value;
            }
            "db" => {
                given_db = on_command_line;
                global.db = value.map_or_else(|| PathBuf::from(DEFAULT_DB), PathBuf::from);
            }
            "program" => global.program = value,
            _ => global.token = value,
        }
    }
    // `--db` on the command line over PARTNEROPS_ENGINE, and serve (which
    // runs an engine on its file) never talks to one.
    if engine_from_env && (given_db || matches!(command, Command::Serve(_))) {
        global.engine = None;
    }
    Ok(global)
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
/// A time on the command line: RFC 3339, or a date (midnight UTC).
pub fn time_arg(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| format!("`{s}` is not an RFC 3339 time or a YYYY-MM-DD date"))
}

pub use crate::plural::count_as as plural;

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
    let cli = match parse_from(std::env::args_os()) {
        Ok(cli) => cli,
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
    // Only the commands that act on a program take --program at all.
    if let Some(problem) = global
        .program
        .as_deref()
        .and_then(crate::spec::check::key_problem)
    {
        anyhow::bail!("--program (or PARTNEROPS_PROGRAM): {problem}");
    }
    let color = cli.color;
    match &cli.command {
        Command::Init(args) => init::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Plan(args) => plan::run(global, args, color).await,
        Command::Simulate(args) => simulate::run(args).await,
        Command::Show(args) => show::run(args, color),
        Command::Apply(args) => apply::run(global, args, color).await,
        Command::Export(args) => export::run(global, args).await,
        Command::History(args) => history::run(global, args, color).await,
        Command::Events(args) => events::run(global, args).await,
        Command::Sweep(args) => sweep::run(global, args).await,
        Command::Partners(args) => partners::list(global, args).await,
        Command::Partner(args) => partners::show(global, args).await,
        Command::Customer(args) => partners::customer(global, args).await,
        Command::Commissions(args) => commissions::list(global, args).await,
        Command::Transactions(args) => transactions::list(global, args).await,
        Command::Payouts(args) => payouts::run(global, args).await,
        Command::Report(args) => payouts::report(global, args).await,
        Command::Explain(args) => commissions::explain(global, args).await,
        Command::PartnerView(args) => commissions::view(global, args).await,
        Command::Serve(args) => serve::run(global, args).await,
        Command::Openapi => {
            output::println(&format!("{:#}", crate::server::openapi::document()))?;
            Ok(ExitCode::from(exit::OK))
        }
        Command::Token(args) => token::run(global, args).await,
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
        Command::Sources(args) => sources::run(global, args).await,
        Command::Webhooks(args) => webhooks::run(global, args).await,
        Command::Db(args) => db::run(args).await,
    }
}
