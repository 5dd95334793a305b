use std::sync::Once;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Reader, Writer};
use crate::engine::access::{IssuedToken, TokenRecord, TokenRequest};
use crate::engine::changeset::{Changeset, ChangesetRecord};
use crate::engine::page::{MAX_LIMIT, Page};
use crate::engine::runtime::state::{Subject, TagChange};
use chrono::{DateTime, Utc};

use crate::engine::customer::CustomerDetail;
use crate::engine::event::IngestReport;
use crate::engine::explain::Explanation;
use crate::engine::ledger::listing::{LedgerPage, LedgerQuery, TransactionPage};
use crate::engine::ledger::payouts::{PayoutDetail, PayoutPlan};
use crate::engine::ledger::report::ProductReport;
use crate::engine::outbox::WebhookSecret;
use crate::engine::outbox::dispatch::DispatchReport;
use crate::engine::partner::Partner;
use crate::engine::view::PartnerView;
use crate::engine::whatif::{WhatIf, WhatIfQuery};
use crate::engine::{
    Error, Impact, ImpactQuery, PartnerDetail, ProgramSummary, Result, Snapshot, SweepReport,
};
use crate::problem::Problem;
use crate::store::outbox::{Delivery, DeliveryQuery};
use crate::store::record::Payout;

/// Attempts for a read: the first and three retries, 0.2 s, 0.4 s and 0.8 s apart.
const READ_ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// How long one attempt at a read may take, body included: a hung engine is
/// reported after about 4 × 30 s, not 4 × the write timeout.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a write waits for its answer. Longer than the server's 120 s
/// request limit, so a slow apply is answered by the server, not cut off here:
/// a write is never retried, and one cut off leaves its outcome unknown.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(300);

/// Chooses rustls' crypto (ring) for every HTTPS client in the process; call it
/// before building a `reqwest::Client` of your own.
pub fn install_crypto() {
    static CRYPTO: Once = Once::new();
    CRYPTO.call_once(|| {
        // A second install (another library got there first) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Reads from an engine over HTTP. It sends GETs, and POSTs only to the
/// read-only `/impact` query; it has no method that could change the engine.
#[derive(Clone)]
pub struct HttpReader {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
    read_timeout: Duration,
}

impl HttpReader {
    pub fn new(base: &str, token: Option<String>) -> Result<HttpReader> {
        install_crypto();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(WRITE_TIMEOUT)
            .user_agent(concat!("partnerops/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Unreachable(e.to_string()))?;
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::BadRequest(format!(
                "--engine `{base}` is not an http:// or https:// URL"
            )));
        }
        Ok(HttpReader {
            base,
            token,
            http,
            read_timeout: READ_TIMEOUT,
        })
    }

    /// Another limit for each attempt at a read than [`READ_TIMEOUT`].
    #[must_use]
    pub fn with_read_timeout(mut self, timeout: Duration) -> HttpReader {
        self.read_timeout = timeout;
        self
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request
    }

    /// GETs are idempotent, so a 5xx or a timeout is retried with backoff.
    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.read(path, || self.request(Method::GET, path)).await
    }

    /// A read-only query with a JSON body, retried like a GET.
    async fn query<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.read(path, || self.request(Method::POST, path).json(body))
            .await
    }

    async fn read<T: DeserializeOwned>(
        &self,
        path: &str,
        request: impl Fn() -> RequestBuilder,
    ) -> Result<T> {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let outcome = fetch(request().timeout(self.read_timeout)).await;
            let retry = match &outcome {
                Ok((status, _)) => status.is_server_error(),
                // Any failure to get the whole answer, before or after the
                // headers: a read can be asked again.
                Err(e) => !e.is_builder(),
            };
            if !retry || attempt == READ_ATTEMPTS {
                return match outcome {
                    Ok((status, body)) => decode(status, &body),
                    Err(e) if e.is_timeout() => Err(Error::Unreachable(format!(
                        "no complete answer to {path} within {} s ({attempt} attempts)",
                        self.read_timeout.as_secs_f64()
                    ))),
                    Err(e) => Err(transport(e)),
                };
            }
            tracing::debug!(path, attempt, "retrying read");
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }
}

/// Sends a request and reads its whole body, so one timeout and one error
/// cover both. A refusal the server asks to be retried later (429 or 503
/// with `Retry-After`: a rate or concurrency limit, refused before any work)
/// is sent again after the time it names, a few times.
async fn fetch(mut request: RequestBuilder) -> reqwest::Result<(StatusCode, Vec<u8>)> {
    let mut attempt = 1;
    loop {
        let again = request.try_clone();
        let response = request.send().await?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = response.bytes().await?;
        match (retry_after, again) {
            (Some(seconds), Some(again))
                if matches!(status.as_u16(), 429 | 503) && attempt < LIMITED_ATTEMPTS =>
            {
                tracing::debug!(%status, seconds, "the engine asked to retry later");
                tokio::time::sleep(Duration::from_secs(seconds.clamp(1, MAX_RETRY_AFTER))).await;
                attempt += 1;
                request = again;
            }
            _ => return Ok((status, body.into())),
        }
    }
}

/// Attempts at a request the engine refused for a limit, and the longest
/// wait between them it may ask for.
const LIMITED_ATTEMPTS: u32 = 5;
const MAX_RETRY_AFTER: u64 = 30;

/// Turns a response into the value or the engine's error.
fn decode<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Result<T> {
    if status.is_success() {
        return serde_json::from_slice(body).map_err(|e| {
            Error::Internal(format!(
                "the engine answered {status} with a body we cannot read: {e}"
            ))
        });
    }
    match serde_json::from_slice::<Problem>(body) {
        Ok(problem) => Err(problem.into_error()),
        Err(_) => Err(status_error(status, &String::from_utf8_lossy(body))),
    }
}

fn status_error(status: StatusCode, body: &str) -> Error {
    let detail = format!("{status}: {}", body.trim());
    match status.as_u16() {
        401 => Error::Unauthorized(detail),
        403 => Error::Forbidden(detail),
        404 => Error::NotFound(detail),
        413 => Error::PayloadTooLarge(detail),
        429 => Error::Limited {
            status: 429,
            limit: String::new(),
            detail,
            retry_after: 0,
        },
        400..=499 => Error::BadRequest(detail),
        _ => Error::Internal(detail),
    }
}

fn transport(e: reqwest::Error) -> Error {
    // reqwest's errors name the URL, never headers, so no token can leak here.
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    Error::Unreachable(text)
}

/// Percent-encodes a path segment.
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn program_path(program: &str, rest: &str) -> String {
    format!("/v1/programs/{}{rest}", segment(program))
}

#[async_trait]
impl Reader for HttpReader {
    async fn programs(&self) -> Result<Vec<ProgramSummary>> {
        let mut programs = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            // Programs are few: the first page is nearly always the last.
            let path = match &cursor {
                Some(c) => format!("/v1/programs?limit={MAX_LIMIT}&cursor={}", segment(c)),
                None => "/v1/programs".to_owned(),
            };
            let mut page: Page<ProgramSummary> = self.get(&path).await?;
            programs.append(&mut page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(programs),
            }
        }
    }

    async fn snapshot(&self, program: &str) -> Result<Snapshot> {
        self.get(&program_path(program, "/config")).await
    }

    async fn history(&self, program: &str) -> Result<Vec<ChangesetRecord>> {
        let mut history = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut page = self
                .history_page(program, cursor.as_deref(), MAX_LIMIT)
                .await?;
            history.append(&mut page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(history),
            }
        }
    }

    async fn changeset(&self, program: &str, revision: u64) -> Result<ChangesetRecord> {
        self.get(&program_path(program, &format!("/changesets/{revision}")))
            .await
    }

    async fn impact(&self, program: &str, query: &ImpactQuery) -> Result<Impact> {
        // A read with a body too large for a URL (a first import may backfill
        // hundreds of automations): the one POST a reader sends, to a route
        // that changes nothing.
        self.query(&program_path(program, "/impact"), query).await
    }

    async fn what_if(&self, program: &str, query: &WhatIfQuery) -> Result<WhatIf> {
        // A POST for the config it carries; the route only reads.
        self.query(&program_path(program, "/what-if"), query).await
    }

    async fn partners(
        &self,
        program: &str,
        tag: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Partner>> {
        let cursor = after.map(|a| crate::engine::lists::partners_cursor(tag, a));
        let mut partners = Vec::new();
        let mut page = self
            .partners_page(program, tag, cursor.as_deref(), limit.min(MAX_LIMIT))
            .await?;
        loop {
            partners.append(&mut page.items);
            match page.next_cursor {
                Some(next) if partners.len() < limit => {
                    let left = (limit - partners.len()).min(MAX_LIMIT);
                    page = self.partners_page(program, tag, Some(&next), left).await?;
                }
                _ => break,
            }
        }
        Ok(partners)
    }

    async fn partner(&self, program: &str, key: &str) -> Result<PartnerDetail> {
        self.get(&program_path(
            program,
            &format!("/partners/{}", segment(key)),
        ))
        .await
    }

    async fn customer(&self, program: &str, key: &str) -> Result<CustomerDetail> {
        self.get(&program_path(
            program,
            &format!("/customers/{}", segment(key)),
        ))
        .await
    }

    async fn ledger(&self, program: &str, q: &LedgerQuery) -> Result<LedgerPage> {
        let mut query = format!("/commissions?limit={}", q.limit);
        let mut add = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                query.push_str(&format!("&{name}={}", segment(&v)));
            }
        };
        add("partner", q.partner.clone());
        add("transaction", q.transaction.clone());
        add("status", q.status.map(|s| s.as_str().to_owned()));
        add("since", q.since.map(|t| t.to_rfc3339()));
        add("until", q.until.map(|t| t.to_rfc3339()));
        add("after", q.after.map(|a| a.to_string()));
        self.get(&program_path(program, &query)).await
    }

    async fn waiting_transactions(
        &self,
        program: &str,
        unattributed: bool,
        unmatched: bool,
        after: Option<&str>,
        limit: usize,
    ) -> Result<TransactionPage> {
        let mut query = format!("/transactions?limit={limit}");
        if unattributed {
            query.push_str("&unattributed=true");
        }
        if unmatched {
            query.push_str("&unmatched=true");
        }
        if let Some(a) = after {
            query.push_str(&format!("&after={}", segment(a)));
        }
        self.get(&program_path(program, &query)).await
    }

    async fn payout_plan(&self, program: &str, as_of: DateTime<Utc>) -> Result<PayoutPlan> {
        self.get(&program_path(
            program,
            &format!("/payouts/plan?as_of={}", segment(&as_of.to_rfc3339())),
        ))
        .await
    }

    async fn payouts(&self, program: &str) -> Result<Vec<Payout>> {
        self.get(&program_path(program, "/payouts")).await
    }

    async fn payout(&self, program: &str, id: u64) -> Result<PayoutDetail> {
        self.get(&program_path(program, &format!("/payouts/{id}")))
            .await
    }

    async fn product_report(
        &self,
        program: &str,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        by_partner: bool,
    ) -> Result<ProductReport> {
        let mut query = String::from("/reports/products?");
        if let Some(s) = since {
            query.push_str(&format!("since={}&", segment(&s.to_rfc3339())));
        }
        if let Some(u) = until {
            query.push_str(&format!("until={}&", segment(&u.to_rfc3339())));
        }
        if by_partner {
            query.push_str("by=partner");
        }
        self.get(&program_path(program, query.trim_end_matches(['&', '?'])))
            .await
    }

    async fn explain_transaction(&self, program: &str, key: &str) -> Result<Explanation> {
        self.get(&program_path(
            program,
            &format!("/transactions/{}/explain", segment(key)),
        ))
        .await
    }

    async fn partner_view(&self, program: &str, partner: Option<&str>) -> Result<PartnerView> {
        match partner {
            Some(p) => {
                self.get(&program_path(
                    program,
                    &format!("/partners/{}/view", segment(p)),
                ))
                .await
            }
            None => self.get(&program_path(program, "/me")).await,
        }
    }

    async fn partners_page(
        &self,
        program: &str,
        tag: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Partner>> {
        let mut query = format!("/partners?limit={limit}");
        if let Some(t) = tag {
            query.push_str(&format!("&tag={}", segment(t)));
        }
        if let Some(c) = cursor {
            query.push_str(&format!("&cursor={}", segment(c)));
        }
        self.get(&program_path(program, &query)).await
    }

    async fn history_page(
        &self,
        program: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<ChangesetRecord>> {
        self.get(&program_path(
            program,
            &format!("/changesets?limit={limit}{}", cursor_param(cursor)),
        ))
        .await
    }

    async fn tag_history_page(
        &self,
        program: &str,
        subject: Subject,
        key: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TagChange>> {
        let collection = match subject {
            Subject::Partner => "partners",
            Subject::Customer => "customers",
        };
        self.get(&program_path(
            program,
            &format!(
                "/{collection}/{}/tag-history?limit={limit}{}",
                segment(key),
                cursor_param(cursor)
            ),
        ))
        .await
    }

    async fn tokens_page(&self, cursor: Option<&str>, limit: usize) -> Result<Page<TokenRecord>> {
        self.get(&format!("/v1/tokens?limit={limit}{}", cursor_param(cursor)))
            .await
    }

    async fn deliveries(&self, program: &str, query: &DeliveryQuery) -> Result<Vec<Delivery>> {
        let mut path = format!("/webhooks/deliveries?limit={}", query.limit);
        if let Some(e) = &query.endpoint {
            path.push_str(&format!("&endpoint={}", segment(e)));
        }
        if let Some(s) = query.status {
            path.push_str(&format!("&status={}", s.as_str()));
        }
        if let Some(b) = &query.before {
            path.push_str(&format!("&before={}", segment(b)));
        }
        if query.with_body {
            path.push_str("&body=true");
        }
        self.get(&program_path(program, &path)).await
    }

    async fn webhook_secret(&self, program: &str, endpoint: &str) -> Result<WebhookSecret> {
        self.get(&program_path(
            program,
            &format!("/webhooks/endpoints/{}/secret", segment(endpoint)),
        ))
        .await
    }
}

fn cursor_param(cursor: Option<&str>) -> String {
    cursor
        .map(|c| format!("&cursor={}", segment(c)))
        .unwrap_or_default()
}

/// Reads and writes over HTTP. Writes are sent once: a write that may or may not
/// have landed is reported, never blindly repeated.
#[derive(Clone)]
pub struct HttpWriter {
    reader: HttpReader,
    write_timeout: Duration,
}

impl HttpWriter {
    pub fn new(base: &str, token: Option<String>) -> Result<HttpWriter> {
        Ok(HttpWriter {
            reader: HttpReader::new(base, token)?,
            write_timeout: WRITE_TIMEOUT,
        })
    }

    /// Other limits than [`READ_TIMEOUT`] (per attempt) and [`WRITE_TIMEOUT`].
    #[must_use]
    pub fn with_timeouts(mut self, read: Duration, write: Duration) -> HttpWriter {
        self.reader = self.reader.with_read_timeout(read);
        self.write_timeout = write;
        self
    }

    async fn post<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let body = serde_json::to_vec(body).map_err(|e| Error::Internal(e.to_string()))?;
        self.post_raw(path, "application/json", body).await
    }

    async fn post_raw<T: DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Result<T> {
        let request = self
            .reader
            .request(Method::POST, path)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .timeout(self.write_timeout);
        match fetch(request).await {
            Ok((status, body)) => decode(status, &body),
            Err(e) if e.is_timeout() => Err(Error::Unreachable(format!(
                "no answer to POST {path} within {} s: it may or may not have been applied; look before sending it again",
                self.write_timeout.as_secs_f64()
            ))),
            Err(e) => Err(transport(e)),
        }
    }
}

#[async_trait]
impl Reader for HttpWriter {
    async fn programs(&self) -> Result<Vec<ProgramSummary>> {
        self.reader.programs().await
    }

    async fn snapshot(&self, program: &str) -> Result<Snapshot> {
        self.reader.snapshot(program).await
    }

    async fn history(&self, program: &str) -> Result<Vec<ChangesetRecord>> {
        self.reader.history(program).await
    }

    async fn changeset(&self, program: &str, revision: u64) -> Result<ChangesetRecord> {
        self.reader.changeset(program, revision).await
    }

    async fn impact(&self, program: &str, query: &ImpactQuery) -> Result<Impact> {
        self.reader.impact(program, query).await
    }

    async fn what_if(&self, program: &str, query: &WhatIfQuery) -> Result<WhatIf> {
        self.reader.what_if(program, query).await
    }

    async fn partners(
        &self,
        program: &str,
        tag: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Partner>> {
        self.reader.partners(program, tag, after, limit).await
    }

    async fn partner(&self, program: &str, key: &str) -> Result<PartnerDetail> {
        self.reader.partner(program, key).await
    }

    async fn customer(&self, program: &str, key: &str) -> Result<CustomerDetail> {
        self.reader.customer(program, key).await
    }

    async fn ledger(&self, program: &str, query: &LedgerQuery) -> Result<LedgerPage> {
        self.reader.ledger(program, query).await
    }

    async fn waiting_transactions(
        &self,
        program: &str,
        unattributed: bool,
        unmatched: bool,
        after: Option<&str>,
        limit: usize,
    ) -> Result<TransactionPage> {
        self.reader
            .waiting_transactions(program, unattributed, unmatched, after, limit)
            .await
    }

    async fn payout_plan(&self, program: &str, as_of: DateTime<Utc>) -> Result<PayoutPlan> {
        self.reader.payout_plan(program, as_of).await
    }

    async fn payouts(&self, program: &str) -> Result<Vec<Payout>> {
        self.reader.payouts(program).await
    }

    async fn payout(&self, program: &str, id: u64) -> Result<PayoutDetail> {
        self.reader.payout(program, id).await
    }

    async fn product_report(
        &self,
        program: &str,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        by_partner: bool,
    ) -> Result<ProductReport> {
        self.reader
            .product_report(program, since, until, by_partner)
            .await
    }

    async fn explain_transaction(&self, program: &str, key: &str) -> Result<Explanation> {
        self.reader.explain_transaction(program, key).await
    }

    async fn partner_view(&self, program: &str, partner: Option<&str>) -> Result<PartnerView> {
        self.reader.partner_view(program, partner).await
    }

    async fn partners_page(
        &self,
        program: &str,
        tag: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Partner>> {
        self.reader.partners_page(program, tag, cursor, limit).await
    }

    async fn history_page(
        &self,
        program: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<ChangesetRecord>> {
        self.reader.history_page(program, cursor, limit).await
    }

    async fn tag_history_page(
        &self,
        program: &str,
        subject: Subject,
        key: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TagChange>> {
        self.reader
            .tag_history_page(program, subject, key, cursor, limit)
            .await
    }

    async fn tokens_page(&self, cursor: Option<&str>, limit: usize) -> Result<Page<TokenRecord>> {
        self.reader.tokens_page(cursor, limit).await
    }

    async fn deliveries(&self, program: &str, query: &DeliveryQuery) -> Result<Vec<Delivery>> {
        self.reader.deliveries(program, query).await
    }

    async fn webhook_secret(&self, program: &str, endpoint: &str) -> Result<WebhookSecret> {
        self.reader.webhook_secret(program, endpoint).await
    }
}

#[async_trait]
impl Writer for HttpWriter {
    async fn apply(&self, program: &str, changeset: &Changeset) -> Result<ChangesetRecord> {
        self.post(&program_path(program, "/changesets"), changeset)
            .await
    }

    async fn issue_token(&self, request: &TokenRequest) -> Result<String> {
        let issued: IssuedToken = self.post("/v1/tokens", request).await?;
        Ok(issued.token)
    }

    async fn erase_partner(
        &self,
        program: &str,
        partner: &str,
    ) -> Result<crate::engine::erasure::Erasure> {
        self.post(
            &program_path(program, &format!("/partners/{}/erase", segment(partner))),
            &serde_json::json!({}),
        )
        .await
    }

    async fn revoke_token(&self, id: &str) -> Result<TokenRecord> {
        let request = self
            .reader
            .request(Method::DELETE, &format!("/v1/tokens/{}", segment(id)))
            .timeout(self.write_timeout);
        match fetch(request).await {
            Ok((status, body)) => decode(status, &body),
            Err(e) => Err(transport(e)),
        }
    }

    async fn send_events(&self, program: &str, body: String) -> Result<IngestReport> {
        self.post_raw(
            &program_path(program, "/events"),
            "application/x-ndjson",
            body,
        )
        .await
    }

    async fn sweep(&self, program: Option<&str>, now: DateTime<Utc>) -> Result<Vec<SweepReport>> {
        let mut path = format!("/v1/sweep?now={}", segment(&now.to_rfc3339()));
        if let Some(p) = program {
            path.push_str(&format!("&program={}", segment(p)));
        }
        self.post_raw(&path, "application/json", Vec::new()).await
    }

    async fn create_payout(
        &self,
        program: &str,
        as_of: DateTime<Utc>,
    ) -> Result<Option<PayoutDetail>> {
        // The answer is `null` when nothing was payable.
        self.post_raw(
            &program_path(
                program,
                &format!("/payouts?as_of={}", segment(&as_of.to_rfc3339())),
            ),
            "application/json",
            Vec::new(),
        )
        .await
    }

    async fn set_stripe_secret(&self, program: &str, secret: &str) -> Result<()> {
        let body = serde_json::to_vec(&crate::sources::stripe::StripeSecret {
            secret: secret.to_owned(),
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        let request = self
            .reader
            .request(
                Method::PUT,
                &program_path(program, "/sources/stripe/secret"),
            )
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .timeout(self.write_timeout);
        match fetch(request).await {
            Ok((status, _)) if status.is_success() => Ok(()),
            Ok((status, body)) => decode::<serde_json::Value>(status, &body).map(|_| ()),
            Err(e) => Err(transport(e)),
        }
    }

    async fn import_stripe_events(
        &self,
        program: &str,
        events: &[&str],
    ) -> Result<Vec<crate::sources::stripe::Outcome>> {
        let body = format!("[{}]", events.join(",\n"));
        self.post_raw(
            &program_path(program, "/sources/stripe/import"),
            "application/json",
            body,
        )
        .await
    }

    async fn redeliver(&self, program: &str, id: &str) -> Result<Delivery> {
        let path = program_path(
            program,
            &format!("/webhooks/deliveries/{}/redeliver", segment(id)),
        );
        self.post_raw(&path, "application/json", Vec::new()).await
    }

    async fn rotate_webhook_secret(&self, program: &str, endpoint: &str) -> Result<WebhookSecret> {
        let path = program_path(
            program,
            &format!("/webhooks/endpoints/{}/rotate-secret", segment(endpoint)),
        );
        self.post_raw(&path, "application/json", Vec::new()).await
    }

    async fn dispatch_webhooks(&self, _allow_private: bool) -> Result<DispatchReport> {
        Err(Error::BadRequest(
            "a server dispatches its webhooks itself; `webhooks dispatch` is for the embedded engine (--db)".to_owned(),
        ))
    }
}
