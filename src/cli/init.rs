use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use super::{exit, provenance};
use crate::config::{self, modeline};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory for the config, created if missing. It must not hold YAML
    /// config yet.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The program's key (default: the name of the git checkout DIR is in, or
    /// else of DIR, made into a key).
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// The program's display name (default: the key).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// ISO 4217 currency code of every amount.
    #[arg(long, value_name = "CODE", default_value = "USD")]
    pub currency: String,
    /// IANA time zone of calendar rules, e.g. Europe/Berlin.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub timezone: String,
}

/// Written beside the config, so the modeline works without network and
/// matches the partnerops that wrote it; `partnerops schema --out` renews it.
pub const SCHEMA_FILE: &str = "partnerops.schema.json";

/// What the embedded engine keeps under the working directory: its database,
/// with partner emails and token hashes, which belongs in no commit.
const IGNORED: &str = ".partnerops/";

/// A key from a directory name: lower case, anything but letters, digits,
/// `.`, `_` and `-` made a dash.
fn key_from(name: &str) -> String {
    let key: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let key = key.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    let key: String = key.chars().take(100).collect();
    if key.is_empty() {
        "my-program".to_owned()
    } else {
        key
    }
}

/// YAML for a string (quoted where YAML would read it otherwise).
fn scalar(text: &str) -> String {
    serde_json::to_string(text).expect("a string is JSON")
}

fn files(key: &str, name: &str, currency: &str, timezone: &str) -> [(&'static str, String); 3] {
    let head = modeline(SCHEMA_FILE);
    [
        (
            "program.yaml",
            format!(
                "{head}# The program this directory configures. Every *.yaml / *.yml below the\n\
                 # directory is read and merged; any file may hold any section.\n\
                 program:\n  key: {}\n  name: {}\n  currency: {}\n  timezone: {}\n",
                scalar(key),
                scalar(name),
                scalar(currency),
                scalar(timezone)
            ),
        ),
        (
            "tags.yaml",
            format!(
                "{head}# Tags automations give partners (and customers, with tag_customer).\n\
                 tags:\n  - key: new-partner\n    description: Joined, no referral yet\n  - key: lead-generator\n    description: Has referred at least one signup\n"
            ),
        ),
        (
            "automations.yaml",
            format!(
                "{head}# When something happens to a partner (when), change tags (then).\n\
                 automations:\n  - key: welcome\n    name: Welcome tag\n    when: partner_joined\n    then:\n      - add_tag: new-partner\n  - key: first-lead\n    name: First lead\n    when: first_signup\n    then:\n      - add_tag: lead-generator\n      - remove_tag: new-partner\n"
            ),
        ),
    ]
}

/// Adds `.partnerops/` to `dir/.gitignore` unless a line already ignores it.
/// Returns whether it wrote.
fn ignore_engine_files(dir: &Path) -> anyhow::Result<bool> {
    let path = dir.join(".gitignore");
    let current = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let ignored = current.lines().map(str::trim).any(|l| {
        [
            ".partnerops",
            ".partnerops/",
            "/.partnerops",
            "/.partnerops/",
        ]
        .contains(&l)
    });
    if ignored {
        return Ok(false);
    }
    let mut text = current;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    let _ = writeln!(
        text,
        "# partnerops: the embedded engine's database (partner emails, token hashes)\n{IGNORED}"
    );
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(true)
}

pub fn run(args: &InitArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let existing = config::yaml_files(dir).map_err(|d| anyhow::anyhow!("{d}"))?;
    if !existing.is_empty() {
        bail!(
            "{} already holds YAML files ({}); `init` starts a new config: use an empty directory, or check the one there with `partnerops validate {}`",
            dir.display(),
            existing
                .iter()
                .take(5)
                .map(|f| f.strip_prefix(dir).unwrap_or(f).display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            dir.display()
        );
    }
    let key = match &args.key {
        Some(key) => key.clone(),
        // The repository names the program better than its config folder
        // (`init program` in the checkout `acme-partners`).
        None => {
            let real = provenance::git_toplevel(dir)
                .or_else(|| dir.canonicalize().ok())
                .unwrap_or_else(|| dir.clone());
            key_from(
                &real
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
        }
    };
    if let Some(problem) = crate::spec::check::key_problem(&key) {
        bail!("--key: {problem}");
    }
    let name = args.name.clone().unwrap_or_else(|| key.clone());
    let written = files(&key, &name, &args.currency, &args.timezone);
    for (file, text) in &written {
        let path = dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    // What init writes must validate; a bad --currency or --timezone is the
    // user's to fix, with the loader's own message, and leaves nothing behind.
    if let Err(diagnostics) = config::load(dir) {
        for (file, _) in &written {
            let _ = std::fs::remove_file(dir.join(file));
        }
        for d in &diagnostics {
            say!("{d}");
        }
        bail!("the program as given does not validate; nothing was written");
    }
    let schema = dir.join(SCHEMA_FILE);
    std::fs::write(&schema, crate::schema::json_schema())
        .with_context(|| format!("writing {}", schema.display()))?;
    // The engine's files go where commands run, usually the checkout's top.
    let ignore_in = provenance::git_toplevel(dir).unwrap_or_else(|| dir.clone());
    let wrote_ignore = ignore_engine_files(&ignore_in)?;

    say!(
        "Created program `{key}` in {}: {}, and {SCHEMA_FILE} for editors (yaml-language-server).",
        dir.display(),
        written
            .iter()
            .map(|(f, _)| *f)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let gitignore = ignore_in.join(".gitignore");
    if wrote_ignore {
        say!(
            "{} now ignores {IGNORED}, where the embedded engine keeps its database.",
            gitignore.display()
        );
    } else {
        say!("{} already ignores {IGNORED}.", gitignore.display());
    }
    let shown = dir.display();
    say!(
        "Next: edit the YAML, then\n  partnerops validate {shown}\n  partnerops plan {shown}\n  partnerops apply {shown}\nAfter upgrading partnerops, renew the schema with `partnerops schema --out {}`.",
        schema.display()
    );
    Ok(ExitCode::from(exit::OK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_directory_names() {
        assert_eq!(key_from("Acme Partners"), "acme-partners");
        assert_eq!(key_from("_tmp.x"), "tmp.x");
        assert_eq!(key_from("!!!"), "my-program");
        assert_eq!(key_from(""), "my-program");
    }
}
