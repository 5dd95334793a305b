//! Webhook deliveries: each message, its endpoint and where it stands.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;

use super::layout::page as frame;
use super::{PageError, Viewer, given, query_string, seg, when};
use crate::server::AppState;
use crate::store::outbox::{DeliveryQuery, DeliveryStatus};

const PER_PAGE: usize = 100;

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(program): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    viewer.require_data(&program)?;
    let endpoint = given(q.get("endpoint"));
    let status = given(q.get("status"));
    let parsed = match status {
        None => None,
        Some("pending") => Some(DeliveryStatus::Pending),
        Some("delivered") => Some(DeliveryStatus::Delivered),
        Some("failed") => Some(DeliveryStatus::Failed),
        Some(other) => {
            return Err(PageError::bad_request(format!(
                "`status` must be pending, delivered or failed, not `{other}`"
            )));
        }
    };
    let before = given(q.get("before"));
    let list = state
        .engine
        .deliveries(
            &program,
            &DeliveryQuery {
                endpoint: endpoint.map(str::to_owned),
                status: parsed,
                before: before.map(str::to_owned),
                limit: PER_PAGE,
                with_body: false,
            },
        )
        .await?;
    let config = state.engine.snapshot(&program).await?.config();
    let endpoints: Vec<String> = config
        .map(|c| c.webhooks.iter().map(|w| w.key.clone()).collect())
        .unwrap_or_default();
    let base = format!("/programs/{}", seg(&program));
    let body = html! {
        h1 { "Webhook deliveries" }
        form method="get" action={ (base) "/deliveries" } .filters aria-label="Filter deliveries" {
            div {
                label for="endpoint" { "Endpoint" }
                select #endpoint name="endpoint" {
                    option value="" { "Any endpoint" }
                    @for e in &endpoints { option value=(e) selected[endpoint == Some(e.as_str())] { (e) } }
                }
            }
            div {
                label for="status" { "Status" }
                select #status name="status" {
                    option value="" { "Any status" }
                    @for s in ["pending", "delivered", "failed"] { option value=(s) selected[status == Some(s)] { (s) } }
                }
            }
            button type="submit" { "Filter" }
        }
        @if list.is_empty() { p { "No delivery yet." } } @else {
            div .scroll tabindex="0" role="region" aria-label="Deliveries" {
                table #deliveries {
                    thead { tr {
                        th scope="col" { "Message" }
                        th scope="col" { "Endpoint" }
                        th scope="col" { "Type" }
                        th scope="col" { "Status" }
                        th scope="col" .num { "Attempts" }
                        th scope="col" { "Created" }
                        th scope="col" { "Last answer" }
                        th scope="col" { "Next try" }
                    } }
                    tbody {
                        @for d in &list {
                            tr {
                                th scope="row" { code { (d.id) } }
                                td { (d.endpoint) }
                                td { (serde_json::to_value(d.event_type).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) }
                                td { span class={ "status " (d.status.as_str()) } { (d.status.as_str()) } }
                                td .num { (d.attempts) }
                                td { (when(d.created_at)) }
                                td {
                                    @if let Some(s) = d.last_status { (s) }
                                    @if let Some(e) = &d.last_error { " " span .sub { (e) } }
                                }
                                td { @if let Some(t) = d.next_attempt_at { (when(t)) } }
                            }
                        }
                    }
                }
            }
        }
        @if list.len() == PER_PAGE && let Some(last) = list.last() {
            nav .pager aria-label="Pages" {
                a href={ (base) "/deliveries?" (query_string(&[("endpoint", endpoint), ("status", status), ("before", Some(&last.id))])) } rel="next" { "Older →" }
            }
        }
        p .note { "Redeliver a message with " code { "partnerops webhooks redeliver ID" } "." }
    };
    Ok(frame(
        &viewer,
        &program,
        "/deliveries",
        "Webhook deliveries",
        &body,
    ))
}
