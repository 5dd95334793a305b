use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{GlobalArgs, exit, output};
use crate::engine::access::Scope;

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, alone, on stdout (it is shown this once).
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
    },
}

pub async fn run(global: &GlobalArgs, args: &TokenArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        TokenCommand::Create { scopes } => {
            let writer = global.target().writer().await?;
            let token = writer.create_token(scopes).await?;
            output::println(&token)?;
            Ok(ExitCode::from(exit::OK))
        }
    }
}
