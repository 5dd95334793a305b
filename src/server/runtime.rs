//! Runtime routes: events in, the sweep, partners out.

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::auth::{Admin, Authorized, DataRead, EventsWrite};
use super::params::{PageParams, PathParams, QueryParams};
use super::reply::{ApiError, TextBody};
use crate::engine::customer::CustomerDetail;
use crate::engine::erasure::Erasure;
use crate::engine::event::{BatchFormat, IngestReport};
use crate::engine::page::Page;
use crate::engine::partner::Partner;
use crate::engine::runtime::state::{Subject, TagChange};
use crate::engine::{Error, PartnerDetail, SweepReport};
use crate::problem::Problem;

/// Takes a batch of events: a JSON array or NDJSON. Good events take effect and
/// are durable before the answer; duplicates and bad events are listed with
/// their line.
#[utoipa::path(post, path = "/v1/programs/{program}/events", tag = "runtime",
    params(("program" = String, Path, description = "program key")),
    request_body(description = "NDJSON (one event per line) with Content-Type application/x-ndjson, or a JSON array of events with application/json; other content types: an array when the body starts with `[`, else NDJSON. Each event is checked on its own: a bad one is listed in `rejected`, not refused with the batch.",
        content(
            (String = "application/x-ndjson"),
            (Vec<crate::engine::event::Event> = "application/json"),
        )),
    responses((status = 200, body = IngestReport, description = "processed; see rejected and duplicates"),
        (status = 400, body = Problem, description = "the body is not UTF-8, or holds more events than one batch may"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope"),
        (status = 404, body = Problem, description = "the program has no config"),
        (status = 413, body = Problem, description = "the body is larger than serve --upload-limit")),
    security(("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    _caller: Authorized<EventsWrite>,
    PathParams(program): PathParams<String>,
    headers: axum::http::HeaderMap,
    TextBody(body): TextBody,
) -> Result<Json<IngestReport>, ApiError> {
    let format = BatchFormat::from_content_type(
        headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    let report = state.engine.ingest(&program, &body, format).await?;
    tracing::info!(
        program,
        accepted = report.accepted,
        duplicates = report.duplicates.len(),
        rejected = report.rejected.len(),
        "events"
    );
    Ok(Json(report))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SweepParams {
    /// RFC 3339; now when absent.
    now: Option<String>,
    /// One program; when absent, every program (the token's own program for
    /// a token bound to one).
    program: Option<String>,
}

/// Runs the daily checks now (the server also runs them on a timer).
#[utoipa::path(post, path = "/v1/sweep", tag = "runtime", params(SweepParams),
    responses((status = 200, body = Vec<SweepReport>, description = "one report per program"),
        (status = 400, body = Problem, description = "`now` is not RFC 3339, or `program` is not a valid key"),
        (status = 404, body = Problem, description = "`program` has no config in the engine"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn sweep(
    State(state): State<AppState>,
    caller: Authorized<Admin>,
    QueryParams(params): QueryParams<SweepParams>,
) -> Result<Json<Vec<SweepReport>>, ApiError> {
    if let Some(problem) = params
        .program
        .as_deref()
        .and_then(crate::spec::check::key_problem)
    {
        return Err(ApiError(Error::BadRequest(format!("program: {problem}"))));
    }
    let now = match params.now {
        Some(t) => chrono::DateTime::parse_from_rfc3339(&t)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|e| Error::BadRequest(format!("`now` is not an RFC 3339 time: {e}")))?,
        None => chrono::Utc::now(),
    };
    if let (Some(bound), Some(asked)) = (&caller.0.program, &params.program)
        && bound != asked
    {
        return Err(ApiError(Error::Forbidden(format!(
            "this token reaches program `{bound}` only"
        ))));
    }
    let reports = match params.program.or(caller.0.program) {
        Some(p) => vec![state.engine.sweep(&p, now).await?],
        None => state.engine.sweep_all(now).await?,
    };
    Ok(Json(reports))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PartnersParams {
    /// Only partners with this tag (a tag the config declares).
    tag: Option<String>,
    /// `next_cursor` from the previous page; the first page when absent.
    cursor: Option<String>,
    /// Partners on the page: 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// Partners, in key order, with their tags and stats, a page at a time.
#[utoipa::path(get, path = "/v1/programs/{program}/partners", tag = "runtime",
    params(("program" = String, Path, description = "program key"), PartnersParams),
    responses((status = 200, body = super::openapi::PartnerPage, description = "a page of partners"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope"),
        (status = 404, body = Problem, description = "`tag` is not a tag the program declares")),
    security(("bearer" = [])))]
pub async fn partners(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
    PathParams(program): PathParams<String>,
    QueryParams(params): QueryParams<PartnersParams>,
) -> Result<Json<Page<Partner>>, ApiError> {
    let limit = crate::engine::page::limit(params.limit)?;
    Ok(Json(
        state
            .engine
            .partners_page(
                &program,
                params.tag.as_deref(),
                params.cursor.as_deref(),
                limit,
            )
            .await?,
    ))
}

/// A partner's tag changes, oldest first, a page at a time.
#[utoipa::path(get, path = "/v1/programs/{program}/partners/{partner}/tag-history", tag = "runtime",
    params(("program" = String, Path, description = "program key"), ("partner" = String, Path, description = "partner key"), PageParams),
    responses((status = 200, body = super::openapi::TagChangePage, description = "a page of tag changes"),
        (status = 404, body = Problem, description = "no such partner"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn partner_tag_history(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
    PathParams((program, key)): PathParams<(String, String)>,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Json<Page<TagChange>>, ApiError> {
    Ok(Json(
        state
            .engine
            .tag_history_page(
                &program,
                Subject::Partner,
                &key,
                params.cursor.as_deref(),
                params.limit()?,
            )
            .await?,
    ))
}

/// A customer's tag changes, oldest first, a page at a time.
#[utoipa::path(get, path = "/v1/programs/{program}/customers/{customer}/tag-history", tag = "runtime",
    params(("program" = String, Path, description = "program key"), ("customer" = String, Path, description = "customer key"), PageParams),
    responses((status = 200, body = super::openapi::TagChangePage, description = "a page of tag changes"),
        (status = 404, body = Problem, description = "no such customer"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn customer_tag_history(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
    PathParams((program, key)): PathParams<(String, String)>,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Json<Page<TagChange>>, ApiError> {
    Ok(Json(
        state
            .engine
            .tag_history_page(
                &program,
                Subject::Customer,
                &key,
                params.cursor.as_deref(),
                params.limit()?,
            )
            .await?,
    ))
}

/// One customer: referrer, products, tags and the history of their tags.
#[utoipa::path(get, path = "/v1/programs/{program}/customers/{customer}", tag = "runtime",
    params(("program" = String, Path, description = "program key"), ("customer" = String, Path, description = "customer key")),
    responses((status = 200, body = CustomerDetail, description = "the customer"),
        (status = 404, body = Problem, description = "no such customer"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn customer(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
    PathParams((program, key)): PathParams<(String, String)>,
) -> Result<Json<CustomerDetail>, ApiError> {
    Ok(Json(state.engine.customer(&program, &key).await?))
}

/// One partner: stats, tags and the history of their tags.
#[utoipa::path(get, path = "/v1/programs/{program}/partners/{partner}", tag = "runtime",
    params(("program" = String, Path, description = "program key"), ("partner" = String, Path, description = "partner key")),
    responses((status = 200, body = PartnerDetail, description = "the partner"),
        (status = 404, body = Problem, description = "no such partner"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn partner(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
    PathParams((program, key)): PathParams<(String, String)>,
) -> Result<Json<PartnerDetail>, ApiError> {
    Ok(Json(state.engine.partner(&program, &key).await?))
}

/// Erases a partner's personal data: name and email go from the partner and
/// from every stored event that held them; keys, money and tags stay. The
/// erasure is recorded and shown with the partner. Irreversible.
#[utoipa::path(post, path = "/v1/programs/{program}/partners/{partner}/erase", tag = "runtime",
    params(("program" = String, Path, description = "program key"), ("partner" = String, Path, description = "partner key")),
    responses((status = 200, body = Erasure, description = "erased"),
        (status = 404, body = Problem, description = "no such partner"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn erase_partner(
    State(state): State<AppState>,
    caller: Authorized<Admin>,
    PathParams((program, key)): PathParams<(String, String)>,
) -> Result<Json<Erasure>, ApiError> {
    let erasure = state.engine.erase_partner(&program, &key).await?;
    tracing::info!(
        program,
        partner = key,
        events = erasure.events,
        token = caller.0.token_id,
        "personal data erased"
    );
    Ok(Json(erasure))
}
