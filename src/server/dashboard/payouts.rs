//! Payouts made, and what the next one would pay.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};

use super::layout::page as frame;
use super::{PageError, Viewer, page_number, query_string, seg, when};
use crate::server::AppState;
use crate::store::record::{PayoutPartner, PlanWindow};

/// Partners per page of a list. A payout can pay every partner of the
/// program: a page of 100,000 rows took longer to send than the budget of
/// a page (300 ms) and is no use to read; `payouts plan` and `payouts show
/// ID --format csv` give every row.
pub const PER_PAGE: usize = 100;

/// One page of a list of `count` partners, `shown` being the rows of page
/// `page`, with links to its other pages; `param` is the query parameter
/// that holds its page number, so two lists on one page turn their pages
/// apart.
fn partner_rows(
    base: &str,
    path: &str,
    caption: &str,
    count: usize,
    shown: &[PayoutPartner],
    param: &str,
    page: usize,
) -> Markup {
    let pages = pages(count);
    let link = |n: usize| {
        let n = n.to_string();
        format!(
            "{base}{path}?{}",
            query_string(&[(param, Some(n.as_str()))])
        )
    };
    html! {
        div .scroll tabindex="0" role="region" aria-label=(caption) {
            table {
                caption { (caption) " (" (count) " partners)" }
                thead { tr {
                    th scope="col" { "Partner" }
                    th scope="col" { "Name" }
                    th scope="col" .num { "Lines" }
                    th scope="col" .num { "Amount" }
                } }
                tbody {
                    @for p in shown {
                        tr {
                            th scope="row" { a href={ (base) "/partners/" (seg(&p.partner)) } { (p.partner) } }
                            td { (p.name.as_deref().unwrap_or("")) }
                            td .num { (p.lines) }
                            td .num { (p.amount) }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav .pager aria-label={ (caption) ": pages" } {
                @if page > 1 { a href=(link(page - 1)) rel="prev" { "← Previous" } }
                span { "Page " (page) " of " (pages) }
                @if page < pages { a href=(link(page + 1)) rel="next" { "Next →" } }
            }
        }
    }
}

/// How many pages `count` rows fill (one when there are none).
fn pages(count: usize) -> usize {
    count.div_ceil(PER_PAGE).max(1)
}

/// The rows before page `page`.
fn offset(page: usize) -> u64 {
    u64::try_from((page - 1) * PER_PAGE).unwrap_or(u64::MAX)
}

/// The first row of page `page` of `len` rows.
fn offset_in(page: usize, len: usize) -> usize {
    ((page - 1) * PER_PAGE).min(len)
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(program): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    viewer.require_data(&program)?;
    let (page, carried_page) = (page_number(&q, "page")?, page_number(&q, "carried")?);
    let payouts = state.engine.payouts(&program).await?;
    let now = chrono::Utc::now();
    let window = |page: usize, carried: usize| PlanWindow {
        paid_from: offset(page),
        carried_from: offset(carried),
        limit: PER_PAGE as u64,
    };
    let mut plan = state
        .engine
        .payout_plan_window(&program, now, Some(window(page, carried_page)))
        .await?;
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let (paid, carried) = (
        count(plan.rows.paid.partners),
        count(plan.rows.carried.partners),
    );
    // A page past the end (the plan shrank since the link was made) shows
    // the last page.
    let clamped = (page.min(pages(paid)), carried_page.min(pages(carried)));
    if clamped != (page, carried_page) {
        plan = state
            .engine
            .payout_plan_window(&program, now, Some(window(clamped.0, clamped.1)))
            .await?;
    }
    let (page, carried_page) = clamped;
    let base = format!("/programs/{}", seg(&program));
    let body = html! {
        h1 { "Payouts" }
        h2 { "Next payout, as of now" }
        p {
            "Approved lines no payout holds: " strong { (plan.total) " " (plan.currency) }
            " to " (paid) " partners (hold " (plan.hold_days) " days, minimum " (plan.minimum) "). "
            "Run " code { "partnerops payouts create --yes" } " to record it."
        }
        @if paid > 0 { (partner_rows(&base, "/payouts", "Would be paid", paid, &plan.rows.paid.rows, "page", page)) }
        @if carried > 0 { (partner_rows(&base, "/payouts", "Carried over (below the minimum or not above zero)", carried, &plan.rows.carried.rows, "carried", carried_page)) }
        h2 { "Payouts made" }
        @if payouts.is_empty() { p { "No payout yet." } } @else {
            div .scroll tabindex="0" role="region" aria-label="Payouts made" {
                table #payouts {
                    thead { tr {
                        th scope="col" .num { "Payout" }
                        th scope="col" { "Made" }
                        th scope="col" { "As of" }
                        th scope="col" .num { "Partners" }
                        th scope="col" .num { "Lines" }
                        th scope="col" .num { "Total" }
                    } }
                    tbody {
                        @for p in payouts.iter().rev() {
                            tr {
                                th scope="row" .num { a href={ (base) "/payouts/" (p.id) } { (p.id) } }
                                td { (when(p.created_at)) }
                                td { (when(p.as_of)) }
                                td .num { (p.partners) }
                                td .num { (p.lines) }
                                td .num { (p.total) " " (p.currency) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(frame(&viewer, &program, "/payouts", "Payouts", &body))
}

pub async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((program, id)): Path<(String, u64)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    viewer.require_data(&program)?;
    let page = page_number(&q, "page")?;
    let d = state.engine.payout(&program, id).await?;
    let page = page.min(pages(d.partners.len()));
    let shown =
        &d.partners[offset_in(page, d.partners.len())..d.partners.len().min(page * PER_PAGE)];
    let base = format!("/programs/{}", seg(&program));
    let body = html! {
        p .crumbs { a href={ (base) "/payouts" } { "Payouts" } " / " (id) }
        h1 { "Payout " (id) }
        p { "Made " (when(d.payout.created_at)) ", as of " (when(d.payout.as_of)) ": "
            strong { (d.payout.total) " " (d.payout.currency) } " in " (d.payout.lines) " lines." }
        (partner_rows(&base, &format!("/payouts/{id}"), "Paid", d.partners.len(), shown, "page", page))
        p { a href={ (base) "/ledger?" (super::query_string(&[("status", Some("paid"))])) } { "Paid ledger lines" } }
    };
    Ok(frame(
        &viewer,
        &program,
        "/payouts",
        &format!("Payout {id}"),
        &body,
    ))
}
