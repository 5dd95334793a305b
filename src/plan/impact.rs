//! The what-if impact as a plan shows it: commissions per changed trigger
//! before → after, the total, the partners whose earnings move most, and the
//! tags partners would gain or lose.

use std::fmt::Write as _;

use crate::engine::whatif::{MoneyChange, WhatIf};
use crate::plural;
use crate::spec::money::Total;

/// Rows of a table the markdown shows before folding the rest into a count:
/// the pull-request comment stays under its cap however many triggers or
/// tags a plan touches.
const MARKDOWN_ROWS: usize = 50;

/// "+20.00", "-5.00", "0.00".
fn signed(t: Total) -> String {
    if t.minor() > 0 {
        format!("+{t}")
    } else {
        t.to_string()
    }
}

/// The window in words; its exact ends are in the JSON (`since`, `until`).
fn heading(impact: &WhatIf) -> String {
    format!(
        "Impact over the last {} ({} of {} replayed under the planned config)",
        plural::count(impact.window_days, "day"),
        plural::count(impact.events, "event"),
        plural::count(impact.partners, "partner"),
    )
}

/// Whether nothing moves: no money, no tags.
fn unmoved(impact: &WhatIf) -> bool {
    impact.total.difference.minor() == 0
        && impact.top_partners.is_empty()
        && impact.tags.is_empty()
        && impact
            .triggers
            .iter()
            .all(|t| t.money.difference.minor() == 0 && t.money.after.minor() == 0)
}

const UNMOVED: &str = "no commission or tag would change";

fn tag_note(gain: u64, lose: u64) -> String {
    let mut parts = Vec::new();
    let n = |k: u64| plural::count(k, "partner");
    if gain > 0 {
        parts.push(format!("{} would gain it", n(gain)));
    }
    if lose > 0 {
        parts.push(format!("{} would lose it", n(lose)));
    }
    parts.join(", ")
}

fn money_row(name: &str, m: &MoneyChange, width: usize) -> String {
    format!(
        "    {name:<width$}  {:>12} → {:>12}  ({})",
        m.before.to_string(),
        m.after.to_string(),
        signed(m.difference)
    )
}

/// The impact for a terminal or a log.
pub fn text(impact: &WhatIf) -> String {
    let mut out = String::new();
    if unmoved(impact) {
        let _ = writeln!(out, "{}: {UNMOVED}.", heading(impact));
        return out;
    }
    let _ = writeln!(out, "{}:", heading(impact));
    let width = impact
        .triggers
        .iter()
        .map(|t| t.trigger.len())
        .chain(impact.top_partners.iter().map(|p| p.partner.len()))
        .chain(["total".len()])
        .max()
        .unwrap_or(5);
    let _ = writeln!(out, "  Commissions (before → after):");
    for t in &impact.triggers {
        let _ = writeln!(out, "{}", money_row(&t.trigger, &t.money, width));
    }
    let _ = writeln!(out, "{}", money_row("total", &impact.total, width));
    if !impact.top_partners.is_empty() {
        let _ = writeln!(out, "  Partners whose earnings change most:");
        for p in &impact.top_partners {
            let _ = writeln!(out, "{}", money_row(&p.partner, &p.money, width));
        }
    }
    if !impact.tags.is_empty() {
        let _ = writeln!(out, "  Tags:");
        for t in &impact.tags {
            let _ = writeln!(out, "    {}: {}", t.tag, tag_note(t.gain, t.lose));
        }
    }
    out
}

/// Table cells cannot hold a pipe or a line break.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The impact for a pull-request comment: tables, each at most
/// [`MARKDOWN_ROWS`] rows long.
pub fn markdown(impact: &WhatIf) -> String {
    let mut out = String::new();
    if unmoved(impact) {
        let _ = writeln!(out, "**{}:** {UNMOVED}.", cell(&heading(impact)));
        return out;
    }
    let _ = writeln!(out, "#### {}\n", cell(&heading(impact)));
    let _ = writeln!(
        out,
        "| commission trigger | before | after | difference |\n|---|---:|---:|---:|"
    );
    for t in impact.triggers.iter().take(MARKDOWN_ROWS) {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            cell(&t.trigger),
            t.money.before,
            t.money.after,
            signed(t.money.difference)
        );
    }
    if impact.triggers.len() > MARKDOWN_ROWS {
        let _ = writeln!(
            out,
            "| … {} more | | | |",
            impact.triggers.len() - MARKDOWN_ROWS
        );
    }
    let _ = writeln!(
        out,
        "| **total** | **{}** | **{}** | **{}** |",
        impact.total.before,
        impact.total.after,
        signed(impact.total.difference)
    );
    if !impact.top_partners.is_empty() {
        let _ = writeln!(
            out,
            "\n| partner | before | after | difference |\n|---|---:|---:|---:|"
        );
        for p in &impact.top_partners {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                cell(&p.partner),
                p.money.before,
                p.money.after,
                signed(p.money.difference)
            );
        }
    }
    if !impact.tags.is_empty() {
        let _ = writeln!(
            out,
            "\n| tag | partners gaining | partners losing |\n|---|---:|---:|"
        );
        for t in impact.tags.iter().take(MARKDOWN_ROWS) {
            let _ = writeln!(out, "| `{}` | {} | {} |", cell(&t.tag), t.gain, t.lose);
        }
        if impact.tags.len() > MARKDOWN_ROWS {
            let _ = writeln!(out, "| … {} more | | |", impact.tags.len() - MARKDOWN_ROWS);
        }
    }
    out
}
