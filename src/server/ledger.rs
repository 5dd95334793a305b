//! Money routes: the commission ledger, explanations, the partner view.

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::auth::{Authorized, Caller, DataRead};
use super::params::{PathParams, QueryParams};
use super::reply::ApiError;
use crate::engine::Error;
use crate::engine::access::Scope;
use crate::engine::explain::Explanation;
use crate::engine::runtime::state::CommissionRecord;
use crate::engine::view::PartnerView;
use crate::problem::Problem;

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommissionParams {
    /// Only this partner's commissions.
    partner: Option<String>,
}

/// The commission ledger, by due date. Each commission names the trigger and
/// the config revision it was computed under.
#[utoipa::path(get, path = "/v1/programs/{program}/commissions", tag = "commissions",
    params(("program" = String, Path, description = "program key"), CommissionParams),
    responses((status = 200, body = Vec<CommissionRecord>, description = "commissions"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope"),
        (status = 404, body = Problem, description = "`partner` is not a partner of the program")),
    security(("bearer" = [])))]
pub async fn commissions(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
    PathParams(program): PathParams<String>,
    QueryParams(params): QueryParams<CommissionParams>,
) -> Result<Json<Vec<CommissionRecord>>, ApiError> {
    Ok(Json(
        state
            .engine
            .commissions(&program, params.partner.as_deref())
            .await?,
    ))
}

/// Why each commission trigger did or did not fire for a transaction, rule by rule.
#[utoipa::path(get, path = "/v1/programs/{program}/transactions/{transaction}/explain", tag = "commissions",
    params(("program" = String, Path, description = "program key"), ("transaction" = String, Path, description = "transaction key")),
    responses((status = 200, body = Explanation, description = "the explanation"),
        (status = 404, body = Problem, description = "no such transaction"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn explain(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
    PathParams((program, key)): PathParams<(String, String)>,
) -> Result<Json<Explanation>, ApiError> {
    Ok(Json(
        state.engine.explain_transaction(&program, &key).await?,
    ))
}

/// A partner's view: their customers and every product those hold (without who
/// sold it), their commissions, and the offers they are eligible for. Needs
/// data:read, or the partner's own partner:KEY token.
#[utoipa::path(get, path = "/v1/programs/{program}/partners/{partner}/view", tag = "commissions",
    params(("program" = String, Path, description = "program key"), ("partner" = String, Path, description = "partner key")),
    responses((status = 200, body = PartnerView, description = "the view"),
        (status = 404, body = Problem, description = "no such partner"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "not this partner's token")),
    security(("bearer" = [])))]
pub async fn partner_view(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((program, key)): PathParams<(String, String)>,
) -> Result<Json<PartnerView>, ApiError> {
    if !caller.0.allows(&Scope::Partner(key.clone())) {
        caller.require(&Scope::DataRead)?;
    }
    Ok(Json(state.engine.partner_view(&program, &key).await?))
}

/// The view of the partner a partner:KEY token is for.
#[utoipa::path(get, path = "/v1/programs/{program}/me", tag = "commissions",
    params(("program" = String, Path, description = "program key")),
    responses((status = 200, body = PartnerView, description = "the view"),
        (status = 404, body = Problem, description = "no such partner"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "not a partner token")),
    security(("bearer" = [])))]
pub async fn me(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(program): PathParams<String>,
) -> Result<Json<PartnerView>, ApiError> {
    let key = caller
        .0
        .scopes
        .iter()
        .find_map(|s| match s {
            Scope::Partner(k) => Some(k.clone()),
            _ => None,
        })
        .ok_or_else(|| {
            Error::Forbidden("this is not a partner token (scope partner:KEY)".to_owned())
        })?;
    Ok(Json(state.engine.partner_view(&program, &key).await?))
}
