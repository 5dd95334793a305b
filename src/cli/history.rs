use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use super::pages::{self, JsonList, PAGE};
use super::{GlobalArgs, color, exit, output};
use crate::engine::changeset::ChangesetRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: Option<HistoryCommand>,
    /// text: one line per changeset (first line of the message, author and
    /// commit shortened, the id of the token that applied it over HTTP);
    /// json: every changeset in full.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Show one changeset: who applied it, when, from which commit, and its
    /// changes as a diff against the config before it.
    Show {
        /// The revision the changeset produced (as `history` lists it).
        revision: u64,
        /// text: the diff; json: the changeset as the engine keeps it.
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
}

const AUTHOR_WIDTH: usize = 24;
const COMMIT_WIDTH: usize = 9;
/// Token ids are 12 hex digits; "-" when applied on the embedded engine.
const TOKEN_WIDTH: usize = 12;

/// `text` made fit for one table cell: its first line, control characters
/// replaced, at most `max` characters; `…` marks anything cut or left out.
fn cell(text: &str, max: usize) -> String {
    let text = text.trim();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("").trim_end();
    let more = lines.next().is_some();
    let mut out: String = first
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if out.chars().count() > max {
        out = out.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
    } else if more {
        out.push_str(" …");
    }
    out
}

fn row(out: &mut String, r: &ChangesetRecord) {
    let changes = format!(
        "+{} ~{} -{}",
        r.summary.create, r.summary.update, r.summary.delete
    );
    // Cut by characters, not bytes: an engine may hold a commit that is not hex.
    let commit: String = r.git_commit.as_deref().map_or_else(
        || "-".to_owned(),
        |c| cell(c, usize::MAX).chars().take(COMMIT_WIDTH).collect(),
    );
    let _ = writeln!(
        out,
        "{:>4}  {:<20}  {:<17}  {:<COMMIT_WIDTH$}  {:<AUTHOR_WIDTH$}  {:<TOKEN_WIDTH$}  {}",
        r.revision,
        r.applied_at.format("%Y-%m-%d %H:%M:%S"),
        changes,
        commit,
        cell(&r.author, AUTHOR_WIDTH),
        r.token
            .as_deref()
            .map_or_else(|| "-".to_owned(), |t| cell(t, TOKEN_WIDTH)),
        cell(r.message.as_deref().unwrap_or(""), usize::MAX)
    );
}

pub async fn run(
    global: &GlobalArgs,
    args: &HistoryArgs,
    color: color::When,
) -> anyhow::Result<ExitCode> {
    let reader = global.target().reader().await?;
    let program = super::program(reader.as_ref(), global).await?;
    if let Some(HistoryCommand::Show { revision, format }) = &args.command {
        return show(reader.as_ref(), &program, *revision, *format, color).await;
    }
    let first = reader.history_page(&program, None, PAGE).await?;
    // A misspelt --program in CI must fail, not read as an empty history.
    if first.items.is_empty() && !reader.programs().await?.iter().any(|p| p.key == program) {
        anyhow::bail!("the engine holds no program `{program}`");
    }
    if first.items.is_empty() && args.format == ListFormat::Text {
        say!("Program {program} has no changesets yet.");
        return Ok(ExitCode::from(exit::OK));
    }
    let fetch =
        async |next: Option<String>| reader.history_page(&program, next.as_deref(), PAGE).await;
    if args.format == ListFormat::Json {
        let mut list = JsonList::default();
        pages::walk_from(Some(first), fetch, |page| {
            page.iter().try_for_each(|r| list.push(r))
        })
        .await?;
        list.finish()?;
        return Ok(ExitCode::from(exit::OK));
    }
    output::println(&format!(
        "{:>4}  {:<20}  {:<17}  {:<COMMIT_WIDTH$}  {:<AUTHOR_WIDTH$}  {:<TOKEN_WIDTH$}  MESSAGE",
        "REV", "APPLIED (UTC)", "CHANGES", "COMMIT", "AUTHOR", "TOKEN"
    ))?;
    pages::walk_from(Some(first), fetch, |page| {
        let mut out = String::new();
        for r in &page {
            row(&mut out, r);
        }
        output::print(&out)
    })
    .await?;
    Ok(ExitCode::from(exit::OK))
}

async fn show(
    reader: &dyn crate::client::Reader,
    program: &str,
    revision: u64,
    format: ListFormat,
    color: color::When,
) -> anyhow::Result<ExitCode> {
    if revision == 0 {
        anyhow::bail!("revision 0 is the program before any changeset; the first is 1");
    }
    let record = reader.changeset(program, revision).await?;
    if format == ListFormat::Json {
        output::println(&serde_json::to_string_pretty(&record)?)?;
        return Ok(ExitCode::from(exit::OK));
    }
    let before = crate::history::state_at(reader, program, revision - 1).await?;
    let changes = crate::history::as_planned(&before, &record);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Revision {} of program {program}, from revision {}",
        record.revision, record.base_revision
    );
    let _ = writeln!(
        out,
        "Applied: {} (UTC) by {}",
        record.applied_at.format("%Y-%m-%d %H:%M:%S"),
        record.author
    );
    if let Some(commit) = &record.git_commit {
        let _ = writeln!(out, "Commit:  {commit}");
    }
    if let Some(message) = record.message.as_deref().filter(|m| !m.trim().is_empty()) {
        let _ = writeln!(out, "\n    {}", message.trim().replace('\n', "\n    "));
    }
    let _ = writeln!(out);
    let colors = crate::plan::render::Colors {
        enabled: color.stdout(),
    };
    out.push_str(&crate::plan::render::changes_text(&changes, colors, false));
    let _ = writeln!(
        out,
        "\n{} created, {} updated, {} deleted.",
        record.summary.create, record.summary.update, record.summary.delete
    );
    output::print(&out)?;
    Ok(ExitCode::from(exit::OK))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::changeset::Summary;

    fn record(git_commit: &str, author: &str, message: &str) -> ChangesetRecord {
        ChangesetRecord {
            program: "p".into(),
            revision: 7,
            base_revision: 6,
            author: author.into(),
            token: None,
            message: Some(message.into()),
            git_commit: Some(git_commit.into()),
            applied_at: chrono::DateTime::UNIX_EPOCH,
            summary: Summary::default(),
            changes: Vec::new(),
            backfill_fired: None,
        }
    }

    /// The engine did not always check commits: one stored before it did
    /// must still list.
    #[test]
    fn a_non_ascii_commit_is_cut_by_characters() {
        let mut out = String::new();
        row(&mut out, &record("ééééééééééé", "a", "m"));
        assert!(out.contains("  ééééééééé  "), "{out}");
    }

    #[test]
    fn cells_keep_one_line_and_mark_what_is_cut() {
        assert_eq!(cell("fix\n\nsecond paragraph", 80), "fix …");
        assert_eq!(cell("one line\n", 80), "one line");
        assert_eq!(cell("tab\there", 80), "tab here");
        assert_eq!(cell("abcdefgh", 5), "abcd…");
        assert_eq!(cell("ääääää", 5).chars().count(), 5);
    }
}
