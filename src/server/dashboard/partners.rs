//! Partners: filtered by tag and group, sorted by any stat, a page at a time.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;

use super::layout::page as frame;
use super::{PageError, Viewer, given, page_number, query_string, seg, when};
use crate::engine::Error;
use crate::server::AppState;
use crate::store::{PartnerQuery, PartnerSort};

/// Partners on a page.
pub const PER_PAGE: usize = 50;

/// The columns that sort, with their headings.
const COLUMNS: [(PartnerSort, &str, bool); 7] = [
    (PartnerSort::Key, "Partner", false),
    (PartnerSort::Joined, "Joined", false),
    (PartnerSort::Signups, "Signups", true),
    (PartnerSort::Customers, "Customers", true),
    (PartnerSort::Sales, "Sales", true),
    (PartnerSort::Revenue, "Revenue", true),
    (PartnerSort::LastActivity, "Last active", false),
];

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(program): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    viewer.require_data(&program)?;
    let tag = given(q.get("tag"));
    let group = given(q.get("group"));
    let sort = match given(q.get("sort")) {
        None => PartnerSort::Key,
        Some(s) => PartnerSort::parse(s)
            .ok_or_else(|| PageError::bad_request(format!("partners cannot be sorted by `{s}`")))?,
    };
    let descending = given(q.get("dir")) == Some("desc");
    let page = page_number(&q, "page")?;
    let config = state
        .engine
        .snapshot(&program)
        .await?
        .config()
        .ok_or_else(|| {
            Error::NotFound(format!("program `{program}` has no config in the engine"))
        })?;
    if let Some(t) = tag
        && !config.tags.iter().any(|d| d.key == t)
    {
        return Err(Error::NotFound(format!("program `{program}` declares no tag `{t}`")).into());
    }
    let currency = state.engine.currency(&program).await?;
    let (total, partners) = state
        .engine
        .partners_sorted(
            &program,
            &PartnerQuery {
                tag: tag.map(str::to_owned),
                group: group.map(str::to_owned),
                sort,
                descending,
                offset: (page - 1) * PER_PAGE,
                limit: PER_PAGE,
            },
        )
        .await?;
    let pages = usize::try_from(total)
        .unwrap_or(usize::MAX)
        .div_ceil(PER_PAGE)
        .max(1);
    let base = format!("/programs/{}/partners", seg(&program));
    let link = |sort: PartnerSort, desc: bool, page: usize| {
        let page = page.to_string();
        format!(
            "{base}?{}",
            query_string(&[
                ("tag", tag),
                ("group", group),
                ("sort", Some(sort.name())),
                ("dir", desc.then_some("desc")),
                ("page", (page != "1").then_some(page.as_str())),
            ])
        )
    };
    let body = html! {
        h1 { "Partners" }
        form method="get" action=(base) .filters aria-label="Filter partners" {
            div {
                label for="tag" { "Tag" }
                select #tag name="tag" {
                    option value="" { "Any tag" }
                    @for t in &config.tags {
                        option value=(t.key) selected[tag == Some(t.key.as_str())] { (t.key) }
                    }
                }
            }
            div {
                label for="group" { "Group" }
                select #group name="group" {
                    option value="" { "Any group" }
                    @for g in &config.groups {
                        option value=(g.key) selected[group == Some(g.key.as_str())] { (g.name.as_deref().unwrap_or(&g.key)) }
                    }
                }
            }
            input type="hidden" name="sort" value=(sort.name());
            @if descending { input type="hidden" name="dir" value="desc"; }
            button type="submit" { "Filter" }
        }
        p #partner-count role="status" { (total) " partners" @if tag.is_some() || group.is_some() { " match" } }
        div .scroll tabindex="0" role="region" aria-label="Partners" {
            table #partners {
                thead { tr {
                    @for (col, heading, numeric) in COLUMNS {
                        @let active = col == sort;
                        @let next_desc = if active { !descending } else { numeric };
                        th scope="col" class=[numeric.then_some("num")]
                            aria-sort=[active.then(|| if descending { "descending" } else { "ascending" })] {
                            a href=(link(col, next_desc, 1)) {
                                (heading)
                                @if active { span aria-hidden="true" { @if descending { " ▼" } @else { " ▲" } } }
                            }
                        }
                    }
                    th scope="col" { "Group" }
                    th scope="col" { "Tags" }
                } }
                tbody {
                    @for p in &partners {
                        tr {
                            th scope="row" {
                                a href={ (base) "/" (seg(&p.key)) } { (p.key) }
                                @if let Some(n) = &p.name { br; span .sub { (n) } }
                            }
                            td { (p.joined_at.format("%Y-%m-%d")) }
                            td .num { (p.stats.signups) }
                            td .num { (p.stats.customers) }
                            td .num { (p.stats.sales) }
                            td .num { (currency.format(i128::from(p.stats.revenue.minor()))) }
                            td { (when(p.stats.last_activity_at)) }
                            td { (p.group.as_deref().unwrap_or("—")) }
                            td { @for t in &p.tags { span .tag { (t) } " " } }
                        }
                    }
                }
            }
        }
        nav .pager aria-label="Pages" {
            @if page > 1 { a href=(link(sort, descending, page - 1)) rel="prev" { "← Previous" } }
            span { "Page " (page) " of " (pages) }
            @if page < pages { a href=(link(sort, descending, page + 1)) rel="next" { "Next →" } }
        }
    };
    Ok(frame(&viewer, &program, "/partners", "Partners", &body))
}
