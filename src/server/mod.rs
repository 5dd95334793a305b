//! `partnerops serve`: the engine over HTTP (axum), with problem-details errors,
//! bearer-token scopes, a body limit, timeouts and graceful shutdown.

mod auth;
mod config;
mod ledger;
pub mod openapi;
mod reply;
mod runtime;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::engine::{Engine, Error};
use reply::ApiError;

/// Large enough for a 10,000-resource changeset or a big event batch, small
/// enough that one request cannot exhaust memory.
pub const BODY_LIMIT: usize = 64 * 1024 * 1024;
/// A request still running after this is answered 408 and dropped.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
}

pub fn router(engine: Engine) -> Router {
    let state = AppState { engine };
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/openapi.json", get(openapi_json))
        .route("/v1/programs", get(config::programs))
        .route("/v1/programs/{program}/config", get(config::snapshot))
        .route(
            "/v1/programs/{program}/changesets",
            get(config::history).post(config::apply),
        )
        .route("/v1/programs/{program}/changesets/{revision}", get(config::changeset))
        .route("/v1/programs/{program}/impact", axum::routing::post(config::impact))
        .route("/v1/tokens", axum::routing::post(config::create_token))
        .route("/v1/programs/{program}/events", axum::routing::post(runtime::events))
        .route("/v1/programs/{program}/partners", get(runtime::partners))
        .route("/v1/programs/{program}/partners/{partner}", get(runtime::partner))
        .route("/v1/sweep", axum::routing::post(runtime::sweep))
        .route("/v1/programs/{program}/commissions", get(ledger::commissions))
        .route("/v1/programs/{program}/transactions/{transaction}/explain", get(ledger::explain))
        .route("/v1/programs/{program}/partners/{partner}/view", get(ledger::partner_view))
        .route("/v1/programs/{program}/me", get(ledger::me))
        .fallback(not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError(Error::Internal("the request failed unexpectedly".to_owned())).into_response()
        }))
        .layer(
            // Spans name the method and path only: never headers, so never a token.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), token = tracing::field::Empty)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
}

async fn openapi_json(_caller: auth::Caller) -> axum::Json<serde_json::Value> {
    axum::Json(openapi::document())
}

async fn not_found(req: Request) -> ApiError {
    ApiError(Error::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    )))
}

/// Serves `app` (usually [`router`]) until `shutdown` completes, then stops
/// accepting connections and finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
