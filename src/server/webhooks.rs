//! Webhooks out: deliveries (data:read), redelivery and signing secrets (admin).

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::auth::{Admin, Authorized, DataRead};
use super::params::{PathParams, QueryParams};
use super::reply::ApiError;
use crate::engine::Error;
use crate::engine::outbox::WebhookSecret;
use crate::problem::Problem;
use crate::store::outbox::{Delivery, DeliveryQuery, DeliveryStatus};

/// The most deliveries one request lists.
pub const MAX_DELIVERIES: usize = 1_000;

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesParams {
    /// Only this endpoint's messages.
    endpoint: Option<String>,
    /// Only messages in this state: pending, delivered or failed.
    status: Option<String>,
    /// Messages older than this one (paging: the last id of a page).
    before: Option<String>,
    /// At most this many: 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Include each message's body.
    body: Option<bool>,
}

/// Messages to webhook endpoints and where their delivery stands, newest first.
#[utoipa::path(get, path = "/v1/programs/{program}/webhooks/deliveries", tag = "webhooks",
    params(("program" = String, Path, description = "program key"), DeliveriesParams),
    responses((status = 200, body = Vec<Delivery>, description = "messages, newest first"),
        (status = 404, body = Problem, description = "no such endpoint"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
    PathParams(program): PathParams<String>,
    QueryParams(params): QueryParams<DeliveriesParams>,
) -> Result<Json<Vec<Delivery>>, ApiError> {
    let status = params
        .status
        .as_deref()
        .map(|s| {
            DeliveryStatus::parse(s).ok_or_else(|| {
                Error::BadRequest(format!(
                    "`status` must be pending, delivered or failed, not `{s}`"
                ))
            })
        })
        .transpose()?;
    let limit = match params.limit {
        Some(n) if !(1..=MAX_DELIVERIES).contains(&n) => {
            return Err(ApiError(Error::BadRequest(format!(
                "`limit` must be from 1 to {MAX_DELIVERIES}, found {n}"
            ))));
        }
        limit => limit.unwrap_or(100),
    };
    let query = DeliveryQuery {
        endpoint: params.endpoint,
        status,
        before: params.before,
        limit,
        with_body: params.body.unwrap_or(false),
    };
    Ok(Json(state.engine.deliveries(&program, &query).await?))
}

/// Sends a message again, with its id and body: it goes back in its
/// endpoint's queue, due now.
#[utoipa::path(post, path = "/v1/programs/{program}/webhooks/deliveries/{id}/redeliver", tag = "webhooks",
    params(("program" = String, Path, description = "program key"), ("id" = String, Path, description = "the message's webhook-id")),
    responses((status = 200, body = Delivery, description = "the message, pending again"),
        (status = 404, body = Problem, description = "no such message"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn redeliver(
    State(state): State<AppState>,
    _caller: Authorized<Admin>,
    PathParams((program, id)): PathParams<(String, String)>,
) -> Result<Json<Delivery>, ApiError> {
    let delivery = state.engine.redeliver(&program, &id).await?;
    tracing::info!(
        program,
        id,
        endpoint = delivery.endpoint,
        "webhook redelivery"
    );
    Ok(Json(delivery))
}

/// An endpoint's signing secret.
#[utoipa::path(get, path = "/v1/programs/{program}/webhooks/endpoints/{endpoint}/secret", tag = "webhooks",
    params(("program" = String, Path, description = "program key"), ("endpoint" = String, Path, description = "webhook key")),
    responses((status = 200, body = WebhookSecret, description = "the secret"),
        (status = 404, body = Problem, description = "no such endpoint"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn secret(
    State(state): State<AppState>,
    _caller: Authorized<Admin>,
    PathParams((program, endpoint)): PathParams<(String, String)>,
) -> Result<Json<WebhookSecret>, ApiError> {
    Ok(Json(
        state.engine.webhook_secret(&program, &endpoint).await?,
    ))
}

/// Replaces an endpoint's signing secret; the old one signs too for 24 hours.
#[utoipa::path(post, path = "/v1/programs/{program}/webhooks/endpoints/{endpoint}/rotate-secret", tag = "webhooks",
    params(("program" = String, Path, description = "program key"), ("endpoint" = String, Path, description = "webhook key")),
    responses((status = 200, body = WebhookSecret, description = "the new secret"),
        (status = 404, body = Problem, description = "no such endpoint"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    _caller: Authorized<Admin>,
    PathParams((program, endpoint)): PathParams<(String, String)>,
) -> Result<Json<WebhookSecret>, ApiError> {
    let secret = state
        .engine
        .rotate_webhook_secret(&program, &endpoint)
        .await?;
    // Never the secret itself.
    tracing::info!(program, endpoint, "webhook secret rotated");
    Ok(Json(secret))
}
