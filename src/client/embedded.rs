use std::path::Path;

use async_trait::async_trait;

use super::{Reader, Writer};
use crate::engine::access::{TokenRecord, TokenRequest};
use crate::engine::changeset::{Changeset, ChangesetRecord};
use crate::engine::customer::CustomerDetail;
use crate::engine::page::Page;
use crate::engine::runtime::state::{Subject, TagChange};
use chrono::{DateTime, Utc};

use crate::engine::event::{BatchFormat, IngestReport};
use crate::engine::explain::Explanation;
use crate::engine::ledger::listing::{LedgerPage, LedgerQuery, TransactionPage};
use crate::engine::ledger::payouts::{PayoutDetail, PayoutPlan};
use crate::engine::ledger::report::ProductReport;
use crate::engine::outbox::WebhookSecret;
use crate::engine::outbox::dispatch::{DispatchOptions, DispatchReport, Dispatcher};
use crate::engine::partner::Partner;
use crate::engine::view::PartnerView;
use crate::engine::whatif::{WhatIf, WhatIfQuery};
use crate::engine::{
    Engine, Error, Impact, ImpactQuery, PartnerDetail, ProgramSummary, Result, Snapshot,
    SweepReport,
};
use crate::sources::stripe::{Outcome, StripeSource};
use crate::store::outbox::{Delivery, DeliveryQuery};
use crate::store::record::Payout;

/// The engine in this process, on a SQLite file.
#[derive(Clone)]
pub struct Embedded {
    engine: Engine,
}

impl Embedded {
    pub async fn open(db: &Path) -> Result<Embedded> {
        Ok(Embedded {
            engine: Engine::open(db).await?,
        })
    }

    pub fn new(engine: Engine) -> Embedded {
        Embedded { engine }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// The engine in this process, on a SQLite file opened read-only; before anyone
/// has written to the engine there is no file, and it reads as empty.
pub struct EmbeddedReader {
    engine: Option<Engine>,
}

impl EmbeddedReader {
    pub async fn open(db: &Path) -> Result<EmbeddedReader> {
        let options = crate::store::StoreOptions::from_env()?;
        let store = crate::store::open_read_only(db, &options).await?;
        Ok(EmbeddedReader {
            engine: store.map(Engine::new),
        })
    }

    /// The engine, or why there is none: nothing was ever written to the file.
    fn engine(&self) -> Result<&Engine> {
        self.engine.as_ref().ok_or_else(|| {
            Error::NotFound(
                "the embedded engine holds nothing yet: apply a config first".to_owned(),
            )
        })
    }
}

#[async_trait]
impl Reader for EmbeddedReader {
    async fn programs(&self) -> Result<Vec<ProgramSummary>> {
        match &self.engine {
            Some(e) => e.programs().await,
            None => Ok(Vec::new()),
        }
    }

    async fn snapshot(&self, program: &str) -> Result<Snapshot> {
        match &self.engine {
            Some(e) => e.snapshot(program).await,
            None => Ok(Snapshot {
                program: program.to_owned(),
                revision: 0,
                resources: Vec::new(),
            }),
        }
    }

    async fn history(&self, program: &str) -> Result<Vec<ChangesetRecord>> {
        match &self.engine {
            Some(e) => e.history(program).await,
            None => Ok(Vec::new()),
        }
    }

    async fn changeset(&self, program: &str, revision: u64) -> Result<ChangesetRecord> {
        match &self.engine {
            Some(e) => e.changeset(program, revision).await,
            None => Err(Error::NotFound(format!(
                "program `{program}` has no revision {revision}"
            ))),
        }
    }

    async fn impact(&self, program: &str, query: &ImpactQuery) -> Result<Impact> {
        match &self.engine {
            Some(e) => e.impact(program, query).await,
            None => Ok(Impact::default()),
        }
    }

    async fn what_if(&self, program: &str, query: &WhatIfQuery) -> Result<WhatIf> {
        self.engine()?.what_if(program, query).await
    }

    async fn partners(
        &self,
        program: &str,
        tag: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Partner>> {
        match &self.engine {
            Some(e) => e.partners(program, tag, after, limit).await,
            None => Ok(Vec::new()),
        }
    }

    async fn partner(&self, program: &str, key: &str) -> Result<PartnerDetail> {
        match &self.engine {
            Some(e) => e.partner(program, key).await,
            None => Err(Error::NotFound(format!(
                "program `{program}` has no partner `{key}`"
            ))),
        }
    }

    async fn customer(&self, program: &str, key: &str) -> Result<CustomerDetail> {
        match &self.engine {
            Some(e) => e.customer(program, key).await,
            None => Err(Error::NotFound(format!(
                "program `{program}` has no customer `{key}`"
            ))),
        }
    }

    async fn ledger(&self, program: &str, query: &LedgerQuery) -> Result<LedgerPage> {
        match &self.engine {
            Some(e) => e.ledger(program, query).await,
            None => Ok(LedgerPage {
                lines: Vec::new(),
                next: None,
            }),
        }
    }

    async fn waiting_transactions(
        &self,
        program: &str,
        unattributed: bool,
        unmatched: bool,
        after: Option<&str>,
        limit: usize,
    ) -> Result<TransactionPage> {
        match &self.engine {
            Some(e) => {
                e.waiting_transactions(program, unattributed, unmatched, after, limit)
                    .await
            }
            None => Ok(TransactionPage {
                transactions: Vec::new(),
                next: None,
            }),
        }
    }

    async fn payout_plan(&self, program: &str, as_of: DateTime<Utc>) -> Result<PayoutPlan> {
        self.engine()?.payout_plan(program, as_of).await
    }

    async fn payouts(&self, program: &str) -> Result<Vec<Payout>> {
        match &self.engine {
            Some(e) => e.payouts(program).await,
            None => Ok(Vec::new()),
        }
    }

    async fn payout(&self, program: &str, id: u64) -> Result<PayoutDetail> {
        self.engine()?.payout(program, id).await
    }

    async fn product_report(
        &self,
        program: &str,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        by_partner: bool,
    ) -> Result<ProductReport> {
        self.engine()?
            .product_report(program, since, until, by_partner)
            .await
    }

    async fn explain_transaction(&self, program: &str, key: &str) -> Result<Explanation> {
        match &self.engine {
            Some(e) => e.explain_transaction(program, key).await,
            None => Err(Error::NotFound(format!(
                "program `{program}` has no transaction `{key}`"
            ))),
        }
    }

    async fn partner_view(&self, program: &str, partner: Option<&str>) -> Result<PartnerView> {
        let key = embedded_view_key(partner)?;
        match &self.engine {
            Some(e) => e.partner_view(program, key).await,
            None => Err(Error::NotFound(format!(
                "program `{program}` has no partner `{key}`"
            ))),
        }
    }

    async fn partners_page(
        &self,
        program: &str,
        tag: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Partner>> {
        match &self.engine {
            Some(e) => e.partners_page(program, tag, cursor, limit).await,
            None => Ok(empty()),
        }
    }

    async fn history_page(
        &self,
        program: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<ChangesetRecord>> {
        match &self.engine {
            Some(e) => e.history_page(program, cursor, limit).await,
            None => Ok(empty()),
        }
    }

    async fn tag_history_page(
        &self,
        program: &str,
        subject: Subject,
        key: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TagChange>> {
        match &self.engine {
            Some(e) => {
                e.tag_history_page(program, subject, key, cursor, limit)
                    .await
            }
            None => Err(Error::NotFound(format!(
                "program `{program}` has no {} `{key}`",
                subject.as_str()
            ))),
        }
    }

    async fn tokens_page(&self, cursor: Option<&str>, limit: usize) -> Result<Page<TokenRecord>> {
        match &self.engine {
            Some(e) => e.tokens_page(None, cursor, limit).await,
            None => Ok(empty()),
        }
    }

    async fn deliveries(&self, program: &str, query: &DeliveryQuery) -> Result<Vec<Delivery>> {
        match &self.engine {
            Some(e) => e.deliveries(program, query).await,
            None => Ok(Vec::new()),
        }
    }

    async fn webhook_secret(&self, program: &str, endpoint: &str) -> Result<WebhookSecret> {
        match &self.engine {
            Some(e) => e.webhook_secret(program, endpoint).await,
            None => Err(Error::NotFound(format!(
                "program `{program}` has no webhook `{endpoint}`"
            ))),
        }
    }
}

fn empty<T>() -> Page<T> {
    Page {
        items: Vec::new(),
        next_cursor: None,
    }
}

#[async_trait]
impl Reader for Embedded {
    async fn programs(&self) -> Result<Vec<ProgramSummary>> {
        self.engine.programs().await
    }

    async fn snapshot(&self, program: &str) -> Result<Snapshot> {
        self.engine.snapshot(program).await
    }

    async fn history(&self, program: &str) -> Result<Vec<ChangesetRecord>> {
        self.engine.history(program).await
    }

    async fn changeset(&self, program: &str, revision: u64) -> Result<ChangesetRecord> {
        self.engine.changeset(program, revision).await
    }

    async fn impact(&self, program: &str, query: &ImpactQuery) -> Result<Impact> {
        self.engine.impact(program, query).await
    }

    async fn what_if(&self, program: &str, query: &WhatIfQuery) -> Result<WhatIf> {
        self.engine.what_if(program, query).await
    }

    async fn partners(
        &self,
        program: &str,
        tag: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Partner>> {
        self.engine.partners(program, tag, after, limit).await
    }

    async fn partner(&self, program: &str, key: &str) -> Result<PartnerDetail> {
        self.engine.partner(program, key).await
    }

    async fn customer(&self, program: &str, key: &str) -> Result<CustomerDetail> {
        self.engine.customer(program, key).await
    }

    async fn ledger(&self, program: &str, query: &LedgerQuery) -> Result<LedgerPage> {
        self.engine.ledger(program, query).await
    }

    async fn waiting_transactions(
        &self,
        program: &str,
        unattributed: bool,
        unmatched: bool,
        after: Option<&str>,
        limit: usize,
    ) -> Result<TransactionPage> {
        self.engine
            .waiting_transactions(program, unattributed, unmatched, after, limit)
            .await
    }

    async fn payout_plan(&self, program: &str, as_of: DateTime<Utc>) -> Result<PayoutPlan> {
        self.engine.payout_plan(program, as_of).await
    }

    async fn payouts(&self, program: &str) -> Result<Vec<Payout>> {
        self.engine.payouts(program).await
    }

    async fn payout(&self, program: &str, id: u64) -> Result<PayoutDetail> {
        self.engine.payout(program, id).await
    }

    async fn product_report(
        &self,
        program: &str,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        by_partner: bool,
    ) -> Result<ProductReport> {
        self.engine
            .product_report(program, since, until, by_partner)
            .await
    }

    async fn explain_transaction(&self, program: &str, key: &str) -> Result<Explanation> {
        self.engine.explain_transaction(program, key).await
    }

    async fn partner_view(&self, program: &str, partner: Option<&str>) -> Result<PartnerView> {
        self.engine
            .partner_view(program, embedded_view_key(partner)?)
            .await
    }

    async fn partners_page(
        &self,
        program: &str,
        tag: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Partner>> {
        self.engine.partners_page(program, tag, cursor, limit).await
    }

    async fn history_page(
        &self,
        program: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<ChangesetRecord>> {
        self.engine.history_page(program, cursor, limit).await
    }

    async fn tag_history_page(
        &self,
        program: &str,
        subject: Subject,
        key: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TagChange>> {
        self.engine
            .tag_history_page(program, subject, key, cursor, limit)
            .await
    }

    async fn tokens_page(&self, cursor: Option<&str>, limit: usize) -> Result<Page<TokenRecord>> {
        self.engine.tokens_page(None, cursor, limit).await
    }

    async fn deliveries(&self, program: &str, query: &DeliveryQuery) -> Result<Vec<Delivery>> {
        self.engine.deliveries(program, query).await
    }

    async fn webhook_secret(&self, program: &str, endpoint: &str) -> Result<WebhookSecret> {
        self.engine.webhook_secret(program, endpoint).await
    }
}

#[async_trait]
impl Writer for Embedded {
    async fn apply(&self, program: &str, changeset: &Changeset) -> Result<ChangesetRecord> {
        self.engine.apply(program, changeset).await
    }

    async fn issue_token(&self, request: &TokenRequest) -> Result<String> {
        self.engine.issue_token(request.clone()).await
    }

    async fn revoke_token(&self, id: &str) -> Result<TokenRecord> {
        self.engine.revoke_token(id, None).await
    }

    async fn erase_partner(
        &self,
        program: &str,
        partner: &str,
    ) -> Result<crate::engine::erasure::Erasure> {
        self.engine.erase_partner(program, partner).await
    }

    async fn send_events(&self, program: &str, body: String) -> Result<IngestReport> {
        // The CLI sends one event per line.
        self.engine
            .ingest(program, &body, BatchFormat::Ndjson)
            .await
    }

    async fn sweep(&self, program: Option<&str>, now: DateTime<Utc>) -> Result<Vec<SweepReport>> {
        match program {
            Some(p) => Ok(vec![self.engine.sweep(p, now).await?]),
            None => self.engine.sweep_all(now).await,
        }
    }

    async fn create_payout(
        &self,
        program: &str,
        as_of: DateTime<Utc>,
    ) -> Result<Option<PayoutDetail>> {
        self.engine.create_payout(program, as_of).await
    }

    async fn set_stripe_secret(&self, program: &str, secret: &str) -> Result<()> {
        StripeSource::new(self.engine.clone())
            .set_secret(program, secret)
            .await
    }

    async fn import_stripe_events(&self, program: &str, events: &[&str]) -> Result<Vec<Outcome>> {
        StripeSource::new(self.engine.clone())
            .import(program, events)
            .await
    }

    async fn redeliver(&self, program: &str, id: &str) -> Result<Delivery> {
        self.engine.redeliver(program, id).await
    }

    async fn rotate_webhook_secret(&self, program: &str, endpoint: &str) -> Result<WebhookSecret> {
        self.engine.rotate_webhook_secret(program, endpoint).await
    }

    async fn dispatch_webhooks(&self, allow_private: bool) -> Result<DispatchReport> {
        let options = DispatchOptions {
            allow_private,
            ..DispatchOptions::default()
        };
        Dispatcher::new(self.engine.clone(), options)?.pass().await
    }
}

/// The embedded engine has no token to say which partner is asking.
fn embedded_view_key(partner: Option<&str>) -> Result<&str> {
    partner.ok_or_else(|| {
        Error::BadRequest("name the partner: the embedded engine has no partner token".to_owned())
    })
}
