//! A plan for people: text for terminals and logs, markdown for pull-request
//! comments.

use std::fmt::Write as _;

use similar::{ChangeTag, TextDiff};

use super::{Action, Plan, PlannedChange};
use crate::config::resource_to_yaml;
use crate::spec::{Kind, Resource};

/// GitHub refuses comments over 65,536 characters; stay well under.
pub const MARKDOWN_LIMIT: usize = 60_000;

#[derive(Debug, Clone, Copy)]
pub struct Colors {
    pub enabled: bool,
}

impl Colors {
    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn sign(self, action: Action) -> String {
        match action {
            Action::Create => self.paint("32", "+"),
            Action::Update => self.paint("33", "~"),
            Action::Delete => self.paint("31", "-"),
        }
    }
}

/// "Plan: 1 to create, 2 to update, 0 to delete."
pub fn summary_line(plan: &Plan) -> String {
    format!(
        "Plan: {} to create, {} to update, {} to delete.",
        plan.summary.create, plan.summary.update, plan.summary.delete
    )
}

fn title(change: &PlannedChange, counts: bool) -> String {
    let mut t = format!("{} {}", change.kind, change.key);
    if let Some(new_key) = &change.new_key {
        t = format!("{} {} (renamed to {new_key})", change.kind, change.key);
    }
    if !counts {
        return t;
    }
    let mut notes = Vec::new();
    if change.action == Action::Delete && change.kind == Kind::Tag {
        let n = change.partners.unwrap_or(0);
        let loses = |n: u64| if n == 1 { "s" } else { "" };
        notes.push(format!("{n} partner{} lose{} it", plural(n), loses(n)));
        if let Some(c) = change.customers.filter(|c| *c > 0) {
            notes.push(format!("{c} customer{} lose{} it", plural(c), loses(c)));
        }
    } else if let Some(n) = change.partners {
        notes.push(format!("backfill fires for {n} partner{}", plural(n)));
    }
    if change.kind != Kind::Tag
        && let Some(n) = change.customers.filter(|n| *n > 0)
    {
        notes.push(format!(
            "{n} customer{} hold{} it",
            plural(n),
            if n == 1 { "s" } else { "" }
        ));
    }
    if notes.is_empty() {
        t
    } else {
        format!("{t} ({})", notes.join(", "))
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn yaml(resource: &Resource) -> String {
    resource_to_yaml(resource)
}

/// What a line of a change shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Title(Action),
    Added,
    Removed,
    Context,
    Gap,
}

/// The lines of one change: a title, then the new resource (create) or a line
/// diff of its YAML (update).
fn change_lines(change: &PlannedChange) -> Vec<(Mark, String)> {
    change_lines_counted(change, true)
}

/// `counts`: whether the title carries the engine's counts (partners losing a
/// tag, ...), which a plan has and a past changeset does not.
fn change_lines_counted(change: &PlannedChange, counts: bool) -> Vec<(Mark, String)> {
    let mut lines = vec![(Mark::Title(change.action), title(change, counts))];
    match change.action {
        Action::Create => {
            if let Some(r) = &change.after {
                lines.extend(yaml(r).lines().map(|l| (Mark::Added, l.to_owned())));
            }
        }
        Action::Delete => {}
        Action::Update => {
            let before = change.before.as_ref().map(yaml).unwrap_or_default();
            let after = change.after.as_ref().map(yaml).unwrap_or_default();
            let diff = TextDiff::from_lines(&before, &after);
            for (i, group) in diff.grouped_ops(3).iter().enumerate() {
                if i > 0 {
                    lines.push((Mark::Gap, "...".to_owned()));
                }
                for op in group {
                    for c in diff.iter_changes(op) {
                        let mark = match c.tag() {
                            ChangeTag::Equal => Mark::Context,
                            ChangeTag::Delete => Mark::Removed,
                            ChangeTag::Insert => Mark::Added,
                        };
                        lines.push((mark, c.value().trim_end_matches('\n').to_owned()));
                    }
                }
            }
        }
    }
    lines
}

fn text_line(mark: Mark, text: &str, colors: Colors) -> String {
    match mark {
        Mark::Title(action) => format!("  {} {text}", colors.sign(action)),
        Mark::Added => colors.paint("32", &format!("      + {text}")),
        Mark::Removed => colors.paint("31", &format!("      - {text}")),
        Mark::Context | Mark::Gap => format!("        {text}"),
    }
}

/// Signs in the first column, as GitHub colours a `diff` block; `!` marks an
/// update (the usual convention, since `~` is not coloured).
fn markdown_line(mark: Mark, text: &str) -> String {
    match mark {
        Mark::Title(Action::Create) => format!("+ {text}"),
        Mark::Title(Action::Update) => format!("! {text}"),
        Mark::Title(Action::Delete) => format!("- {text}"),
        Mark::Added => format!("+     {text}"),
        Mark::Removed => format!("-     {text}"),
        Mark::Context | Mark::Gap => format!("      {text}"),
    }
}

/// The lines of `changes` as the text plan shows them; `counts` as the plan
/// has them (`history show` has none).
pub fn changes_text(changes: &[PlannedChange], colors: Colors, counts: bool) -> String {
    let mut out = String::new();
    for change in changes {
        for (mark, line) in change_lines_counted(change, counts) {
            out.push_str(&text_line(mark, &line, colors));
            out.push('\n');
        }
    }
    out
}

/// What a plan made with `--target` leaves out, in words.
fn targeting(plan: &Plan) -> Option<String> {
    (!plan.targets.is_empty()).then(|| {
        format!(
            "Targeted plan: only {} and what {} need{}; other differences between the config and the engine are left out.",
            plan.targets.join(", "),
            if plan.targets.len() == 1 { "it" } else { "they" },
            if plan.targets.len() == 1 { "s" } else { "" }
        )
    })
}

/// The plan for a terminal or a log. `force` is apply's `--force`: the guards
/// it overrides are listed as overridden, not as refusing.
pub fn text(plan: &Plan, engine: &str, colors: Colors, force: bool) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "No changes. Program {} matches the config (revision {} of {engine}).",
            plan.program, plan.base_revision
        );
        if let Some(note) = targeting(plan) {
            let _ = writeln!(out, "{note}");
        }
        return out;
    }
    let _ = writeln!(
        out,
        "Plan for program {} against revision {} of {engine}:\n",
        plan.program, plan.base_revision
    );
    if let Some(note) = targeting(plan) {
        let _ = writeln!(out, "{}\n", colors.paint("33", &note));
    }
    out.push_str(&changes_text(&plan.changes, colors, true));
    let _ = writeln!(out, "\n{}", summary_line(plan));
    if let Some(impact) = &plan.impact {
        out.push('\n');
        out.push_str(&super::impact::text(impact));
    }
    let (overridden, refusing): (Vec<_>, Vec<_>) = plan
        .refusals()
        .into_iter()
        .partition(|r| force && r.forceable());
    if !overridden.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            colors.paint("33", "Guards overridden by --force:")
        );
        for r in overridden {
            let _ = writeln!(out, "  - {}", r.finding());
        }
    }
    if !refusing.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            colors.paint("31", "Apply will refuse this plan:")
        );
        for r in refusing {
            let _ = writeln!(out, "  - {r}");
        }
    }
    out
}

/// The plan as a pull-request comment: counts first, details folded, always
/// under [`MARKDOWN_LIMIT`] characters; a plan too large to show whole is
/// summarised at a change boundary, never cut mid-line.
pub fn markdown(plan: &Plan) -> String {
    let mut head = String::new();
    let _ = writeln!(head, "### partnerops plan for `{}`\n", plan.program);
    if plan.is_empty() {
        let _ = writeln!(
            head,
            "**No changes.** The program matches the config (revision {}).",
            plan.base_revision
        );
        if let Some(note) = targeting(plan) {
            let _ = writeln!(head, "\n{}", escape(&note));
        }
        return head;
    }
    let _ = writeln!(
        head,
        "**{}** Against revision {}.\n",
        summary_line(plan),
        plan.base_revision
    );
    if let Some(note) = targeting(plan) {
        let _ = writeln!(head, "> [!NOTE]\n> {}\n", escape(&note));
    }
    let _ = writeln!(
        head,
        "| kind | create | update | delete |\n|---|---:|---:|---:|"
    );
    for kind in Kind::ALL {
        let count = |a| {
            plan.changes
                .iter()
                .filter(|c| c.kind == kind && c.action == a)
                .count()
        };
        let (c, u, d) = (
            count(Action::Create),
            count(Action::Update),
            count(Action::Delete),
        );
        if c + u + d > 0 {
            let _ = writeln!(head, "| {} | {c} | {u} | {d} |", kind.noun());
        }
    }
    if let Some(impact) = &plan.impact {
        head.push('\n');
        head.push_str(&super::impact::markdown(impact));
    }
    let refusals = plan.refusals();
    if !refusals.is_empty() {
        let _ = writeln!(head, "\n> [!WARNING]\n> Apply will refuse this plan:");
        for r in refusals.iter().take(20) {
            let _ = writeln!(head, "> - {}", escape(&r.to_string()));
        }
        if refusals.len() > 20 {
            let _ = writeln!(head, "> - … and {} more", refusals.len() - 20);
        }
    }

    let blocks: Vec<String> = plan
        .changes
        .iter()
        .map(|c| {
            let mut block = String::new();
            for (mark, line) in change_lines(c) {
                block.push_str(&markdown_line(mark, &line));
                block.push('\n');
            }
            block
        })
        .collect();
    let longest_ticks = blocks
        .iter()
        .map(|b| longest_run(b, '`'))
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest_ticks.max(2) + 1);
    let open = format!(
        "\n<details><summary>Changes ({})</summary>\n\n{fence}diff\n",
        plan.changes.len()
    );
    let close = format!("{fence}\n\n</details>\n");
    let reserve = 200; // the "… more changes" line
    let mut body = String::new();
    let mut shown = 0;
    for block in &blocks {
        if head.len() + open.len() + body.len() + block.len() + close.len() + reserve
            > MARKDOWN_LIMIT
        {
            break;
        }
        body.push_str(block);
        shown += 1;
    }
    if shown < blocks.len() {
        let _ = writeln!(
            body,
            "… {} not shown; run `partnerops plan` to see them all.",
            crate::plural::count(blocks.len() - shown, "more change")
        );
    }
    format!("{head}{open}{body}{close}")
}

fn longest_run(text: &str, ch: char) -> usize {
    let mut best = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == ch {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

fn escape(text: &str) -> String {
    text.replace('<', "&lt;").replace('>', "&gt;")
}
