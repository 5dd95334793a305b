//! Transactions that wait: for a referral signup, or for a product record.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;

use super::layout::page as frame;
use super::{PageError, Viewer, given, query_string, seg, when};
use crate::server::AppState;

const PER_PAGE: usize = 100;

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(program): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    viewer.require_data(&program)?;
    let which = given(q.get("which"));
    let (unattributed, unmatched) = match which {
        None => (false, false),
        Some("unattributed") => (true, false),
        Some("unmatched") => (false, true),
        Some(other) => {
            return Err(PageError::bad_request(format!(
                "`which` must be unattributed or unmatched, not `{other}`"
            )));
        }
    };
    let after = given(q.get("after"));
    let page = state
        .engine
        .waiting_transactions(&program, unattributed, unmatched, after, PER_PAGE)
        .await?;
    let base = format!("/programs/{}", seg(&program));
    let body = html! {
        h1 { "Waiting transactions" }
        p { "Sales that wait for a referral signup (no partner yet) or whose subscription key matched no product. "
            "They take effect when what they wait for arrives." }
        form method="get" action={ (base) "/transactions" } .filters aria-label="Which transactions" {
            div {
                label for="which" { "Show" }
                select #which name="which" {
                    option value="" { "Both" }
                    option value="unattributed" selected[which == Some("unattributed")] { "Waiting for a signup" }
                    option value="unmatched" selected[which == Some("unmatched")] { "Matched no product" }
                }
            }
            button type="submit" { "Show" }
        }
        @if page.transactions.is_empty() { p { "Nothing waits." } } @else {
            div .scroll tabindex="0" role="region" aria-label="Waiting transactions" {
                table #waiting {
                    thead { tr {
                        th scope="col" { "Transaction" }
                        th scope="col" { "Customer" }
                        th scope="col" .num { "Amount" }
                        th scope="col" { "At" }
                        th scope="col" { "Subscription key" }
                        th scope="col" { "Waits for" }
                    } }
                    tbody {
                        @for t in &page.transactions {
                            tr {
                                th scope="row" { code { (t.key) } }
                                td { code { (t.customer) } }
                                td .num { (t.amount) }
                                td { (when(t.at)) }
                                td { @if let Some(s) = &t.subscription_key { code { (s) } } @else { "—" } }
                                td {
                                    @if t.partner.is_none() { "a referral signup" }
                                    @if t.partner.is_none() && t.product.is_none() { "; " }
                                    @if t.product.is_none() { "a product" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(n) = &page.next {
            nav .pager aria-label="Pages" {
                a href={ (base) "/transactions?" (query_string(&[("which", which), ("after", Some(n))])) } rel="next" { "Next →" }
            }
        }
    };
    Ok(frame(
        &viewer,
        &program,
        "/transactions",
        "Waiting transactions",
        &body,
    ))
}
