//! Config history: each applied changeset, and its changes as a diff
//! against the config just before it (what `plan` showed then).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;

use super::layout::page as frame;
use super::{PageError, Viewer, given, query_string, seg, when};
use crate::server::AppState;

const PER_PAGE: usize = 50;

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(program): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    viewer.require_data(&program)?;
    let list = state
        .engine
        .history_page(&program, given(q.get("cursor")), PER_PAGE)
        .await?;
    let base = format!("/programs/{}", seg(&program));
    let body = html! {
        h1 { "Config history" }
        @if list.items.is_empty() { p { "Nothing applied yet." } } @else {
            div .scroll tabindex="0" role="region" aria-label="Applied changesets" {
                table #history {
                    thead { tr {
                        th scope="col" .num { "Revision" }
                        th scope="col" { "Applied" }
                        th scope="col" { "Author" }
                        th scope="col" { "Message" }
                        th scope="col" { "Commit" }
                        th scope="col" { "Changes" }
                    } }
                    tbody {
                        @for c in &list.items {
                            tr {
                                th scope="row" .num { a href={ (base) "/history/" (c.revision) } { (c.revision) } }
                                td { (when(c.applied_at)) }
                                td { (c.author) }
                                td { (c.message.as_deref().unwrap_or("")) }
                                td { @if let Some(g) = &c.git_commit { code { (g.chars().take(12).collect::<String>()) } } }
                                td { (c.summary.create) " to create, " (c.summary.update) " to update, " (c.summary.delete) " to delete" }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(n) = &list.next_cursor {
            nav .pager aria-label="Pages" {
                a href={ (base) "/history?" (query_string(&[("cursor", Some(n))])) } rel="next" { "Older →" }
            }
        }
    };
    Ok(frame(
        &viewer,
        &program,
        "/history",
        "Config history",
        &body,
    ))
}

pub async fn revision(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((program, revision)): Path<(String, u64)>,
) -> Result<Response, PageError> {
    viewer.require_data(&program)?;
    let record = state.engine.changeset(&program, revision).await?;
    // The config before it: the changesets up to it replayed.
    let mut before = crate::history::State::new();
    for r in 1..revision {
        crate::history::replay(
            &mut before,
            &state.engine.changeset(&program, r).await?.changes,
        );
    }
    let current = state.engine.snapshot(&program).await?.revision;
    let planned = crate::history::as_planned(&before, &record);
    let text = crate::plan::render::changes_text(
        &planned,
        crate::plan::render::Colors { enabled: false },
        false,
    );
    let base = format!("/programs/{}", seg(&program));
    let body = html! {
        p .crumbs { a href={ (base) "/history" } { "Config history" } " / revision " (revision) }
        h1 { "Revision " (revision) }
        p {
            "Applied " (when(record.applied_at)) " by " strong { (record.author) }
            @if let Some(t) = &record.token { " (token " code { (t) } ")" }
            @if let Some(g) = &record.git_commit { ", commit " code { (g) } }
            @if let Some(b) = record.backfill_fired { ", backfills fired for " (b) " partners" }
            "."
        }
        @if let Some(m) = &record.message { blockquote { (m) } }
        p { (record.summary.create) " to create, " (record.summary.update) " to update, " (record.summary.delete) " to delete." }
        div .scroll tabindex="0" role="region" aria-label="Changes" {
            pre .diff #diff {
                @for line in text.lines() {
                    @let class = if line.starts_with("      + ") { "add" }
                        else if line.starts_with("      - ") { "del" }
                        else if line.starts_with("  ") && !line.starts_with("   ") { "title" }
                        else { "ctx" };
                    span class=(class) { (line) } "\n"
                }
            }
        }
        nav .pager aria-label="Revisions" {
            @if revision > 1 { a href={ (base) "/history/" (revision - 1) } rel="prev" { "← Revision " (revision - 1) } }
            @if revision < current { a href={ (base) "/history/" (revision + 1) } rel="next" { "Revision " (revision + 1) " →" } }
        }
    };
    Ok(frame(
        &viewer,
        &program,
        "/history",
        &format!("Revision {revision}"),
        &body,
    ))
}
