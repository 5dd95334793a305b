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
    },
}

pub async fn run(global: &GlobalArgs, args: &TokenArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        TokenCommand::Create { scopes } => {
            let writer = global.target().writer().await?;
            // A partner key names a partner of one program, so a partner
            // token is bound to it; other tokens only when --program says so.
            let program = if scopes.iter().any(|s| matches!(s, Scope::Partner(_))) {
                Some(super::program(writer.as_ref(), global).await?)
            } else {
                global.program.clone()
            };
            let token = writer.create_token(scopes, program.as_deref()).await?;
            output::println(&token)?;
            Ok(ExitCode::from(exit::OK))
        }
    }
}
