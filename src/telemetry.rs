//! Counters and timings for operators, exposed by `serve` at `/metrics` in
//! Prometheus' text format. The engine records through the `metrics`
//! facade, which does nothing until a recorder is installed: the embedded
//! CLI pays nothing, `serve` installs [`install`]'s.
//!
//! Labels hold only bounded values (event types, outcomes, route
//! templates, status codes), never keys, paths or tokens.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub const EVENTS: &str = "partnerops_events_total";
pub const APPLIES: &str = "partnerops_applies_total";
pub const APPLY_SECONDS: &str = "partnerops_apply_duration_seconds";
pub const SWEEP_SECONDS: &str = "partnerops_sweep_duration_seconds";
pub const WEBHOOK_DELIVERIES: &str = "partnerops_webhook_deliveries_total";
pub const HTTP_REQUESTS: &str = "partnerops_http_requests_total";

/// Seconds: from a fast apply to a sweep of many partners.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

/// The process's recorder, installed on first call; `None` when another
/// recorder was installed first (then `/metrics` says so).
pub fn install() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .map_err(|e| tracing::warn!("metrics buckets: {e}"))
                .ok()?;
            let handle = builder
                .install_recorder()
                .map_err(|e| tracing::warn!("no metrics: {e}"))
                .ok()?;
            describe();
            Some(handle)
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        EVENTS,
        "Events received, by type and outcome (accepted, rejected, duplicate)"
    );
    metrics::describe_counter!(APPLIES, "Changesets applied or refused, by outcome");
    metrics::describe_histogram!(
        APPLY_SECONDS,
        metrics::Unit::Seconds,
        "How long an apply took"
    );
    metrics::describe_histogram!(
        SWEEP_SECONDS,
        metrics::Unit::Seconds,
        "How long a program's daily checks took"
    );
    metrics::describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook delivery attempts, by outcome (delivered, retry, failed)"
    );
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests, by method, route template and status"
    );
}

/// Counts events of one type with one outcome.
pub fn events(kind: &'static str, outcome: &'static str, n: usize) {
    if n > 0 {
        metrics::counter!(EVENTS, "type" => kind, "outcome" => outcome).increment(n as u64);
    }
}

/// Counts an apply and its time.
pub fn apply(ok: bool, took: Duration) {
    let outcome = if ok { "applied" } else { "refused" };
    metrics::counter!(APPLIES, "outcome" => outcome).increment(1);
    metrics::histogram!(APPLY_SECONDS, "outcome" => outcome).record(took.as_secs_f64());
}

pub fn sweep(took: Duration) {
    metrics::histogram!(SWEEP_SECONDS).record(took.as_secs_f64());
}

/// Counts a webhook delivery attempt: `delivered`, `retry` or `failed`.
pub fn webhook_delivery(outcome: &'static str) {
    metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(1);
}

pub fn http_request(method: &str, route: &str, status: u16) {
    metrics::counter!(
        HTTP_REQUESTS,
        "method" => method.to_owned(),
        "route" => route.to_owned(),
        "status" => status.to_string()
    )
    .increment(1);
}
