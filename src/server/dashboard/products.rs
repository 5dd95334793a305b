//! The products report: per product, customers, sales, revenue and net
//! commissions (`partnerops report products`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;

use super::layout::page as frame;
use super::{PageError, Viewer, given, parse_time, seg};
use crate::server::AppState;

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(program): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    viewer.require_data(&program)?;
    let since = given(q.get("since"));
    let until = given(q.get("until"));
    let by_partner = given(q.get("by")) == Some("partner");
    let report = state
        .engine
        .product_report(
            &program,
            parse_time("since", since)?,
            parse_time("until", until)?,
            by_partner,
        )
        .await?;
    let base = format!("/programs/{}", seg(&program));
    let body = html! {
        h1 { "Products" }
        form method="get" action={ (base) "/products" } .filters aria-label="Report period" {
            div { label for="since" { "Sales from" } input #since type="date" name="since" value=[since]; }
            div { label for="until" { "Sales before" } input #until type="date" name="until" value=[until]; }
            div .check {
                input #by type="checkbox" name="by" value="partner" checked[by_partner];
                label for="by" { "Split by partner" }
            }
            button type="submit" { "Show" }
        }
        div .scroll tabindex="0" role="region" aria-label="Products report" {
            table #products {
                thead { tr {
                    th scope="col" { "Product" }
                    @if by_partner { th scope="col" { "Partner" } }
                    th scope="col" .num { "Customers" }
                    th scope="col" .num { "Sales" }
                    th scope="col" .num { "Revenue (" (report.currency) ")" }
                    th scope="col" .num { "Net commissions (" (report.currency) ")" }
                } }
                tbody {
                    @for r in &report.rows {
                        tr {
                            th scope="row" {
                                @match (&r.product, &r.name) {
                                    (Some(k), Some(n)) => { (n) " " span .sub { "(" (k) ")" } }
                                    (Some(k), None) => { (k) }
                                    (None, _) => { em { "no product" } }
                                }
                            }
                            @if by_partner {
                                td { @if let Some(p) = &r.partner { a href={ (base) "/partners/" (seg(p)) } { (p) } } @else { em { "unattributed" } } }
                            }
                            td .num { (r.customers) }
                            td .num { (r.sales) }
                            td .num { (r.revenue) }
                            td .num { (r.commissions) }
                        }
                    }
                }
            }
        }
    };
    Ok(frame(&viewer, &program, "/products", "Products", &body))
}
