use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::{exit, output};
use crate::config::{self, Diagnostic};
use crate::plural::count;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// For people: each error as file:line:column, the line and a caret (stderr).
    Text,
    /// One JSON document on stdout: {valid, program?, counts?, errors: [{file, line, column, message, help?}]}.
    Json,
    /// GitHub Actions workflow commands on stdout (`::error file=..,line=..,col=..::message`),
    /// which annotate the pull request's lines; run it from the repository's root.
    Github,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Config directory (every *.yaml / *.yml below it) or a single file.
    pub dir: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ValidateFormat,
}

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let dir = args.dir.display();
    let loaded = config::load(&args.dir);
    if args.format == ValidateFormat::Json {
        let doc = match &loaded {
            Ok(config) => json!({
                "valid": true,
                "program": config.program.key,
                "counts": {
                    "groups": config.groups.len(),
                    "tags": config.tags.len(),
                    "products": config.products.len(),
                    "automations": config.automations.len(),
                    "commission_triggers": config.commission_triggers.len(),
                },
                "errors": [],
            }),
            Err(diagnostics) => json!({ "valid": false, "errors": diagnostics }),
        };
        output::println(&serde_json::to_string_pretty(&doc)?)?;
        return Ok(ExitCode::from(if loaded.is_ok() {
            exit::OK
        } else {
            exit::ERROR
        }));
    }
    match loaded {
        Ok(config) => {
            output::println(&format!(
                "{dir}: valid: program {}, {}, {}, {}, {}, {}",
                config.program.key,
                count(config.groups.len(), "group"),
                count(config.tags.len(), "tag"),
                count(config.products.len(), "product"),
                count(config.automations.len(), "automation"),
                count(config.commission_triggers.len(), "commission trigger"),
            ))?;
            Ok(ExitCode::from(exit::OK))
        }
        Err(diagnostics) => {
            if args.format == ValidateFormat::Github {
                let commands: String = diagnostics.iter().map(github_error).collect();
                output::print(&commands)?;
            } else {
                for d in &diagnostics {
                    say!("{d}");
                }
            }
            say!("{dir}: {}", count(diagnostics.len(), "error"));
            Ok(ExitCode::from(exit::ERROR))
        }
    }
}

/// A diagnostic as a GitHub Actions `::error` workflow command, which the
/// runner turns into an annotation on that line of the pull request.
fn github_error(d: &Diagnostic) -> String {
    let mut properties = vec![format!("file={}", escape_property(&d.file))];
    if d.line > 0 {
        properties.push(format!("line={}", d.line));
        properties.push(format!("col={}", d.column));
    }
    properties.push("title=partnerops validate".to_owned());
    let message = match &d.help {
        Some(help) => format!("{}\nhelp: {help}", d.message),
        None => d.message.clone(),
    };
    format!(
        "::error {}::{}\n",
        properties.join(","),
        escape_data(&message)
    )
}

/// Escapes a workflow command's message, as the runner unescapes it.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Loads a config; on errors prints every diagnostic to stderr and fails.
pub fn load_or_report(dir: &std::path::Path) -> anyhow::Result<crate::spec::Config> {
    config::load(dir).map_err(|diagnostics| {
        for d in &diagnostics {
            say!("{d}");
        }
        anyhow::anyhow!(
            "{}: {} in the config",
            dir.display(),
            count(diagnostics.len(), "error")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_escape_what_the_runner_would_read_as_syntax() {
        let d = Diagnostic::whole("dir/a,b:c.yaml", "100% wrong\nsecond line");
        assert_eq!(
            github_error(&d),
            "::error file=dir/a%2Cb%3Ac.yaml,title=partnerops validate::100%25 wrong%0Asecond line\n"
        );
    }
}
