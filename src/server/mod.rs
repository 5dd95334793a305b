//! `partnerops serve`: the engine over HTTP (axum), with problem-details errors,
//! bearer-token scopes, a body limit, timeouts and graceful shutdown.

mod auth;
mod config;
mod dashboard;
mod ledger;
pub mod limits;
mod metrics;
pub mod openapi;
mod params;
mod reply;
mod runtime;
pub mod stripe;
pub mod tls;
mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::middleware::{self, Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::engine::{Engine, Error};
use crate::problem::Problem;
use reply::{ApiError, problem_response};

/// The largest body an event batch or a changeset may have by default:
/// large enough for a 10,000-resource changeset or a big event batch, small
/// enough that a few at once cannot exhaust memory (see [`limits::Limits`]).
pub const BODY_LIMIT: usize = 64 * 1024 * 1024;
/// A request still running after this is answered 503 and dropped.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    /// Stripe's webhook deliveries, batched per engine.
    pub stripe: std::sync::Arc<crate::sources::stripe::StripeSource>,
    pub guard: Arc<limits::Guard>,
    /// What `/metrics` renders; `None` when another recorder was installed.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Whether the dashboard's session cookie is `Secure` (served over TLS).
    pub secure_cookies: bool,
}

/// How a router handles requests: their time limit and the server's limits.
#[derive(Debug, Clone)]
pub struct Options {
    pub timeout: Duration,
    pub limits: limits::Limits,
    /// Served over TLS: the dashboard's cookie is then `Secure`.
    pub tls: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: REQUEST_TIMEOUT,
            limits: limits::Limits::default(),
            tls: false,
        }
    }
}

pub fn router(engine: Engine) -> Router {
    router_with(engine, &Options::default())
}

/// [`router`] with another request time limit (tests use a short one).
pub fn router_with_timeout(engine: Engine, timeout: Duration) -> Router {
    router_with(
        engine,
        &Options {
            timeout,
            ..Options::default()
        },
    )
}

/// [`router`] with other options.
pub fn router_with(engine: Engine, options: &Options) -> Router {
    let timeout = options.timeout;
    let state = AppState {
        stripe: Arc::new(crate::sources::stripe::StripeSource::new(engine.clone())),
        engine,
        guard: Arc::new(limits::Guard::new(options.limits.clone())),
        metrics: crate::telemetry::install(),
        secure_cookies: options.tls,
    };
    // Event batches, changesets and what-if configs may be large; every
    // other body is small.
    let upload = |s: &AppState| {
        (
            DefaultBodyLimit::max(s.guard.limits.upload_limit),
            from_fn_with_state(s.clone(), limits::upload),
        )
    };
    let (upload_size, upload_guard) = upload(&state);
    let apply = config::apply.layer(upload_guard.clone()).layer(upload_size);
    // A what-if carries a whole config, as a changeset does, and replays
    // the program's events: held to the same limits.
    let what_if = config::what_if
        .layer(upload_guard.clone())
        .layer(upload_size);
    let events = runtime::events.layer(upload_guard).layer(upload_size);
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi_json))
        .route("/metrics", get(metrics::render))
        .route("/v1/programs", get(config::programs))
        .route("/v1/programs/{program}/config", get(config::snapshot))
        .route(
            "/v1/programs/{program}/changesets",
            get(config::history).post(apply),
        )
        .route("/v1/programs/{program}/changesets/{revision}", get(config::changeset))
        .route("/v1/programs/{program}/impact", axum::routing::post(config::impact))
        .route("/v1/programs/{program}/what-if", axum::routing::post(what_if))
        .route("/v1/tokens", get(config::tokens).post(config::create_token))
        .route("/v1/tokens/{id}", axum::routing::delete(config::revoke_token))
        .route("/v1/programs/{program}/events", axum::routing::post(events))
        .route("/v1/programs/{program}/partners", get(runtime::partners))
        .route("/v1/programs/{program}/partners/{partner}", get(runtime::partner))
        .route("/v1/programs/{program}/customers/{customer}", get(runtime::customer))
        .route("/v1/programs/{program}/partners/{partner}/tag-history", get(runtime::partner_tag_history))
        .route("/v1/programs/{program}/partners/{partner}/erase", axum::routing::post(runtime::erase_partner))
        .route("/v1/programs/{program}/customers/{customer}/tag-history", get(runtime::customer_tag_history))
        .route("/v1/sweep", axum::routing::post(runtime::sweep))
        .route("/v1/programs/{program}/commissions", get(ledger::commissions))
        .route("/v1/programs/{program}/transactions", get(ledger::transactions))
        .route(
            "/v1/programs/{program}/payouts",
            get(ledger::payouts).post(ledger::create_payout),
        )
        .route("/v1/programs/{program}/payouts/plan", get(ledger::payout_plan))
        .route("/v1/programs/{program}/payouts/{payout}", get(ledger::payout))
        .route("/v1/programs/{program}/reports/products", get(ledger::product_report))
        .route("/v1/programs/{program}/transactions/{transaction}/explain", get(ledger::explain))
        .route("/v1/programs/{program}/partners/{partner}/view", get(ledger::partner_view))
        .route("/v1/programs/{program}/me", get(ledger::me))
        .route("/v1/programs/{program}/sources/stripe", axum::routing::post(stripe::webhook))
        .route("/v1/programs/{program}/sources/stripe/secret", axum::routing::put(stripe::set_secret))
        .route("/v1/programs/{program}/sources/stripe/import", axum::routing::post(stripe::import))
        .route("/v1/programs/{program}/webhooks/deliveries", get(webhooks::deliveries))
        .route(
            "/v1/programs/{program}/webhooks/deliveries/{id}/redeliver",
            axum::routing::post(webhooks::redeliver),
        )
        .route(
            "/v1/programs/{program}/webhooks/endpoints/{endpoint}/secret",
            get(webhooks::secret),
        )
        .route(
            "/v1/programs/{program}/webhooks/endpoints/{endpoint}/rotate-secret",
            axum::routing::post(webhooks::rotate_secret),
        )
        .merge(dashboard::routes())
        // After the routes: it applies to those registered before it.
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.guard.limits.body_limit))
        .layer(from_fn_with_state(state.clone(), limits::small_bodies))
        .layer(from_fn_with_state(state.clone(), limits::admit))
        .with_state(state)
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            time_limit(timeout, req, next)
        }))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError(Error::Internal("the request failed unexpectedly".to_owned())).into_response()
        }))
        // Outermost but for tracing: counts time-outs and panics too.
        .layer(middleware::from_fn(metrics::count))
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

/// Readiness, for load balancers and container health checks: the store
/// answers and is migrated. Like `/healthz` it needs no token, and it says no
/// more than why it is not ready.
async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match state.engine.ready().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => {
            tracing::warn!("not ready: {e}");
            problem_response(&Problem::not_ready(format!("the store is not ready: {e}")))
        }
    }
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

/// How the server takes connections.
#[derive(Clone, Default)]
pub struct Listening {
    /// Connections open at once; 0 for no limit. A connection past it is
    /// answered 503 (a problem naming `max-connections`) and closed.
    pub max_connections: usize,
    /// HTTPS with these settings; plain HTTP when absent.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Serves `app` (usually [`router`]) over HTTP/1.1 until `shutdown`
/// completes, then stops accepting connections, closes idle ones and finishes
/// the requests in flight (for at most [`DRAIN_LIMIT`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listening = Listening {
        max_connections: limits::Limits::default().max_connections,
        tls: None,
    };
    serve_with(listener, app, shutdown, listening).await
}

/// [`serve`] with a connection limit and TLS as `listening` says.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    listening: Listening,
) -> std::io::Result<()> {
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let open = (listening.max_connections > 0)
        .then(|| Arc::new(tokio::sync::Semaphore::new(listening.max_connections)));
    let tls = listening.tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin or die.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let permit = match &open {
            None => None,
            Some(open) => match open.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    let max = listening.max_connections;
                    let plain = tls.is_none();
                    connections.spawn(async move {
                        refuse_connection(stream, max, plain).await;
                    });
                    continue;
                }
            },
        };
        // The client's address, for the per-address limits and the log.
        let service = tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                req
            },
        );
        let service = hyper_util::service::TowerToHyperService::new(service);
        let stopping = stopping.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _permit = permit;
            match tls {
                None => serve_connection(stream, service, stopping).await,
                Some(acceptor) => {
                    // A handshake gets as long as headers do.
                    match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(stream, service, stopping).await,
                        Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
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
            "closing {} still open (after {} s, or on a second signal)",
            crate::plural::count(connections.len(), "connection"),
            DRAIN_LIMIT.as_secs()
        );
        connections.abort_all();
    }
    Ok(())
}

/// Serves one connection until it ends, or gracefully once `stopping`.
async fn serve_connection<S, T>(
    stream: T,
    service: S,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<
            axum::http::Request<hyper::body::Incoming>,
            Response = Response,
            Error = std::convert::Infallible,
        > + Send
        + 'static,
    S::Future: Send + 'static,
{
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
}

/// A connection past `max-connections`: told so (over plain HTTP, before it
/// sends anything) and closed.
async fn refuse_connection(mut stream: tokio::net::TcpStream, max: usize, plain: bool) {
    use tokio::io::AsyncWriteExt;
    tracing::warn!("refusing a connection: {max} are open (serve --max-connections)");
    if plain {
        let problem = Problem::from(&Error::Limited {
            status: 503,
            limit: "max-connections".to_owned(),
            detail: format!(
                "the server has {max} connections open (serve --max-connections); try again shortly"
            ),
            retry_after: 1,
        });
        let body = serde_json::to_string(&problem).unwrap_or_default();
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        })
        .await;
    }
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
