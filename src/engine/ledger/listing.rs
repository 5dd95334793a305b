//! Reading the ledger: lines by partner, status and due date, a page at a
//! time, with their status worked out from time and payouts; and the
//! transactions that wait for a signup or a product.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, Error, Result};
use crate::store::LineFilter;
use crate::store::record::{LedgerLine, LineStatus, TransactionRecord};

/// Which lines to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerQuery {
    pub partner: Option<String>,
    pub transaction: Option<String>,
    pub status: Option<LineStatus>,
    /// Due at or after.
    pub since: Option<DateTime<Utc>>,
    /// Due before.
    pub until: Option<DateTime<Utc>>,
    /// After this line id.
    pub after: Option<u64>,
    pub limit: usize,
}

/// A page of ledger lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LedgerPage {
    pub lines: Vec<LedgerLine>,
    /// The id to read on from (`after`), when there may be more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// The most lines one page holds.
pub const MAX_PAGE: usize = 1_000;

/// A page of waiting transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TransactionPage {
    pub transactions: Vec<TransactionRecord>,
    /// The key to read on from (`after`), when there may be more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl Engine {
    /// A page of ledger lines in id order (the order they were written),
    /// each with its status now and its due date in the program's time zone.
    pub async fn ledger(&self, program: &str, q: &LedgerQuery) -> Result<LedgerPage> {
        let limit = q.limit.clamp(1, MAX_PAGE);
        let cfg = self.current_config(program).await?;
        if let Some(p) = &q.partner
            && self.store.partner(program, p).await?.is_none()
        {
            return Err(Error::NotFound(format!(
                "program `{program}` has no partner `{p}`"
            )));
        }
        let now = Utc::now();
        let hold = cfg.config.program.payouts.hold_days;
        let mut lines = Vec::new();
        let mut after = q.after;
        // The status is not stored: read on until the page is full.
        loop {
            let read = self
                .store
                .lines(
                    program,
                    &LineFilter {
                        partner: q.partner.clone(),
                        transaction: q.transaction.clone(),
                        since: q.since,
                        until: q.until,
                        payout: None,
                        unpaid: matches!(
                            q.status,
                            Some(LineStatus::Pending | LineStatus::Approved)
                        ),
                        after,
                        limit: Some(limit),
                    },
                )
                .await?;
            let full = read.len() == limit;
            after = read.last().map(|l| l.id).or(after);
            for mut l in read {
                l.status = l.status_at(now, hold);
                l.due_on = Some(crate::engine::commission::local_date(
                    l.due_at,
                    cfg.timezone,
                ));
                if q.status.is_none_or(|s| s == l.status) {
                    lines.push(l);
                }
            }
            if !full {
                return Ok(LedgerPage { lines, next: None });
            }
            if lines.len() >= limit {
                return Ok(LedgerPage { lines, next: after });
            }
        }
    }

    /// Every line, of one partner or all, in id order: [`Engine::ledger`]
    /// page after page.
    pub async fn commissions(
        &self,
        program: &str,
        partner: Option<&str>,
    ) -> Result<Vec<LedgerLine>> {
        let mut query = LedgerQuery {
            partner: partner.map(str::to_owned),
            limit: MAX_PAGE,
            ..LedgerQuery::default()
        };
        let mut lines = Vec::new();
        loop {
            let page = self.ledger(program, &query).await?;
            lines.extend(page.lines);
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(lines),
            }
        }
    }

    /// Transactions waiting for a referral signup (`unattributed`) or a
    /// product record (`unmatched`); both when neither is asked.
    pub async fn waiting_transactions(
        &self,
        program: &str,
        unattributed: bool,
        unmatched: bool,
        after: Option<&str>,
        limit: usize,
    ) -> Result<TransactionPage> {
        let limit = limit.clamp(1, MAX_PAGE);
        let transactions = self
            .store
            .waiting_transactions(program, unattributed, unmatched, after, limit)
            .await?;
        let next = (transactions.len() == limit)
            .then(|| transactions.last().map(|t| t.key.clone()))
            .flatten();
        Ok(TransactionPage { transactions, next })
    }
}
