use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use super::{GlobalArgs, exit};
use crate::engine::Engine;
use crate::engine::outbox::dispatch::{DispatchOptions, Dispatcher};
use crate::server;
use crate::server::limits::{Limits, Rate, parse_size};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7420")]
    pub listen: SocketAddr,
    /// Connections to a PostgreSQL --db this process keeps (default 16);
    /// several replicas share the database's max_connections.
    #[arg(long, value_name = "N", env = "PARTNEROPS_DB_POOL_SIZE", value_parser = crate::store::parse_pool_size)]
    pub db_pool_size: Option<u32>,
    /// Longest a statement on a PostgreSQL --db may run before the database
    /// cancels it, e.g. 30s, 500ms, 2m (default: no limit).
    #[arg(long, value_name = "DURATION", env = "PARTNEROPS_DB_STATEMENT_TIMEOUT", value_parser = crate::store::parse_timeout)]
    pub db_statement_timeout: Option<std::time::Duration>,
    /// Run the daily checks this often (e.g. 1h, 30m, 1d; 0 turns the timer off).
    /// They also run at start, catching up whatever was missed while down.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub sweep_every: std::time::Duration,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Connections open at once; more are answered 503 and closed (0: no limit).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
    /// Requests handled at once; more are answered 503 (0: no limit).
    /// /healthz and /readyz are never limited.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_concurrent_requests)]
    pub max_concurrent_requests: usize,
    /// Event batches and changesets handled at once (each may hold up to
    /// --upload-limit); more are answered 503 (0: no limit).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_concurrent_uploads)]
    pub max_concurrent_uploads: usize,
    /// Largest request body of every route but events and changesets (413 beyond).
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub body_limit: usize,
    /// Largest body of an event batch or a changeset (413 beyond).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub upload_limit: usize,
    /// Requests per token, e.g. 100/s or 6000/m; more are answered 429 with
    /// Retry-After (0: no limit).
    #[arg(long, value_name = "RATE", default_value_t = Limits::default().rate_per_token)]
    pub rate_per_token: Rate,
    /// Requests per client address, whatever the token (0: no limit).
    #[arg(long, value_name = "RATE", default_value_t = Limits::default().rate_per_address)]
    pub rate_per_address: Rate,
    /// Requests with a missing or bad token per client address; past it the
    /// address gets 429 until its allowance comes back (0: no limit).
    #[arg(long, value_name = "RATE", default_value_t = Limits::default().failed_auth_per_address)]
    pub failed_auth_per_address: Rate,
    /// Send webhooks to loopback and private addresses too (development and
    /// tests); refused by default.
    #[arg(long)]
    pub allow_private_webhooks: bool,
}

impl ServeArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_connections: self.max_connections,
            max_concurrent_requests: self.max_concurrent_requests,
            max_concurrent_uploads: self.max_concurrent_uploads,
            body_limit: self.body_limit,
            upload_limit: self.upload_limit,
            rate_per_token: self.rate_per_token,
            rate_per_address: self.rate_per_address,
            failed_auth_per_address: self.failed_auth_per_address,
        }
    }
}

/// `90s`, `30m`, `1h`, `1d`, or `0`.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 30m, 1h or 1d"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{s}` is not a duration like 30m, 1h or 1d")),
    };
    // A year is beyond any sensible period, and far from overflowing a clock.
    const MAX: u64 = 365 * 86_400;
    match n.checked_mul(seconds) {
        Some(total) if total <= MAX => Ok(std::time::Duration::from_secs(total)),
        _ => Err(format!("`{s}` is too long: at most 365d")),
    }
}

pub async fn run(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    if global.engine.is_some() {
        bail!("serve runs an engine on --db; it does not take --engine");
    }
    init_logging();
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(server::tls::config(cert, key).map_err(anyhow::Error::msg)?)
        }
        _ => None,
    };
    let mut limits = args.limits();
    limits.max_connections = server::limits::allow_connections(limits.max_connections);
    let store_options = crate::store::StoreOptions {
        pool_size: args.db_pool_size,
        statement_timeout: args.db_statement_timeout.filter(|t| !t.is_zero()),
    };
    let db = crate::store::describe(&global.db);
    let engine = Engine::open_with(&global.db, &store_options)
        .await
        .with_context(|| format!("opening {db}"))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, db = %db, "partnerops engine listening");
    say!("partnerops engine listening on {scheme}://{addr} (db {db})");
    if tls.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(
            "serving plain HTTP on {addr}: bearer tokens cross the network in the clear; use --tls-cert and --tls-key"
        );
    }
    if !args.sweep_every.is_zero() {
        tokio::spawn(sweep_timer(engine.clone(), args.sweep_every));
    }
    let dispatcher = Dispatcher::new(
        engine.clone(),
        DispatchOptions {
            allow_private: args.allow_private_webhooks,
            ..DispatchOptions::default()
        },
    )?;
    tokio::spawn(dispatcher.run());
    let options = server::Options {
        tls: tls.is_some(),
        limits: limits.clone(),
        ..server::Options::default()
    };
    let listening = server::Listening {
        max_connections: limits.max_connections,
        tls,
    };
    server::serve_with(
        listener,
        server::router_with(engine, &options),
        server::shutdown_signal(),
        listening,
    )
    .await?;
    Ok(ExitCode::from(exit::OK))
}

/// Stderr whose failures (a full disk, a closed pipe) are dropped: a log line
/// that cannot be written must not stop the engine.
struct QuietStderr;

impl std::io::Write for QuietStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// Logs go to stderr; `PARTNEROPS_LOG` (e.g. `debug`) sets the level.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PARTNEROPS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| QuietStderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Sweeps every program now and then every `every`.
async fn sweep_timer(engine: Engine, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match engine.sweep_all(chrono::Utc::now()).await {
            Ok(reports) => {
                for r in reports {
                    tracing::info!(
                        program = r.program,
                        partners = r.partners,
                        fired = r.fired,
                        "sweep"
                    );
                }
            }
            Err(e) => tracing::error!("sweep failed: {e}"),
        }
    }
}
