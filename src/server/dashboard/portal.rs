//! A partner's portal: their customers and what those hold (never who sold
//! it), their commissions and the offers open to them. A `partner:KEY`
//! token sees its own and nothing else; `data:read` sees any partner's, to
//! know what they see.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;

use super::layout::page as frame;
use super::{PageError, Viewer, when};
use crate::engine::Error;
use crate::engine::access::Scope;
use crate::server::AppState;

/// `/programs/{program}/portal`: the viewer's own portal.
pub async fn mine(
    state: State<AppState>,
    viewer: Viewer,
    Path(program): Path<String>,
) -> Result<Response, PageError> {
    let key = viewer
        .partner()
        .ok_or_else(|| {
            Error::Forbidden("this is not a partner token (scope partner:KEY)".to_owned())
        })?
        .to_owned();
    render(state, &viewer, program, key).await
}

/// `/programs/{program}/partners/{partner}/portal`.
pub async fn of_partner(
    state: State<AppState>,
    viewer: Viewer,
    Path((program, key)): Path<(String, String)>,
) -> Result<Response, PageError> {
    render(state, &viewer, program, key).await
}

async fn render(
    State(state): State<AppState>,
    viewer: &Viewer,
    program: String,
    key: String,
) -> Result<Response, PageError> {
    viewer.require_program(&program)?;
    if !viewer.0.allows(&Scope::Partner(key.clone())) && !viewer.reads_data() {
        return Err(
            Error::Forbidden("a partner token opens its own portal only".to_owned()).into(),
        );
    }
    let view = state.engine.partner_view(&program, &key).await?;
    let body = html! {
        h1 { "Portal of " (view.partner) }
        h2 { "Offers" }
        @if view.offers.is_empty() { p { "No offer is open to you right now." } }
        ul #offers { @for o in &view.offers { li { (o) } } }
        h2 { "Customers" }
        @if view.customers.is_empty() { p { "No customer yet." } } @else {
            div .scroll tabindex="0" role="region" aria-label="Customers" {
                table #portal-customers {
                    thead { tr {
                        th scope="col" { "Customer" }
                        th scope="col" { "Product" }
                        th scope="col" { "Status" }
                        th scope="col" .num { "Amount" }
                        th scope="col" { "Since" }
                    } }
                    tbody {
                        @for c in &view.customers {
                            @if c.products.is_empty() {
                                tr { th scope="row" { code { (c.key) } } td colspan="4" { "no product yet" } }
                            }
                            @for p in &c.products {
                                tr {
                                    th scope="row" { code { (c.key) } }
                                    td { (p.product) }
                                    td { (p.status.as_str()) }
                                    td .num { @if let Some(a) = p.amount { (a) } }
                                    td { (when(p.purchased_at)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Commissions" }
        @if view.commissions.is_empty() { p { "No commission yet." } } @else {
            div .scroll tabindex="0" role="region" aria-label="Commissions" {
                table #portal-commissions {
                    thead { tr {
                        th scope="col" { "Transaction" }
                        th scope="col" { "Offer" }
                        th scope="col" { "Kind" }
                        th scope="col" .num { "Amount" }
                        th scope="col" { "Due" }
                        th scope="col" { "Status" }
                    } }
                    tbody {
                        @for c in &view.commissions {
                            tr {
                                th scope="row" { code { (c.transaction) } }
                                td { (c.offer) }
                                td { (c.kind.as_str()) }
                                td .num { (c.amount) }
                                td { (c.due_on) }
                                td { span class={ "status " (c.status.as_str()) } { (c.status.as_str()) } }
                            }
                        }
                    }
                }
            }
        }
    };
    let current = if viewer.reads_data() {
        "/partners"
    } else {
        "/portal"
    };
    Ok(frame(
        viewer,
        &program,
        current,
        &format!("Portal of {key}"),
        &body,
    ))
}
