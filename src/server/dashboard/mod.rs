//! The program manager's dashboard at `/`: server-rendered HTML (maud), its
//! stylesheet compiled into the binary, charts as inline SVG, no script.
//! Read-only: it calls the same engine functions as the JSON API, so its
//! numbers are the API's and the CLI's.
//!
//! Signing in posts a token once (never in a URL); the server keeps it in an
//! `HttpOnly`, `SameSite=Strict` cookie (`Secure` under TLS), checked like a
//! bearer token on every page. A `partner:KEY` token reaches that partner's
//! portal and nothing else.

mod chart;
mod deliveries;
mod history;
mod layout;
mod ledger;
mod overview;
mod partner;
mod partners;
mod payouts;
mod portal;
mod products;
mod session;
mod waiting;

use axum::Router;
use axum::routing::{get, post};

use super::AppState;
pub use layout::PageError;
pub use session::Viewer;

/// The stylesheet, compiled in: nothing is fetched at run time.
const STYLE: &str = include_str!("style.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(session::home))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/assets/style.css", get(style))
        .route("/programs/{program}", get(overview::page))
        .route("/programs/{program}/partners", get(partners::page))
        .route("/programs/{program}/partners/{partner}", get(partner::page))
        .route(
            "/programs/{program}/partners/{partner}/portal",
            get(portal::of_partner),
        )
        .route("/programs/{program}/portal", get(portal::mine))
        .route("/programs/{program}/ledger", get(ledger::page))
        .route("/programs/{program}/ledger.csv", get(ledger::csv))
        .route("/programs/{program}/payouts", get(payouts::page))
        .route("/programs/{program}/payouts/{payout}", get(payouts::detail))
        .route("/programs/{program}/transactions", get(waiting::page))
        .route("/programs/{program}/products", get(products::page))
        .route("/programs/{program}/history", get(history::page))
        .route(
            "/programs/{program}/history/{revision}",
            get(history::revision),
        )
        .route("/programs/{program}/deliveries", get(deliveries::page))
}

async fn style() -> impl axum::response::IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
}

/// A query-string value, with an empty one (an unfilled form field) taken
/// as absent.
fn given(v: Option<&String>) -> Option<&str> {
    v.map(String::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A date (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 time from a form.
fn parse_time(
    name: &str,
    v: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, PageError> {
    let Some(v) = v else { return Ok(None) };
    if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(Some(d.and_time(chrono::NaiveTime::MIN).and_utc()));
    }
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| Some(t.with_timezone(&chrono::Utc)))
        .map_err(|_| {
            PageError::bad_request(format!(
                "`{name}` must be a date (YYYY-MM-DD) or an RFC 3339 time, not `{v}`"
            ))
        })
}

/// A time as people read it: `2026-03-04 10:15 UTC`.
fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The page number in query parameter `name` (1 when absent).
fn page_number(
    q: &std::collections::HashMap<String, String>,
    name: &str,
) -> Result<usize, PageError> {
    match given(q.get(name)) {
        None => Ok(1),
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| *p >= 1 && *p <= 1_000_000)
            .ok_or_else(|| {
                PageError::bad_request(format!("`{name}` must be a page number, not `{p}`"))
            }),
    }
}

/// `key=value&...` with each value percent-encoded, for links that keep a
/// page's filters.
fn query_string(pairs: &[(&str, Option<&str>)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

/// A path segment, percent-encoded (keys are plain, but a link never
/// trusts that).
fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
