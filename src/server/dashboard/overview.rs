//! The overview: partners, customers, revenue and net commissions by month.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;

use super::chart::bars;
use super::layout::page as frame;
use super::{PageError, Viewer};
use crate::server::AppState;

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(program): Path<String>,
) -> Result<Response, PageError> {
    viewer.require_data(&program)?;
    let monthly = state.engine.monthly_totals(&program).await?;
    let cur = &monthly.currency;
    let money = |v: i128| cur.format(v);
    let count = |v: i128| v.to_string();
    let series = |f: &dyn Fn(&crate::store::MonthTotals) -> i128| -> Vec<(String, i128)> {
        monthly
            .months
            .iter()
            .map(|m| (m.month.clone(), f(m)))
            .collect()
    };
    let partners: u64 = monthly.months.iter().map(|m| m.partners).sum();
    let customers: u64 = monthly.months.iter().map(|m| m.customers).sum();
    let revenue: i128 = monthly.months.iter().map(|m| m.revenue).sum();
    let commissions: i128 = monthly.months.iter().map(|m| m.commissions).sum();
    let body = html! {
        h1 { "Overview" }
        dl .cards {
            div { dt { "Partners" } dd #total-partners { (partners) } }
            div { dt { "Referred customers" } dd #total-customers { (customers) } }
            div { dt { "Revenue (" (cur.code) ")" } dd #total-revenue { (money(revenue)) } }
            div { dt { "Net commissions (" (cur.code) ")" } dd #total-commissions { (money(commissions)) } }
        }
        @if monthly.months.is_empty() {
            p { "Nothing has happened in this program yet." }
        } @else {
            div .charts {
                (bars("chart-partners", "Partners joined by month", &series(&|m| i128::from(m.partners)), &count))
                (bars("chart-customers", "Referred customers by month", &series(&|m| i128::from(m.customers)), &count))
                (bars("chart-revenue", &format!("Revenue by month ({})", cur.code), &series(&|m| m.revenue), &money))
                (bars("chart-commissions", &format!("Net commissions by month, by due date ({})", cur.code), &series(&|m| m.commissions), &money))
            }
            h2 { "By month" }
            div .scroll tabindex="0" role="region" aria-label="Totals by month" {
                table {
                    thead { tr {
                        th scope="col" { "Month" }
                        th scope="col" .num { "Partners joined" }
                        th scope="col" .num { "Referred customers" }
                        th scope="col" .num { "Revenue" }
                        th scope="col" .num { "Net commissions" }
                    } }
                    tbody {
                        @for m in monthly.months.iter().rev() {
                            tr {
                                th scope="row" { (m.month) }
                                td .num { (m.partners) }
                                td .num { (m.customers) }
                                td .num { (money(m.revenue)) }
                                td .num { (money(m.commissions)) }
                            }
                        }
                    }
                }
            }
            p .note { "Months are calendar months in UTC. Revenue is what referred customers paid, less refunds; commissions are ledger lines by the month they are due." }
        }
    };
    Ok(frame(&viewer, &program, "", "Overview", &body))
}
