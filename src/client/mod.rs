//! One interface to the engine, two ways to reach it: in-process on the SQLite
//! file (embedded) or over HTTP. Commands are written once against these traits.
//!
//! Reading and writing are separate traits, and the read-only implementations
//! have no code that could send a write: `plan` is handed a [`Reader`] and cannot
//! change the engine even by mistake.

mod embedded;
mod http;

use std::path::PathBuf;

use async_trait::async_trait;

pub use embedded::{Embedded, EmbeddedReader};
pub use http::{HttpReader, HttpWriter, install_crypto};

use crate::engine::access::{Scope, TokenRecord, TokenRequest};
use crate::engine::changeset::{Changeset, ChangesetRecord};
use crate::engine::page::Page;
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
    Impact, ImpactQuery, PartnerDetail, ProgramSummary, Result, Snapshot, SweepReport,
};
use crate::store::outbox::{Delivery, DeliveryQuery};
use crate::store::record::Payout;

#[async_trait]
pub trait Reader: Send + Sync {
    async fn programs(&self) -> Result<Vec<ProgramSummary>>;
    async fn snapshot(&self, program: &str) -> Result<Snapshot>;
    /// Applied changesets, newest first.
    async fn history(&self, program: &str) -> Result<Vec<ChangesetRecord>>;
    async fn changeset(&self, program: &str, revision: u64) -> Result<ChangesetRecord>;
    /// Counts a plan shows: partners losing tags, customers holding products,
    /// partners a backfill fires for.
    async fn impact(&self, program: &str, query: &ImpactQuery) -> Result<Impact>;
    /// What a planned config would have done with the program's recent
    /// events, beside what the live config did (`plan --impact-window`).
    async fn what_if(&self, program: &str, query: &WhatIfQuery) -> Result<WhatIf>;
    /// Partners (holding `tag`, if given) after `after`, in key order.
    async fn partners(
        &self,
        program: &str,
        tag: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Partner>>;
    async fn partner(&self, program: &str, key: &str) -> Result<PartnerDetail>;
    async fn customer(&self, program: &str, key: &str) -> Result<CustomerDetail>;
    /// A page of ledger lines, in the order they were written.
    async fn ledger(&self, program: &str, query: &LedgerQuery) -> Result<LedgerPage>;
    /// Transactions waiting for a signup (`unattributed`) or a product
    /// (`unmatched`).
    async fn waiting_transactions(
        &self,
        program: &str,
        unattributed: bool,
        unmatched: bool,
        after: Option<&str>,
        limit: usize,
    ) -> Result<TransactionPage>;
    /// What a payout would pay as of `as_of`.
    async fn payout_plan(&self, program: &str, as_of: DateTime<Utc>) -> Result<PayoutPlan>;
    async fn payouts(&self, program: &str) -> Result<Vec<Payout>>;
    async fn payout(&self, program: &str, id: u64) -> Result<PayoutDetail>;
    /// Per product (and partner): customers, sales, revenue, net commissions.
    async fn product_report(
        &self,
        program: &str,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        by_partner: bool,
    ) -> Result<ProductReport>;
    async fn explain_transaction(&self, program: &str, key: &str) -> Result<Explanation>;
    /// A partner's own view; `None` is the partner the token is for.
    async fn partner_view(&self, program: &str, partner: Option<&str>) -> Result<PartnerView>;
    /// A page of partners (holding `tag`, if given), in key order.
    async fn partners_page(
        &self,
        program: &str,
        tag: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Partner>>;
    /// A page of applied changesets, newest first.
    async fn history_page(
        &self,
        program: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<ChangesetRecord>>;
    /// A page of a partner's or customer's tag changes, oldest first.
    async fn tag_history_page(
        &self,
        program: &str,
        subject: Subject,
        key: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TagChange>>;
    /// A page of tokens (never their secrets), in id order.
    async fn tokens_page(&self, cursor: Option<&str>, limit: usize) -> Result<Page<TokenRecord>>;
    /// Messages to webhook endpoints, newest first.
    async fn deliveries(&self, program: &str, query: &DeliveryQuery) -> Result<Vec<Delivery>>;
    /// A webhook endpoint's signing secret (admin).
    async fn webhook_secret(&self, program: &str, endpoint: &str) -> Result<WebhookSecret>;
}

#[async_trait]
pub trait Writer: Reader {
    async fn apply(&self, program: &str, changeset: &Changeset) -> Result<ChangesetRecord>;
    /// Returns the new token; it is not stored anywhere in the clear.
    /// `program` binds the token to that program (required for `partner:KEY`).
    async fn create_token(&self, scopes: &[Scope], program: Option<&str>) -> Result<String> {
        self.issue_token(&TokenRequest {
            scopes: scopes.to_vec(),
            program: program.map(str::to_owned),
            expires_at: None,
        })
        .await
    }
    /// [`Writer::create_token`] with everything a request may say (an expiry).
    async fn issue_token(&self, request: &TokenRequest) -> Result<String>;
    /// Revokes a token: it gets 401 from now on.
    async fn revoke_token(&self, id: &str) -> Result<TokenRecord>;
    /// Erases a partner's name and email from the partner and every stored
    /// event; keys, money and tags stay.
    async fn erase_partner(
        &self,
        program: &str,
        partner: &str,
    ) -> Result<crate::engine::erasure::Erasure>;
    /// Sends a batch of events, one per line (NDJSON).
    async fn send_events(&self, program: &str, body: String) -> Result<IngestReport>;
    /// Runs the daily checks for one program, or all.
    async fn sweep(&self, program: Option<&str>, now: DateTime<Utc>) -> Result<Vec<SweepReport>>;
    /// Pays what is approved as of `as_of`; `None` when nothing is payable.
    async fn create_payout(
        &self,
        program: &str,
        as_of: DateTime<Utc>,
    ) -> Result<Option<PayoutDetail>>;
    /// Sets the program's Stripe webhook signing secret.
    async fn set_stripe_secret(&self, program: &str, secret: &str) -> Result<()>;
    /// Replays Stripe events (each one JSON text), in the order given,
    /// through the Stripe source without signatures.
    async fn import_stripe_events(
        &self,
        program: &str,
        events: &[&str],
    ) -> Result<Vec<crate::sources::stripe::Outcome>>;
    /// Puts a webhook message back in its endpoint's queue.
    async fn redeliver(&self, program: &str, id: &str) -> Result<Delivery>;
    /// Replaces a webhook endpoint's signing secret (admin).
    async fn rotate_webhook_secret(&self, program: &str, endpoint: &str) -> Result<WebhookSecret>;
    /// One pass of webhook dispatch, in this process (the embedded engine;
    /// a server dispatches by itself).
    async fn dispatch_webhooks(&self, allow_private: bool) -> Result<DispatchReport>;
}

/// Where the engine is: a URL (with a token) or a local SQLite file.
#[derive(Debug, Clone)]
pub struct Target {
    pub engine: Option<String>,
    pub db: PathBuf,
    pub token: Option<String>,
}

impl Target {
    pub async fn reader(&self) -> Result<Box<dyn Reader>> {
        Ok(match &self.engine {
            Some(url) => Box::new(HttpReader::new(url, self.token.clone())?),
            None => Box::new(EmbeddedReader::open(&self.db).await?),
        })
    }

    pub async fn writer(&self) -> Result<Box<dyn Writer>> {
        Ok(match &self.engine {
            Some(url) => Box::new(HttpWriter::new(url, self.token.clone())?),
            None => Box::new(Embedded::open(&self.db).await?),
        })
    }

    /// For messages: "the engine at URL" or "the embedded engine (PATH)".
    pub fn describe(&self) -> String {
        match &self.engine {
            Some(url) => format!("the engine at {url}"),
            None => format!("the embedded engine ({})", self.db.display()),
        }
    }
}
