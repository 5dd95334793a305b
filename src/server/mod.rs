//! `partnerops serve`: the engine over HTTP (axum), with problem-details errors,
//! bearer-token scopes, a body limit, timeouts and graceful shutdown.

mod auth;
mod config;
mod ledger;
pub mod openapi;
mod params;
mod reply;
mod runtime;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::engine::{Engine, Error};
use crate::problem::Problem;
use reply::{ApiError, problem_response};

/// Large enough for a 10,000-resource changeset or a big event batch, small
/// enough that one request cannot exhaust memory.
pub const BODY_LIMIT: usize = 64 * 1024 * 1024;
/// A request still running after this is answered 503 and dropped.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
}

pub fn router(engine: Engine) -> Router {
    router_with_timeout(engine, REQUEST_TIMEOUT)
}

/// [`router`] with another request time limit (tests use a short one).
pub fn router_with_timeout(engine: Engine, timeout: Duration) -> Router {
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
        .route("/v1/tokens", get(config::tokens).post(config::create_token))
        .route("/v1/tokens/{id}", axum::routing::delete(config::revoke_token))
        .route("/v1/programs/{program}/events", axum::routing::post(runtime::events))
        .route("/v1/programs/{program}/partners", get(runtime::partners))
        .route("/v1/programs/{program}/partners/{partner}", get(runtime::partner))
        .route("/v1/programs/{program}/customers/{customer}", get(runtime::customer))
        .route("/v1/programs/{program}/partners/{partner}/tag-history", get(runtime::partner_tag_history))
        .route("/v1/programs/{program}/customers/{customer}/tag-history", get(runtime::customer_tag_history))
        .route("/v1/sweep", axum::routing::post(runtime::sweep))
        .route("/v1/programs/{program}/commissions", get(ledger::commissions))
        .route("/v1/programs/{program}/transactions/{transaction}/explain", get(ledger::explain))
        .route("/v1/programs/{program}/partners/{partner}/view", get(ledger::partner_view))
        .route("/v1/programs/{program}/me", get(ledger::me))
        // After the routes: it applies to those registered before it.
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            time_limit(timeout, req, next)
        }))
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

async fn method_not_allowed(req: Request) -> Response {
    problem_response(&Problem::method_not_allowed(format!(
        "{} is not allowed on {}; the Allow header lists what is",
        req.method(),
        req.uri().path()
    )))
}

/// tower-http's timeout answers with an empty body; this one with a problem.
/// Dropping the handler's future rolls back a transaction it had open, but a
/// commit already under way may still land, so the detail cannot promise that
/// nothing changed.
async fn time_limit(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => problem_response(&Problem::timeout(format!(
            "the request took longer than {} s and was stopped; a write may or may not have been applied",
            limit.as_secs_f64()
        ))),
    }
}

/// How long a request's headers may take to arrive: a client that stalls
/// mid-header is dropped rather than held open (and holding up shutdown).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// After a shutdown signal, how long requests in flight get to finish: their
/// own time limit and a margin. Whatever is still open then is closed, so a
/// stop always ends; a write cut off there rolls back.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(REQUEST_TIMEOUT.as_secs() + 10);

/// Serves `app` (usually [`router`]) over HTTP/1.1 until `shutdown`
/// completes, then stops accepting connections, closes idle ones and finishes
/// the requests in flight (for at most [`DRAIN_LIMIT`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin or die.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                () = async {
                    // The guard wait_for hands back must not live across an await.
                    let _ = stopping.wait_for(|s| *s).await;
                } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!("connection ended: {e}");
            }
        });
        // Reap finished connections so the set holds only open ones.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop.send(true);
    // A second ctrl-c or SIGTERM means now.
    let drained = tokio::select! {
        drained = tokio::time::timeout(DRAIN_LIMIT, async {
            while connections.join_next().await.is_some() {}
        }) => drained.is_ok(),
        () = signal() => false,
    };
    if !drained {
        tracing::warn!(
            "closing {} connections still open (after {} s, or on a second signal)",
            connections.len(),
            DRAIN_LIMIT.as_secs()
        );
        connections.abort_all();
    }
    Ok(())
}

/// Completes on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    signal().await;
    tracing::info!(
        "shutting down: finishing requests in flight (ctrl-c or SIGTERM again to stop now)"
    );
}

async fn signal() {
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
}
