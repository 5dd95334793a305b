use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use super::{GlobalArgs, exit};
use crate::engine::Engine;
use crate::server;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7420")]
    pub listen: SocketAddr,
    /// Run the daily checks this often (e.g. 1h, 30m, 1d; 0 turns the timer off).
    /// They also run at start, catching up whatever was missed while down.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub sweep_every: std::time::Duration,
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
    let engine = Engine::open(&global.db)
        .await
        .with_context(|| format!("opening {}", global.db.display()))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, db = %global.db.display(), "partnerops engine listening");
    say!(
        "partnerops engine listening on http://{addr} (db {})",
        global.db.display()
    );
    if !args.sweep_every.is_zero() {
        tokio::spawn(sweep_timer(engine.clone(), args.sweep_every));
    }
    server::serve(listener, server::router(engine), server::shutdown_signal()).await?;
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
