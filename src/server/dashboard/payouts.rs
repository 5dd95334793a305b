//! Payouts made, and what the next one would pay.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};

use super::layout::page as frame;
use super::{PageError, Viewer, seg, when};
use crate::server::AppState;
use crate::store::record::PayoutPartner;

fn partner_rows(base: &str, caption: &str, rows: &[PayoutPartner]) -> Markup {
    html! {
        div .scroll tabindex="0" role="region" aria-label=(caption) {
            table {
                caption { (caption) }
                thead { tr {
                    th scope="col" { "Partner" }
                    th scope="col" { "Name" }
                    th scope="col" .num { "Lines" }
                    th scope="col" .num { "Amount" }
                } }
                tbody {
                    @for p in rows {
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
    }
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(program): Path<String>,
) -> Result<Response, PageError> {
    viewer.require_data(&program)?;
    let payouts = state.engine.payouts(&program).await?;
    let plan = state
        .engine
        .payout_plan(&program, chrono::Utc::now())
        .await?;
    let base = format!("/programs/{}", seg(&program));
    let body = html! {
        h1 { "Payouts" }
        h2 { "Next payout, as of now" }
        p {
            "Approved lines no payout holds: " strong { (plan.total) " " (plan.currency) }
            " to " (plan.partners.len()) " partners (hold " (plan.hold_days) " days, minimum " (plan.minimum) "). "
            "Run " code { "partnerops payouts create --yes" } " to record it."
        }
        @if !plan.partners.is_empty() { (partner_rows(&base, "Would be paid", &plan.partners)) }
        @if !plan.carried_over.is_empty() { (partner_rows(&base, "Carried over (below the minimum or not above zero)", &plan.carried_over)) }
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
) -> Result<Response, PageError> {
    viewer.require_data(&program)?;
    let d = state.engine.payout(&program, id).await?;
    let base = format!("/programs/{}", seg(&program));
    let body = html! {
        p .crumbs { a href={ (base) "/payouts" } { "Payouts" } " / " (id) }
        h1 { "Payout " (id) }
        p { "Made " (when(d.payout.created_at)) ", as of " (when(d.payout.as_of)) ": "
            strong { (d.payout.total) " " (d.payout.currency) } " in " (d.payout.lines) " lines." }
        (partner_rows(&base, "Paid", &d.partners))
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
