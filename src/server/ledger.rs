//! Money routes: the ledger, waiting transactions, payouts, reports,
//! explanations, the partner view.

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::auth::{Authorized, Caller, DataRead, PayoutsWrite};
use super::params::{PathParams, QueryParams};
use super::reply::ApiError;
use crate::engine::Error;
use crate::engine::access::Scope;
use crate::engine::explain::Explanation;
use crate::engine::ledger::listing::{LedgerPage, LedgerQuery, MAX_PAGE, TransactionPage};
use crate::engine::ledger::payouts::{PayoutDetail, PayoutPlan};
use crate::engine::ledger::report::ProductReport;
use crate::engine::view::PartnerView;
use crate::problem::Problem;
use crate::store::record::{LineStatus, Payout};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommissionParams {
    /// Only this partner's lines.
    partner: Option<String>,
    /// Only this transaction's lines.
    transaction: Option<String>,
    /// pending, approved or paid.
    status: Option<String>,
    /// Due at or after (RFC 3339).
    since: Option<String>,
    /// Due before (RFC 3339).
    until: Option<String>,
    /// Lines after this id (the `next` of the page before).
    after: Option<u64>,
    /// Lines per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

fn time(name: &str, value: Option<String>) -> Result<Option<DateTime<Utc>>, Error> {
    value
        .map(|t| {
            DateTime::parse_from_rfc3339(&t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| Error::BadRequest(format!("`{name}` is not an RFC 3339 time: {e}")))
        })
        .transpose()
}

fn page_limit(limit: Option<usize>) -> Result<usize, Error> {
    match limit {
        None => Ok(100),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(Error::BadRequest(format!(
            "`limit` must be from 1 to {MAX_PAGE}, found {n}"
        ))),
    }
}

/// The ledger, a page at a time in the order lines were written: each line
/// with its kind (commission, reversal, adjustment), status (pending,
/// approved, paid), trigger, revision, product and payout.
#[utoipa::path(get, path = "/v1/programs/{program}/commissions", tag = "commissions",
    params(("program" = String, Path, description = "program key"), CommissionParams),
    responses((status = 200, body = LedgerPage, description = "a page of lines; `next` reads on"),
        (status = 400, body = Problem, description = "a bad filter"),
        (status = 404, body = Problem, description = "`partner` is not a partner of the program"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn commissions(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
    PathParams(program): PathParams<String>,
    QueryParams(params): QueryParams<CommissionParams>,
) -> Result<Json<LedgerPage>, ApiError> {
    let status = params
        .status
        .map(|s| {
            LineStatus::parse(&s).ok_or_else(|| {
                Error::BadRequest(format!(
                    "`status` must be pending, approved or paid, found `{s}`"
                ))
            })
        })
        .transpose()?;
    let query = LedgerQuery {
        partner: params.partner,
        transaction: params.transaction,
        status,
        since: time("since", params.since)?,
        until: time("until", params.until)?,
        after: params.after,
        limit: page_limit(params.limit)?,
    };
    Ok(Json(state.engine.ledger(&program, &query).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransactionParams {
    /// Only transactions waiting for a referral signup.
    #[serde(default)]
    unattributed: bool,
    /// Only transactions whose subscription key matched no product.
    #[serde(default)]
    unmatched: bool,
    /// Transactions after this key (the `next` of the page before).
    after: Option<String>,
    /// Transactions per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// Transactions that wait: for a referral signup (no partner yet) or for a
/// product record (the subscription key matched none). Both kinds unless one
/// is asked for.
#[utoipa::path(get, path = "/v1/programs/{program}/transactions", tag = "commissions",
    params(("program" = String, Path, description = "program key"), TransactionParams),
    responses((status = 200, body = TransactionPage, description = "a page of transactions; `next` reads on"),
        (status = 400, body = Problem, description = "a bad parameter"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn transactions(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
    PathParams(program): PathParams<String>,
    QueryParams(params): QueryParams<TransactionParams>,
) -> Result<Json<TransactionPage>, ApiError> {
    Ok(Json(
        state
            .engine
            .waiting_transactions(
                &program,
                params.unattributed,
                params.unmatched,
                params.after.as_deref(),
                page_limit(params.limit)?,
            )
            .await?,
    ))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOfParams {
    /// RFC 3339; now when absent.
    as_of: Option<String>,
}

/// What a payout would pay as of a time: per partner, the approved lines no
/// payout holds and their net; partners below the minimum are carried over.
#[utoipa::path(get, path = "/v1/programs/{program}/payouts/plan", tag = "payouts",
    params(("program" = String, Path, description = "program key"), AsOfParams),
    responses((status = 200, body = PayoutPlan, description = "the plan"),
        (status = 400, body = Problem, description = "`as_of` is not RFC 3339 or in the future"),
        (status = 404, body = Problem, description = "no such program"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn payout_plan(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
    PathParams(program): PathParams<String>,
    QueryParams(params): QueryParams<AsOfParams>,
) -> Result<Json<PayoutPlan>, ApiError> {
    let as_of = time("as_of", params.as_of)?.unwrap_or_else(Utc::now);
    Ok(Json(state.engine.payout_plan(&program, as_of).await?))
}

/// Records a payout of everything approved as of a time, in one
/// transaction: its lines become paid. Two at once never pay a line twice.
/// 201 with the payout, or 200 with `null` when nothing is payable.
#[utoipa::path(post, path = "/v1/programs/{program}/payouts", tag = "payouts",
    params(("program" = String, Path, description = "program key"), AsOfParams),
    responses((status = 201, body = PayoutDetail, description = "the payout"),
        (status = 200, description = "nothing was payable: `null`"),
        (status = 400, body = Problem, description = "`as_of` is not RFC 3339 or in the future"),
        (status = 404, body = Problem, description = "no such program"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks payouts:write")),
    security(("bearer" = [])))]
pub async fn create_payout(
    State(state): State<AppState>,
    _caller: Authorized<PayoutsWrite>,
    PathParams(program): PathParams<String>,
    QueryParams(params): QueryParams<AsOfParams>,
) -> Result<(StatusCode, Json<Option<PayoutDetail>>), ApiError> {
    let as_of = time("as_of", params.as_of)?.unwrap_or_else(Utc::now);
    let payout = state.engine.create_payout(&program, as_of).await?;
    if let Some(p) = &payout {
        tracing::info!(
            program,
            payout = p.payout.id,
            partners = p.payout.partners,
            "payout"
        );
    }
    let status = if payout.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(payout)))
}

/// Every payout of the program, oldest first.
#[utoipa::path(get, path = "/v1/programs/{program}/payouts", tag = "payouts",
    params(("program" = String, Path, description = "program key")),
    responses((status = 200, body = Vec<Payout>, description = "payouts"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn payouts(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
    PathParams(program): PathParams<String>,
) -> Result<Json<Vec<Payout>>, ApiError> {
    Ok(Json(state.engine.payouts(&program).await?))
}

/// One payout with what it paid each partner.
#[utoipa::path(get, path = "/v1/programs/{program}/payouts/{payout}", tag = "payouts",
    params(("program" = String, Path, description = "program key"), ("payout" = u64, Path, description = "payout id")),
    responses((status = 200, body = PayoutDetail, description = "the payout"),
        (status = 404, body = Problem, description = "no such payout"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn payout(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
    PathParams((program, id)): PathParams<(String, u64)>,
) -> Result<Json<PayoutDetail>, ApiError> {
    Ok(Json(state.engine.payout(&program, id).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Transactions at or after (RFC 3339).
    since: Option<String>,
    /// Transactions before (RFC 3339).
    until: Option<String>,
    /// `partner` splits each product by partner.
    by: Option<String>,
}

/// Per product (and per partner with `by=partner`): customers, sales,
/// revenue and net commissions.
#[utoipa::path(get, path = "/v1/programs/{program}/reports/products", tag = "commissions",
    params(("program" = String, Path, description = "program key"), ReportParams),
    responses((status = 200, body = ProductReport, description = "the report"),
        (status = 400, body = Problem, description = "a bad parameter"),
        (status = 404, body = Problem, description = "no such program"),
        (status = 401, body = Problem, description = "no or bad token"), (status = 403, body = Problem, description = "the token lacks the scope")),
    security(("bearer" = [])))]
pub async fn product_report(
    State(state): State<AppState>,
    _caller: Authorized<DataRead>,
    PathParams(program): PathParams<String>,
    QueryParams(params): QueryParams<ReportParams>,
) -> Result<Json<ProductReport>, ApiError> {
    let by_partner = match params.by.as_deref() {
        None => false,
        Some("partner") => true,
        Some(other) => {
            return Err(
                Error::BadRequest(format!("`by` can only be `partner`, found `{other}`")).into(),
            );
        }
    };
    Ok(Json(
        state
            .engine
            .product_report(
                &program,
                time("since", params.since)?,
                time("until", params.until)?,
                by_partner,
            )
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
