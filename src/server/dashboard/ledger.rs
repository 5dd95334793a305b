//! The ledger: lines filtered by partner, status and due dates, their
//! totals, and the same lines as CSV (the format `commissions --format csv`
//! writes).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::page as frame;
use super::{PageError, Viewer, given, parse_time, query_string, seg};
use crate::engine::ledger::listing::LedgerQuery;
use crate::server::AppState;
use crate::store::record::LineStatus;

/// Lines on a page.
const PER_PAGE: usize = 100;

struct Filters<'a> {
    partner: Option<&'a str>,
    status: Option<&'a str>,
    since: Option<&'a str>,
    until: Option<&'a str>,
}

fn filters(q: &HashMap<String, String>) -> Filters<'_> {
    Filters {
        partner: given(q.get("partner")),
        status: given(q.get("status")),
        since: given(q.get("since")),
        until: given(q.get("until")),
    }
}

fn query(f: &Filters<'_>, after: Option<u64>, limit: usize) -> Result<LedgerQuery, PageError> {
    let status = f
        .status
        .map(|s| {
            LineStatus::parse(s).ok_or_else(|| {
                PageError::bad_request(format!(
                    "`status` must be pending, approved or paid, not `{s}`"
                ))
            })
        })
        .transpose()?;
    Ok(LedgerQuery {
        partner: f.partner.map(str::to_owned),
        transaction: None,
        status,
        since: parse_time("since", f.since)?,
        until: parse_time("until", f.until)?,
        after,
        limit,
    })
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(program): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    viewer.require_data(&program)?;
    let f = filters(&q);
    let after = match given(q.get("after")) {
        None => None,
        Some(a) => Some(a.parse::<u64>().map_err(|_| {
            PageError::bad_request(format!("`after` must be a line id, not `{a}`"))
        })?),
    };
    let lq = query(&f, after, PER_PAGE)?;
    let currency = state.engine.currency(&program).await?;
    let page = state.engine.ledger(&program, &lq).await?;
    let totals = state.engine.ledger_totals(&program, &lq).await?;
    let base = format!("/programs/{}", seg(&program));
    let kept = |extra: &[(&str, Option<&str>)]| {
        let mut pairs = vec![
            ("partner", f.partner),
            ("status", f.status),
            ("since", f.since),
            ("until", f.until),
        ];
        pairs.extend_from_slice(extra);
        query_string(&pairs)
    };
    let next = page.next.map(|n| n.to_string());
    let body = html! {
        h1 { "Ledger" }
        form method="get" action={ (base) "/ledger" } .filters aria-label="Filter ledger lines" {
            div { label for="partner" { "Partner" } input #partner name="partner" value=[f.partner] autocomplete="off"; }
            div {
                label for="status" { "Status" }
                select #status name="status" {
                    option value="" { "Any status" }
                    @for s in ["pending", "approved", "paid"] {
                        option value=(s) selected[f.status == Some(s)] { (s) }
                    }
                }
            }
            div { label for="since" { "Due from" } input #since type="date" name="since" value=[f.since]; }
            div { label for="until" { "Due before" } input #until type="date" name="until" value=[f.until]; }
            button type="submit" { "Filter" }
        }
        dl .cards #ledger-totals {
            div { dt { "Lines" } dd #total-lines { (totals.lines) } }
            div { dt { "Net (" (currency.code) ")" } dd #total-net { (totals.net) } }
            div { dt { "Pending" } dd #total-pending { (totals.pending) } }
            div { dt { "Approved" } dd #total-approved { (totals.approved) } }
            div { dt { "Paid" } dd #total-paid { (totals.paid) } }
        }
        p { a #csv href={ (base) "/ledger.csv?" (kept(&[])) } download { "Download these lines as CSV" } }
        div .scroll tabindex="0" role="region" aria-label="Ledger lines" {
            table #ledger {
                thead { tr {
                    th scope="col" .num { "Line" }
                    th scope="col" { "Partner" }
                    th scope="col" { "Transaction" }
                    th scope="col" { "Trigger" }
                    th scope="col" { "Kind" }
                    th scope="col" .num { "Amount" }
                    th scope="col" { "Due" }
                    th scope="col" { "Status" }
                    th scope="col" { "Payout" }
                } }
                tbody {
                    @for l in &page.lines {
                        tr {
                            td .num { (l.id) }
                            td { a href={ (base) "/partners/" (seg(&l.partner)) } { (l.partner) } }
                            td { code { (l.transaction) } }
                            td { (l.trigger) @if l.installments > 1 { " (" (l.installment) "/" (l.installments) ")" } }
                            td { (l.kind.as_str()) }
                            td .num { (l.amount) }
                            td { (l.due_on.map_or_else(|| l.due_at.format("%Y-%m-%d").to_string(), |d| d.to_string())) }
                            td { span class={ "status " (l.status.as_str()) } { (l.status.as_str()) } }
                            td { @if let Some(p) = l.payout { a href={ (base) "/payouts/" (p) } { (p) } } }
                        }
                    }
                }
            }
        }
        nav .pager aria-label="Pages" {
            @if after.is_some() { a href={ (base) "/ledger?" (kept(&[])) } { "← First page" } }
            @if let Some(n) = &next { a href={ (base) "/ledger?" (kept(&[("after", Some(n.as_str()))])) } rel="next" { "Next →" } }
        }
    };
    Ok(frame(&viewer, &program, "/ledger", "Ledger", &body))
}

/// Every line the filters select, as CSV.
pub async fn csv(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(program): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    viewer.require_data(&program)?;
    let f = filters(&q);
    let mut lq = query(&f, None, crate::engine::ledger::listing::MAX_PAGE)?;
    let currency = state.engine.currency(&program).await?;
    let mut out = crate::engine::ledger::csv::lines(&[], &currency.code, true);
    loop {
        let page = state.engine.ledger(&program, &lq).await?;
        out.push_str(&crate::engine::ledger::csv::lines(
            &page.lines,
            &currency.code,
            false,
        ));
        match page.next {
            Some(n) => lq.after = Some(n),
            None => break,
        }
    }
    let mut r = out.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-commissions.csv\"",
        program.replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
            "_"
        )
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}
