//! The Stripe source's routes: Stripe's webhook deliveries (signed, no
//! token), the signing secret, and replays of Stripe events.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::AppState;
use super::auth::{Admin, Authorized, EventsWrite};
use super::params::PathParams;
use super::reply::{ApiError, JsonBody, TextBody};
use crate::engine::Error;
use crate::problem::Problem;
use crate::sources::stripe::{Outcome, StripeSecret, object};

/// The header Stripe signs its deliveries with.
pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// Takes one Stripe webhook delivery. The `Stripe-Signature` header is its
/// authentication (no bearer token): HMAC-SHA256 of `TIME.body` with the
/// program's signing secret, at most 5 minutes old. A bad signature records
/// nothing; a type the source does not use is answered and ignored; a Stripe
/// event taken before changes nothing.
#[utoipa::path(post, path = "/v1/programs/{program}/sources/stripe", tag = "sources",
    params(("program" = String, Path, description = "program key"),
        ("Stripe-Signature" = String, Header, description = "t=TIME,v1=HEX[,v1=HEX...]")),
    request_body(content = String, description = "a Stripe event, exactly as Stripe sent it", content_type = "application/json"),
    responses((status = 200, body = Outcome, description = "taken (processed), seen before (duplicate) or not used (ignored); `events` lists what the engine did with each partnerops event"),
        (status = 400, body = Problem, description = "no or bad signature, a stale timestamp, no secret set, or not a Stripe event: nothing recorded"),
        (status = 404, body = Problem, description = "the program has no config"),
        (status = 413, body = Problem, description = "the body is too large")),
    security(()))]
pub async fn webhook(
    State(state): State<AppState>,
    PathParams(program): PathParams<String>,
    headers: HeaderMap,
    TextBody(body): TextBody,
) -> Result<Json<Outcome>, ApiError> {
    if let Some(problem) = crate::spec::check::key_problem(&program) {
        return Err(ApiError(Error::BadRequest(format!("program: {problem}"))));
    }
    let header = headers
        .get(SIGNATURE_HEADER)
        .map(|v| v.to_str().unwrap_or(""));
    if let Err(e) = state
        .stripe
        .authenticate(
            &program,
            header,
            body.as_bytes(),
            crate::sources::stripe::now(),
        )
        .await
    {
        tracing::warn!(program, "stripe delivery refused: {e}");
        return Err(ApiError(e));
    }
    let outcome = match object::read(&body).map_err(Error::BadRequest)? {
        object::Read::Used(event) => state.stripe.deliver(&program, *event).await?,
        object::Read::Unused { id, kind } => {
            tracing::info!(
                program,
                stripe_event = id,
                stripe_type = kind,
                "stripe event not used"
            );
            Outcome::unused(&id, &kind)
        }
    };
    Ok(Json(outcome))
}

/// Sets the program's Stripe signing secret (replacing the one before). It
/// is never shown again.
#[utoipa::path(put, path = "/v1/programs/{program}/sources/stripe/secret", tag = "sources",
    params(("program" = String, Path, description = "program key")),
    request_body = StripeSecret,
    responses((status = 204, description = "set"),
        (status = 400, body = Problem, description = "not a Stripe signing secret"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope"),
        (status = 404, body = Problem, description = "the program has no config")),
    security(("bearer" = [])))]
pub async fn set_secret(
    State(state): State<AppState>,
    _caller: Authorized<Admin>,
    PathParams(program): PathParams<String>,
    JsonBody(body): JsonBody<StripeSecret>,
) -> Result<StatusCode, ApiError> {
    state.stripe.set_secret(&program, &body.secret).await?;
    tracing::info!(program, "stripe signing secret set");
    Ok(StatusCode::NO_CONTENT)
}

/// Replays Stripe events (from Stripe's event list) through the same mapping
/// as the webhook, without signatures: a JSON array of Stripe events, taken
/// in the order given (oldest first). Each answer says what became of one.
#[utoipa::path(post, path = "/v1/programs/{program}/sources/stripe/import", tag = "sources",
    params(("program" = String, Path, description = "program key")),
    request_body(content = String, description = "a JSON array of Stripe events", content_type = "application/json"),
    responses((status = 200, body = Vec<Outcome>, description = "one answer per event, in order"),
        (status = 400, body = Problem, description = "the body is not a JSON array"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope"),
        (status = 404, body = Problem, description = "the program has no config"),
        (status = 413, body = Problem, description = "the body is too large")),
    security(("bearer" = [])))]
pub async fn import(
    State(state): State<AppState>,
    _caller: Authorized<EventsWrite>,
    PathParams(program): PathParams<String>,
    TextBody(body): TextBody,
) -> Result<Json<Vec<Outcome>>, ApiError> {
    let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(&body).map_err(|e| {
        Error::BadRequest(format!(
            "the body is not a JSON array of Stripe events: {e}"
        ))
    })?;
    let texts: Vec<&str> = items.iter().map(|r| r.get()).collect();
    Ok(Json(state.stripe.import(&program, &texts).await?))
}
