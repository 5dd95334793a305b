//! Sending the outbox.
//!
//! Each endpoint's messages go one after the other, in the order they were
//! written: a message is sent once the one before it was delivered or failed
//! for good. Endpoints are served concurrently, each by its own task, so a
//! receiver that hangs (10 s timeout), answers 500 or drops the connection
//! holds up only its own queue.
//!
//! Several replicas may dispatch from one database: a replica sends an
//! endpoint's messages only while it holds that endpoint's lease in the
//! store, so each message has one sender at a time. A sender that dies
//! leaves its lease to run out (30 s); whatever it sent but had not
//! recorded is sent again, with the same `webhook-id` (at least once).
//!
//! Time comes from a [`Clock`], so tests can run hours of retries at once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::destination::{GuardedResolver, check_literal};
use super::signature;
use crate::engine::{Engine, Error, Result};
use crate::store::outbox::{Attempt, EndpointSecrets, Outcome, Queued};

/// How long one attempt may take, from connecting to the end of the answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a lease on an endpoint's queue lasts unless renewed.
pub const LEASE: Duration = Duration::from_secs(30);
/// The waits before each retry (before jitter): attempt 1 right away, then
/// these, then the message is failed. Standard Webhooks' schedule.
pub const RETRIES: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
/// Attempts before a message fails for good.
pub const MAX_ATTEMPTS: u32 = RETRIES.len() as u32 + 1;
/// Messages read from a queue at once; their outcomes are recorded together.
const BATCH: usize = 200;
/// Endpoints served at once by one dispatcher.
const CONCURRENCY: usize = 64;
/// How much of an answer's body is read (and dropped) to reuse the connection.
const MAX_ANSWER: usize = 64 * 1024;

/// Where the dispatcher gets the time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told (tests).
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().expect("clock") += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

/// The wait before retry `n` (1 for the first), with ±20% jitter so that
/// the retries of many messages that failed together spread out.
pub fn backoff(n: u32) -> chrono::Duration {
    let i = usize::try_from(n.saturating_sub(1)).unwrap_or(usize::MAX);
    let base = RETRIES[i.min(RETRIES.len() - 1)];
    let jitter: f64 = 0.8 + 0.4 * rand::random::<f64>();
    chrono::Duration::from_std(base.mul_f64(jitter)).unwrap_or(chrono::Duration::MAX)
}

#[derive(Debug, Clone)]
pub struct DispatchOptions {
    /// Send to loopback and private addresses too (development and tests).
    pub allow_private: bool,
    /// How often `run` looks for due messages.
    pub poll: Duration,
}

impl Default for DispatchOptions {
    fn default() -> DispatchOptions {
        DispatchOptions {
            allow_private: false,
            poll: Duration::from_millis(500),
        }
    }
}

/// What a dispatch pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DispatchReport {
    /// Endpoints whose queue was served.
    pub endpoints: u64,
    pub delivered: u64,
    /// Attempts that failed and will be retried.
    pub retrying: u64,
    /// Messages that failed for good.
    pub failed: u64,
}

impl DispatchReport {
    fn add(&mut self, other: &DispatchReport) {
        self.endpoints += other.endpoints;
        self.delivered += other.delivered;
        self.retrying += other.retrying;
        self.failed += other.failed;
    }
}

#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    options: DispatchOptions,
    /// This dispatcher's name in leases.
    owner: String,
    /// Endpoints a task of this dispatcher is serving now.
    busy: Mutex<HashSet<(String, String)>>,
}

/// Why an attempt failed.
struct Failure {
    status: Option<u16>,
    error: String,
}

impl Dispatcher {
    pub fn new(engine: Engine, options: DispatchOptions) -> Result<Dispatcher> {
        Dispatcher::with_clock(engine, options, Arc::new(SystemClock))
    }

    pub fn with_clock(
        engine: Engine,
        options: DispatchOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Dispatcher> {
        crate::client::install_crypto();
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            // A redirect is an answer that is not 2xx; following it could
            // lead anywhere, past the destination checks.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the host itself, past the checks.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: options.allow_private,
            }))
            .tcp_nodelay(true)
            .user_agent(concat!("partnerops-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("webhook client: {e}")))?;
        let id: [u8; 6] = rand::random();
        Ok(Dispatcher {
            inner: Arc::new(Inner {
                engine,
                clock,
                http,
                options,
                owner: format!("{}-{}", std::process::id(), hex::encode(id)),
                busy: Mutex::new(HashSet::new()),
            }),
        })
    }

    /// Serves every endpoint with messages due now, each until nothing more
    /// is due (or its receiver fails), and waits for all of them.
    pub async fn pass(&self) -> Result<DispatchReport> {
        let mut tasks = self.start_due().await?;
        let mut report = DispatchReport::default();
        let mut first_error = None;
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(r)) => report.add(&r),
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(Error::Internal(format!("dispatch task: {e}")));
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Dispatches until the process ends (`serve`): every `poll`, starts a
    /// task for each due endpoint not already being served, without waiting
    /// for the others.
    pub async fn run(self) {
        let mut ticks = tokio::time::interval(self.inner.options.poll);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match self.start_due().await {
                Ok(mut tasks) => {
                    // Reaped in the background; the next tick does not wait.
                    tokio::spawn(async move {
                        while let Some(done) = tasks.join_next().await {
                            match done {
                                Ok(Ok(_)) => {}
                                Ok(Err(e)) => tracing::error!("webhook dispatch failed: {e}"),
                                Err(e) => tracing::error!("webhook dispatch task: {e}"),
                            }
                        }
                    });
                }
                Err(e) => tracing::error!("webhook dispatch failed: {e}"),
            }
        }
    }

    async fn start_due(&self) -> Result<tokio::task::JoinSet<Result<DispatchReport>>> {
        let due = self
            .inner
            .engine
            .store
            .due_endpoints(self.inner.clock.now())
            .await?;
        let limit = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        for (program, endpoint) in due {
            let key = (program.clone(), endpoint.clone());
            if !self.inner.busy.lock().expect("busy").insert(key.clone()) {
                continue;
            }
            let this = self.clone();
            let limit = limit.clone();
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let result = this.serve_endpoint(&program, &endpoint).await;
                this.inner.busy.lock().expect("busy").remove(&key);
                result
            });
        }
        Ok(tasks)
    }

    /// Takes the endpoint's lease and sends what is due, in order.
    async fn serve_endpoint(&self, program: &str, endpoint: &str) -> Result<DispatchReport> {
        let store = &self.inner.engine.store;
        let now = self.inner.clock.now();
        let owner = self.inner.owner.as_str();
        if !store
            .lease_endpoint(program, endpoint, owner, now, now + LEASE)
            .await?
        {
            return Ok(DispatchReport::default());
        }
        let result = self.send_queue(program, endpoint).await;
        let released = store.release_endpoint(program, endpoint, owner).await;
        let report = result?;
        released?;
        Ok(report)
    }

    async fn send_queue(&self, program: &str, endpoint: &str) -> Result<DispatchReport> {
        let inner = &self.inner;
        let store = &inner.engine.store;
        let mut report = DispatchReport {
            endpoints: 1,
            ..DispatchReport::default()
        };
        let cfg = inner.engine.current_config(program).await?;
        let Some(hook) = cfg.config.webhooks.iter().find(|w| w.key == endpoint) else {
            report.failed += store
                .fail_pending(
                    program,
                    endpoint,
                    "the endpoint is no longer in the config",
                    inner.clock.now(),
                )
                .await?;
            return Ok(report);
        };
        let url = reqwest::Url::parse(&hook.url)
            .map_err(|e| Error::Internal(format!("webhook `{endpoint}` url: {e}")))?;
        let secrets = store.endpoint_secrets(program, endpoint).await?;
        let mut lease_until = inner.clock.now() + LEASE;
        loop {
            let queue = store.queued(program, endpoint, BATCH).await?;
            if queue.is_empty() {
                break;
            }
            let mut attempts = Vec::new();
            let mut blocked = false;
            for message in &queue {
                let now = inner.clock.now();
                if message.next_attempt_at > now {
                    blocked = true;
                    break;
                }
                // Record and renew before the lease could run out mid-send.
                if lease_until - now < chrono::Duration::from_std(TIMEOUT * 2).unwrap_or_default() {
                    break;
                }
                let result = self.attempt(&url, secrets.as_ref(), message, now).await;
                let attempt = match result {
                    Ok(status) => {
                        report.delivered += 1;
                        crate::telemetry::webhook_delivery("delivered");
                        Attempt {
                            seq: message.seq,
                            at: now,
                            status: Some(status),
                            error: None,
                            outcome: Outcome::Delivered,
                        }
                    }
                    Err(failure) => {
                        let made = message.attempts + 1;
                        let outcome = if made >= MAX_ATTEMPTS {
                            report.failed += 1;
                            crate::telemetry::webhook_delivery("failed");
                            Outcome::Failed
                        } else {
                            report.retrying += 1;
                            crate::telemetry::webhook_delivery("retry");
                            blocked = true;
                            Outcome::RetryAt(now + backoff(made))
                        };
                        tracing::warn!(
                            program,
                            endpoint,
                            id = message.id,
                            attempt = made,
                            error = failure.error,
                            "webhook attempt failed"
                        );
                        Attempt {
                            seq: message.seq,
                            at: now,
                            status: failure.status,
                            error: Some(failure.error),
                            outcome,
                        }
                    }
                };
                attempts.push(attempt);
                if blocked {
                    break;
                }
            }
            let until = inner.clock.now() + LEASE;
            if !store
                .record_attempts(program, endpoint, &inner.owner, &attempts, until)
                .await?
            {
                tracing::warn!(program, endpoint, "lost the lease on a webhook queue");
                break;
            }
            lease_until = until;
            if blocked || attempts.is_empty() {
                break;
            }
        }
        Ok(report)
    }

    /// One attempt: the 2xx status, or why not.
    async fn attempt(
        &self,
        url: &reqwest::Url,
        secrets: Option<&EndpointSecrets>,
        message: &Queued,
        now: DateTime<Utc>,
    ) -> Result<u16, Failure> {
        let fail = |error: String| Failure {
            status: None,
            error,
        };
        let Some(secrets) = secrets else {
            return Err(fail(
                "the endpoint has no signing secret; run `partnerops webhooks rotate-secret`"
                    .to_owned(),
            ));
        };
        check_literal(url, self.inner.options.allow_private).map_err(fail)?;
        let timestamp = now.timestamp();
        let mut keys = vec![secrets.current.as_str()];
        if let Some((previous, until)) = &secrets.previous
            && *until > now
        {
            keys.push(previous.as_str());
        }
        let signature = signature::header(keys, &message.id, timestamp, &message.body);
        let response = self
            .inner
            .http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(message.body.clone())
            .send()
            .await
            .map_err(|e| fail(describe(&e)))?;
        let status = response.status();
        // Read (a bounded part of) the answer so the connection can be reused.
        let mut response = response;
        let mut read = 0;
        while read < MAX_ANSWER {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) => break,
                Err(e) if status.is_success() => {
                    // The status came: the receiver took the message.
                    tracing::debug!("webhook answer cut off: {}", describe(&e));
                    break;
                }
                Err(e) => {
                    return Err(Failure {
                        status: Some(status.as_u16()),
                        error: describe(&e),
                    });
                }
            }
        }
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            Err(Failure {
                status: Some(status.as_u16()),
                error: format!("answered {status}"),
            })
        }
    }
}

/// An HTTP error with its causes, on one line.
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        format!("no answer within {} s", TIMEOUT.as_secs())
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_about_5s_5m_30m_2h_5h_10h_10h_with_jitter() {
        let hours = |d: chrono::Duration| d.num_seconds() as f64 / 3600.0;
        for _ in 0..100 {
            let first = backoff(1).num_milliseconds();
            assert!((4_000..=6_000).contains(&first), "{first}");
            let fourth = hours(backoff(4));
            assert!((1.6..=2.4).contains(&fourth), "{fourth}");
            let last = hours(backoff(7));
            assert!((8.0..=12.0).contains(&last), "{last}");
        }
        assert_eq!(MAX_ATTEMPTS, 8);
    }
}
