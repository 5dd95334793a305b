//! What one client, one token or everyone together may take of the server:
//! connections, requests in flight, body sizes, request rates. Each refusal
//! is a problem (429 or 503 with `Retry-After`, 413) whose `limit` names the
//! `serve` flag that sets it, so an operator knows what to raise.
//!
//! Liveness (`/healthz`, `/readyz`) is never rate- or concurrency-limited: a
//! server busy refusing others still answers its health checks.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

use super::AppState;
use super::reply::ApiError;
use crate::engine::Error;

/// A rate: at most `count` per `per`, in bursts of up to `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    /// No limit.
    pub const OFF: Rate = Rate {
        count: 0,
        per: Duration::from_secs(1),
    };

    fn quota(self) -> Option<Quota> {
        let burst = NonZeroU32::new(self.count)?;
        Quota::with_period(self.per / self.count).map(|q| q.allow_burst(burst))
    }
}

impl FromStr for Rate {
    type Err = String;

    /// `100/s`, `6000/m`, `50/h`, or `0` (off).
    fn from_str(s: &str) -> Result<Rate, String> {
        let s = s.trim();
        if s == "0" {
            return Ok(Rate::OFF);
        }
        let bad = || format!("`{s}` is not a rate like 100/s, 600/m or 50/h (0 turns it off)");
        let (count, unit) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(Rate { count, per })
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.count == 0 {
            return f.write_str("0");
        }
        let unit = match self.per.as_secs() {
            60 => "m",
            3600 => "h",
            _ => "s",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// The limits, as `serve` takes them. 0 turns a limit off.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections open at once (each costs a file descriptor and a few KB).
    pub max_connections: usize,
    /// Requests being handled at once, over all clients.
    pub max_concurrent_requests: usize,
    /// Requests with large bodies (events, changesets) handled at once: what
    /// bounds the memory bodies take, `upload_limit` each.
    pub max_concurrent_uploads: usize,
    /// Bytes in a request body, for every route but events and changesets.
    pub body_limit: usize,
    /// Bytes in the body of an event batch or a changeset.
    pub upload_limit: usize,
    /// Requests per token.
    pub rate_per_token: Rate,
    /// Requests per client address, whatever their token.
    pub rate_per_address: Rate,
    /// Requests with a missing or bad token per client address.
    pub failed_auth_per_address: Rate,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 16_384,
            max_concurrent_requests: 64,
            max_concurrent_uploads: 4,
            body_limit: 1024 * 1024,
            upload_limit: 64 * 1024 * 1024,
            rate_per_token: Rate {
                count: 100,
                per: Duration::from_secs(1),
            },
            rate_per_address: Rate {
                count: 200,
                per: Duration::from_secs(1),
            },
            failed_auth_per_address: Rate {
                count: 20,
                per: Duration::from_secs(60),
            },
        }
    }
}

impl Limits {
    /// The default limits without the per-token and per-address rates:
    /// what a server taking thousands of requests a second from one client
    /// (Stripe, a benchmark) runs with.
    pub fn without_rates() -> Limits {
        Limits {
            rate_per_token: Rate::OFF,
            rate_per_address: Rate::OFF,
            ..Limits::default()
        }
    }

    /// No limits at all but the body sizes (for benchmarks that measure the
    /// engine, not the limits).
    pub fn off() -> Limits {
        Limits {
            max_connections: 0,
            max_concurrent_requests: 0,
            max_concurrent_uploads: 0,
            rate_per_token: Rate::OFF,
            rate_per_address: Rate::OFF,
            failed_auth_per_address: Rate::OFF,
            ..Limits::default()
        }
    }
}

/// A keyed rate limiter, and the flag that set it.
struct Keyed<K: std::hash::Hash + Eq + Clone> {
    flag: &'static str,
    rate: Rate,
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    checks: AtomicU64,
}

impl<K: std::hash::Hash + Eq + Clone> Keyed<K> {
    fn new(flag: &'static str, rate: Rate) -> Keyed<K> {
        Keyed {
            flag,
            rate,
            limiter: rate.quota().map(RateLimiter::keyed),
            checks: AtomicU64::new(0),
        }
    }

    /// Takes one from `key`'s allowance, or says how long until it may.
    fn check(&self, key: &K) -> Result<(), Error> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        // Forget keys whose allowance is whole again now and then, so the
        // map holds only the recently active.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            limited(
                429,
                self.flag,
                format!(
                    "too many requests: more than {} (serve --{})",
                    self.rate, self.flag
                ),
                wait,
            )
        })
    }
}

fn limited(status: u16, flag: &str, detail: String, wait: Duration) -> Error {
    Error::Limited {
        status,
        limit: flag.to_owned(),
        detail,
        // Rounded up: a client that waits what it is told gets through.
        retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
}

/// The limits' state, shared by every request.
pub struct Guard {
    pub limits: Limits,
    requests: Option<Arc<Semaphore>>,
    uploads: Option<Arc<Semaphore>>,
    per_token: Keyed<String>,
    per_address: Keyed<IpAddr>,
    failed_auth: Keyed<IpAddr>,
    /// Addresses over their failed-auth rate, and until when: refused before
    /// their token is even looked up.
    blocked: std::sync::Mutex<std::collections::HashMap<IpAddr, (std::time::Instant, Error)>>,
}

impl Guard {
    pub fn new(limits: Limits) -> Guard {
        let semaphore = |n: usize| (n > 0).then(|| Arc::new(Semaphore::new(n)));
        Guard {
            requests: semaphore(limits.max_concurrent_requests),
            uploads: semaphore(limits.max_concurrent_uploads),
            per_token: Keyed::new("rate-per-token", limits.rate_per_token),
            per_address: Keyed::new("rate-per-address", limits.rate_per_address),
            failed_auth: Keyed::new("failed-auth-per-address", limits.failed_auth_per_address),
            blocked: std::sync::Mutex::default(),
            limits,
        }
    }

    /// A request by `token` (its id): within the token's rate?
    pub fn token_request(&self, token: &str) -> Result<(), Error> {
        self.per_token.check(&token.to_owned())
    }

    /// Before authenticating a request from `address`: has it failed to
    /// authenticate so often that it must wait?
    pub fn before_auth(&self, address: Option<IpAddr>) -> Result<(), Error> {
        let Some(address) = address else {
            return Ok(());
        };
        let mut blocked = self
            .blocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        match blocked.get(&address) {
            Some((until, e)) if *until > now => {
                let mut e = e.clone();
                if let Error::Limited { retry_after, .. } = &mut e {
                    let wait = *until - now;
                    *retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                }
                Err(e)
            }
            Some(_) => {
                blocked.remove(&address);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// A request from `address` failed to authenticate: past the rate, the
    /// address is refused (429) until its allowance comes back, and this
    /// request too.
    pub fn failed_auth(&self, address: Option<IpAddr>) -> Result<(), Error> {
        let Some(address) = address else {
            return Ok(());
        };
        let Err(e) = self.failed_auth.check(&address) else {
            return Ok(());
        };
        let e = match e {
            Error::Limited {
                status,
                limit,
                retry_after,
                ..
            } => Error::Limited {
                status,
                detail: format!(
                    "too many requests with a missing or bad token from this address: more than {} (serve --{limit}); wait {retry_after} s",
                    self.limits.failed_auth_per_address
                ),
                limit,
                retry_after,
            },
            other => other,
        };
        if let Error::Limited { retry_after, .. } = &e {
            let mut blocked = self
                .blocked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = std::time::Instant::now();
            if blocked.len() > 100_000 {
                blocked.retain(|_, (until, _)| *until > now);
            }
            blocked.insert(
                address,
                (now + Duration::from_secs(*retry_after), e.clone()),
            );
        }
        Err(e)
    }
}

/// The client's address, when the server put it on the request.
pub fn client_address(req: &axum::http::request::Parts) -> Option<IpAddr> {
    req.extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip())
}

/// Routes that answer whatever the load: liveness and readiness.
fn is_health(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
}

/// How long a request past `max-concurrent-requests` waits for a slot
/// before its 503.
pub const REQUEST_QUEUE_WAIT: Duration = Duration::from_secs(2);

/// The per-address rate and the concurrency limit, before anything else.
pub async fn admit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if is_health(req.uri().path()) {
        return next.run(req).await;
    }
    let guard = &state.guard;
    if let Some(ConnectInfo(address)) = req.extensions().get::<ConnectInfo<SocketAddr>>()
        && let Err(e) = guard.per_address.check(&address.ip())
    {
        return ApiError(e).into_response();
    }
    // A burst (Stripe delivers many events at once) waits a moment for a
    // slot rather than being refused outright; only a sustained overload
    // is shed.
    let _permit = match &guard.requests {
        None => None,
        Some(s) => {
            match tokio::time::timeout(REQUEST_QUEUE_WAIT, s.clone().acquire_owned()).await {
                Ok(Ok(permit)) => Some(permit),
                _ => {
                    return ApiError(limited(
                    503,
                    "max-concurrent-requests",
                    format!(
                        "the server is handling {} requests already (serve --max-concurrent-requests); try again shortly",
                        guard.limits.max_concurrent_requests
                    ),
                    Duration::from_secs(1),
                ))
                .into_response();
                }
            }
        }
    };
    next.run(req).await
}

/// How many bytes a route's body may hold, and the flag that says so; put
/// on the request for the body extractors to name in a 413.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    pub flag: &'static str,
    pub bytes: usize,
}

/// The routes that take large bodies: at most `max-concurrent-uploads` at
/// once, each up to `upload-limit`.
pub async fn upload(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let guard = &state.guard;
    req.extensions_mut().insert(BodyLimit {
        flag: "upload-limit",
        bytes: guard.limits.upload_limit,
    });
    let _permit = match &guard.uploads {
        None => None,
        Some(s) => match s.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                return ApiError(limited(
                    503,
                    "max-concurrent-uploads",
                    format!(
                        "the server is reading {} large bodies (events, changesets) already (serve --max-concurrent-uploads); try again shortly",
                        guard.limits.max_concurrent_uploads
                    ),
                    Duration::from_secs(1),
                ))
                .into_response();
            }
        },
    };
    next.run(req).await
}

/// Every other route's body limit, named for the 413.
pub async fn small_bodies(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.extensions().get::<BodyLimit>().is_none() {
        req.extensions_mut().insert(BodyLimit {
            flag: "body-limit",
            bytes: state.guard.limits.body_limit,
        });
    }
    next.run(req).await
}

/// File descriptors kept for what is not a client connection: the database,
/// its WAL, logs, outgoing connections.
const SPARE_FILES: u64 = 256;

/// Raises this process's limit of open files as far as the system lets it,
/// and returns how many connections it can then hold: `wanted`, or fewer
/// (with a warning) when the system allows fewer files. The default soft
/// limit (often 1,024) would let a few hundred slow clients use them all.
pub fn allow_connections(wanted: usize) -> usize {
    let Ok(files) = rlimit::increase_nofile_limit(u64::MAX) else {
        return wanted;
    };
    let possible = usize::try_from(files.saturating_sub(SPARE_FILES)).unwrap_or(usize::MAX);
    if wanted == 0 || wanted > possible {
        tracing::warn!(
            "at most {possible} connections: the system allows {files} open files (serve --max-connections {wanted})"
        );
        return possible.max(1);
    }
    wanted
}

/// `64KiB`, `1MiB`, `64MiB`, `1GiB` or a number of bytes.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: usize = number
        .parse()
        .map_err(|_| format!("`{s}` is not a size like 1MiB or 64MiB"))?;
    let scale: usize = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" | "KB" => 1024,
        "MiB" | "M" | "MB" => 1024 * 1024,
        "GiB" | "G" | "GB" => 1024 * 1024 * 1024,
        _ => return Err(format!("`{s}` is not a size like 1MiB or 64MiB")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// A size as the flags write it.
pub fn size_text(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes % 1024 == 0 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_sizes_parse() {
        assert_eq!("100/s".parse::<Rate>().unwrap().to_string(), "100/s");
        assert_eq!("20/m".parse::<Rate>().unwrap().per, Duration::from_secs(60));
        assert_eq!("0".parse::<Rate>().unwrap(), Rate::OFF);
        assert!("fast".parse::<Rate>().is_err());
        assert!("10/d".parse::<Rate>().is_err());
        assert_eq!(parse_size("1MiB").unwrap(), 1024 * 1024);
        assert_eq!(parse_size("512").unwrap(), 512);
        assert!(parse_size("lots").is_err());
        assert_eq!(size_text(64 * 1024 * 1024), "64 MiB");
    }

    #[test]
    fn a_key_over_its_rate_waits_and_others_do_not() {
        let keyed: Keyed<String> = Keyed::new("rate-per-token", "3/m".parse().unwrap());
        for _ in 0..3 {
            keyed.check(&"a".to_owned()).unwrap();
        }
        match keyed.check(&"a".to_owned()) {
            Err(Error::Limited {
                status: 429,
                limit,
                retry_after,
                ..
            }) => {
                assert_eq!(limit, "rate-per-token");
                assert!((1..=20).contains(&retry_after), "{retry_after}");
            }
            other => panic!("{other:?}"),
        }
        keyed.check(&"b".to_owned()).unwrap();
    }

    #[test]
    fn an_address_that_fails_too_often_is_refused_before_its_token_is_read() {
        let guard = Guard::new(Limits {
            failed_auth_per_address: "2/m".parse().unwrap(),
            ..Limits::default()
        });
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..2 {
            guard.before_auth(a).unwrap();
            guard.failed_auth(a).unwrap();
        }
        guard.before_auth(a).unwrap();
        let e = guard.failed_auth(a).unwrap_err();
        assert!(
            matches!(&e, Error::Limited { status: 429, limit, .. } if limit == "failed-auth-per-address"),
            "{e:?}"
        );
        assert!(guard.before_auth(a).is_err());
        guard.before_auth(b).unwrap();
        guard.before_auth(None).unwrap();
    }
}
