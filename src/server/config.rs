//! Config routes: snapshots, changesets and their history.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;
use super::auth::{Admin, Authorized, Caller, ConfigRead, ConfigWrite};
use super::params::PathParams;
use super::params::{PageParams, QueryParams};
use super::reply::{ApiError, JsonBody};
use crate::engine::access::{IssuedToken, TokenRecord, TokenRequest};
use crate::engine::changeset::{Changeset, ChangesetRecord};
use crate::engine::page::Page;
use crate::engine::whatif::{WhatIf, WhatIfQuery};
use crate::engine::{Error, Impact, ImpactQuery, ProgramSummary, Snapshot};
use crate::problem::Problem;

/// Programs the engine holds. Any valid token may list them: a token for
/// events or one partner's view needs to find its program, and keys and
/// revisions say nothing about partners or money.
#[utoipa::path(get, path = "/v1/programs", tag = "config", params(PageParams),
    responses((status = 200, body = super::openapi::ProgramPage, description = "a page of programs, in key order"), (status = 401, body = Problem, description = "no or bad token")),
    security(("bearer" = [])))]
pub async fn programs(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Json<Page<ProgramSummary>>, ApiError> {
    let limit = params.limit()?;
    if let Some(bound) = &caller.0.program {
        // A bound token sees its own program only.
        let mut page = state
            .engine
            .programs_page(params.cursor.as_deref(), limit)
            .await?;
        page.items.retain(|p| p.key == *bound);
        return Ok(Json(page));
    }
    Ok(Json(
        state
            .engine
            .programs_page(params.cursor.as_deref(), limit)
            .await?,
    ))
}

/// A program's whole config at its current revision (revision 0 and no
/// resources for a program the engine does not hold yet).
#[utoipa::path(get, path = "/v1/programs/{program}/config", tag = "config",
    params(("program" = String, Path, description = "program key")),
    responses((status = 200, body = Snapshot, description = "ok"), (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn snapshot(
    State(state): State<AppState>,
    _caller: Authorized<ConfigRead>,
    PathParams(program): PathParams<String>,
) -> Result<Json<Snapshot>, ApiError> {
    Ok(Json(state.engine.snapshot(&program).await?))
}

/// Applies a changeset: all of it in one transaction, or none of it.
#[utoipa::path(post, path = "/v1/programs/{program}/changesets", tag = "config",
    params(("program" = String, Path, description = "program key")),
    request_body = Changeset,
    responses(
        (status = 201, body = ChangesetRecord, description = "applied"),
        (status = 400, body = Problem, description = "the body is not a valid request"), (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope"),
        (status = 409, body = Problem, description = "stale: the program moved past base_revision"),
        (status = 413, body = Problem, description = "the body is larger than serve --upload-limit"),
        (status = 422, body = Problem, description = "the result would not be a valid config")),
    security(("bearer" = [])))]
pub async fn apply(
    State(state): State<AppState>,
    caller: Authorized<ConfigWrite>,
    PathParams(program): PathParams<String>,
    JsonBody(changeset): JsonBody<Changeset>,
) -> Result<(StatusCode, Json<ChangesetRecord>), ApiError> {
    let record = state
        .engine
        .apply_as(&program, &changeset, Some(&caller.0.token_id))
        .await?;
    tracing::info!(
        program,
        revision = record.revision,
        token = caller.0.token_id,
        "changeset applied"
    );
    Ok((StatusCode::CREATED, Json(record)))
}

/// Applied changesets, newest first, without their changes.
#[utoipa::path(get, path = "/v1/programs/{program}/changesets", tag = "config",
    params(("program" = String, Path, description = "program key"), PageParams),
    responses((status = 200, body = super::openapi::ChangesetPage, description = "a page of changesets, newest first"), (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn history(
    State(state): State<AppState>,
    _caller: Authorized<ConfigRead>,
    PathParams(program): PathParams<String>,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Json<Page<ChangesetRecord>>, ApiError> {
    Ok(Json(
        state
            .engine
            .history_page(&program, params.cursor.as_deref(), params.limit()?)
            .await?,
    ))
}

/// One applied changeset with its changes.
#[utoipa::path(get, path = "/v1/programs/{program}/changesets/{revision}", tag = "config",
    params(("program" = String, Path, description = "program key"), ("revision" = u64, Path, description = "the revision it produced")),
    responses((status = 200, body = ChangesetRecord, description = "ok"), (status = 404, body = Problem, description = "not found"), (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn changeset(
    State(state): State<AppState>,
    _caller: Authorized<ConfigRead>,
    PathParams(path): PathParams<RevisionPath>,
) -> Result<Json<ChangesetRecord>, ApiError> {
    Ok(Json(
        state.engine.changeset(&path.program, path.revision).await?,
    ))
}

/// Named, not a tuple, so a bad revision is reported by name.
#[derive(serde::Deserialize)]
pub struct RevisionPath {
    program: String,
    revision: u64,
}

/// Creates a token (admin only). The token is in this answer and nowhere else.
#[utoipa::path(post, path = "/v1/tokens", tag = "access",
    request_body = TokenRequest,
    responses((status = 201, body = IssuedToken, description = "created"), (status = 400, body = Problem, description = "the request is not valid (no scope, an expiry in the past, a partner token without a program)"), (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope"), (status = 404, body = Problem, description = "a partner token for a program the engine does not hold"), (status = 413, body = Problem, description = "the body is larger than serve --body-limit")),
    security(("bearer" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Authorized<Admin>,
    JsonBody(request): JsonBody<TokenRequest>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    // A token bound to a program makes tokens bound to it, never wider ones.
    let program = match (&caller.0.program, request.program) {
        (Some(bound), Some(asked)) if *bound != asked => {
            return Err(ApiError(Error::Forbidden(format!(
                "this token reaches program `{bound}` only"
            ))));
        }
        (Some(bound), _) => Some(bound.clone()),
        (None, asked) => asked,
    };
    let token = state
        .engine
        .issue_token(TokenRequest { program, ..request })
        .await?;
    Ok((StatusCode::CREATED, Json(IssuedToken { token })))
}

/// Tokens, in id order: id, scopes, program, when made, last used (to within
/// about a minute), expiry and revocation. Never the token itself. An admin
/// token bound to a program lists the tokens bound to it.
#[utoipa::path(get, path = "/v1/tokens", tag = "access", params(PageParams),
    responses((status = 200, body = super::openapi::TokenPage, description = "a page of tokens"), (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn tokens(
    State(state): State<AppState>,
    caller: Authorized<Admin>,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Json<Page<TokenRecord>>, ApiError> {
    Ok(Json(
        state
            .engine
            .tokens_page(
                caller.0.program.as_deref(),
                params.cursor.as_deref(),
                params.limit()?,
            )
            .await?,
    ))
}

/// Revokes a token: from now on it gets 401. Answers the token's record.
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "access",
    params(("id" = String, Path, description = "the token's id, as `token list` shows it")),
    responses((status = 200, body = TokenRecord, description = "revoked (or already revoked)"), (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope"), (status = 404, body = Problem, description = "no such token (or one bound to another program)")),
    security(("bearer" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Authorized<Admin>,
    PathParams(id): PathParams<String>,
) -> Result<Json<TokenRecord>, ApiError> {
    let record = state
        .engine
        .revoke_token(&id, caller.0.program.as_deref())
        .await?;
    tracing::info!(
        token = caller.0.token_id,
        revoked = record.id,
        "token revoked"
    );
    Ok(Json(record))
}

/// What a planned config would have done with the program's recent events,
/// beside what the live config did: `plan --impact-window` over HTTP. A POST
/// for the config it carries; it replays in memory and writes nothing.
#[utoipa::path(post, path = "/v1/programs/{program}/what-if", tag = "config",
    params(("program" = String, Path, description = "program key")),
    request_body = WhatIfQuery,
    responses((status = 200, body = WhatIf, description = "ok"), (status = 400, body = Problem, description = "the query is not a valid WhatIfQuery, or its config is for another program"), (status = 413, body = Problem, description = "the body is larger than serve --body-limit"), (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn what_if(
    State(state): State<AppState>,
    _caller: Authorized<ConfigRead>,
    PathParams(program): PathParams<String>,
    JsonBody(query): JsonBody<WhatIfQuery>,
) -> Result<Json<WhatIf>, ApiError> {
    Ok(Json(state.engine.what_if(&program, &query).await?))
}

/// Counts a plan shows: partners holding tags it deletes, customers holding
/// products it deletes, partners each backfill would fire for. A POST only
/// because the query can be too large for a URL: it changes nothing.
#[utoipa::path(post, path = "/v1/programs/{program}/impact", tag = "config",
    params(("program" = String, Path, description = "program key")),
    request_body = ImpactQuery,
    responses((status = 200, body = Impact, description = "ok"), (status = 400, body = Problem, description = "the query is not a valid ImpactQuery"), (status = 413, body = Problem, description = "the body is larger than serve --body-limit"), (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn impact(
    State(state): State<AppState>,
    _caller: Authorized<ConfigRead>,
    PathParams(program): PathParams<String>,
    JsonBody(query): JsonBody<ImpactQuery>,
) -> Result<Json<Impact>, ApiError> {
    Ok(Json(state.engine.impact(&program, &query).await?))
}
