//! `GET /metrics` (Prometheus text format, needs `data:read`) and the
//! middleware that counts requests by method, route template and status.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::auth::{Authorized, DataRead};
use super::reply::ApiError;
use crate::engine::Error;

/// The counters and timings recorded since the process started.
pub async fn render(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
) -> Result<Response, ApiError> {
    let handle = state
        .metrics
        .as_ref()
        .ok_or_else(|| Error::Internal("metrics are not recorded in this process".to_owned()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response())
}

/// Counts each request under the route that matched it (`/v1/programs/
/// {program}/partners/{partner}`), never its raw path: keys in paths would
/// make a series per partner. Requests no route matched share one label.
pub async fn count(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(req).await;
    let method = if is_standard(&method) {
        method.as_str()
    } else {
        "other"
    };
    crate::telemetry::http_request(method, &route, response.status().as_u16());
    response
}

/// Methods outside the standard ones are counted as `other`, so a client
/// cannot mint label values.
fn is_standard(m: &axum::http::Method) -> bool {
    use axum::http::Method;
    [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
    ]
    .contains(m)
}
