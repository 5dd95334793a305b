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
    eprintln!(
        "partnerops engine listening on http://{addr} (db {})",
        global.db.display()
    );
    server::serve(listener, server::router(engine), server::shutdown_signal()).await?;
    Ok(ExitCode::from(exit::OK))
}

/// Logs go to stderr; `PARTNEROPS_LOG` (e.g. `debug`) sets the level.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PARTNEROPS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
