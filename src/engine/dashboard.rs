//! What the dashboard reads that the JSON API did not already: monthly
//! totals, partners sorted by a stat, a partner's timeline, and the totals
//! of a filtered ledger (summed from the same lines `partnerops
//! commissions` prints, so the two always agree).

use chrono::{DateTime, Utc};

use super::ledger::listing::LedgerQuery;
use super::{Engine, Error, Result};
use crate::spec::money::Total;
use crate::store::record::{LedgerLine, LineStatus, Partner, TagChange, TransactionRecord};
use crate::store::{LineFilter, MonthTotals, PartnerQuery};

/// How a program's amounts are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    pub code: String,
    /// Decimals the amounts are kept in.
    pub exp: u8,
}

impl Currency {
    /// Minor units as a decimal string (`"19.80"`).
    pub fn format(&self, minor: i128) -> String {
        crate::spec::money::format_decimal(minor, self.exp)
    }
}

/// The program's months, oldest first, and its currency.
#[derive(Debug, Clone)]
pub struct Monthly {
    pub currency: Currency,
    pub months: Vec<MonthTotals>,
}

/// One thing that happened to a partner.
#[derive(Debug, Clone)]
pub enum Moment {
    Joined,
    /// A referred customer signed up.
    Referral {
        customer: String,
    },
    Sale(TransactionRecord),
    Tag(TagChange),
    Line(LedgerLine),
}

/// A partner's timeline, newest first: at most [`TIMELINE_EACH`] of each
/// kind of moment.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub partner: Partner,
    pub moments: Vec<(DateTime<Utc>, Moment)>,
    /// Whether some kind had more than the timeline shows.
    pub truncated: bool,
}

pub const TIMELINE_EACH: usize = 200;

/// A filtered ledger's count and totals, overall and per status, summed as
/// `partnerops commissions` sums them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerTotals {
    pub lines: u64,
    pub net: Total,
    pub pending: Total,
    pub approved: Total,
    pub paid: Total,
}

impl Engine {
    pub async fn currency(&self, program: &str) -> Result<Currency> {
        let cfg = self.current_config(program).await?;
        if cfg.revision == 0 {
            return Err(Error::NotFound(format!(
                "program `{program}` has no config in the engine"
            )));
        }
        Ok(Currency {
            code: cfg.config.program.currency.clone(),
            exp: cfg.exp,
        })
    }

    pub async fn monthly_totals(&self, program: &str) -> Result<Monthly> {
        let currency = self.currency(program).await?;
        Ok(Monthly {
            currency,
            months: self.store.monthly_totals(program).await?,
        })
    }

    /// Partners filtered, sorted and paged, with how many match.
    pub async fn partners_sorted(
        &self,
        program: &str,
        query: &PartnerQuery,
    ) -> Result<(u64, Vec<Partner>)> {
        self.store.partners_sorted(program, query).await
    }

    pub async fn timeline(&self, program: &str, key: &str) -> Result<Timeline> {
        let partner = self.store.partner(program, key).await?.ok_or_else(|| {
            Error::NotFound(format!("program `{program}` has no partner `{key}`"))
        })?;
        let mut truncated = false;
        let mut moments = vec![(partner.joined_at, Moment::Joined)];
        let customers = self.store.customers_of(program, key).await?;
        truncated |= customers.len() > TIMELINE_EACH;
        for c in customers.iter().take(TIMELINE_EACH) {
            if let Some(customer) = self.store.customer(program, c).await?
                && customer.partner.as_deref() == Some(key)
                && let Some(at) = customer.signed_up_at
            {
                moments.push((
                    at,
                    Moment::Referral {
                        customer: customer.key,
                    },
                ));
            }
        }
        let sales = self
            .store
            .partner_transactions(program, key, TIMELINE_EACH + 1)
            .await?;
        truncated |= sales.len() > TIMELINE_EACH;
        moments.extend(
            sales
                .into_iter()
                .take(TIMELINE_EACH)
                .map(|t| (t.at, Moment::Sale(t))),
        );
        let tags = self
            .store
            .tag_history_page(
                program,
                crate::store::record::Subject::Partner,
                key,
                None,
                TIMELINE_EACH + 1,
            )
            .await?;
        truncated |= tags.len() > TIMELINE_EACH;
        moments.extend(
            tags.into_iter()
                .take(TIMELINE_EACH)
                .map(|(_, c)| (c.at, Moment::Tag(c))),
        );
        let lines = self
            .ledger(
                program,
                &LedgerQuery {
                    partner: Some(key.to_owned()),
                    limit: TIMELINE_EACH,
                    ..LedgerQuery::default()
                },
            )
            .await?;
        truncated |= lines.next.is_some();
        moments.extend(
            lines
                .lines
                .into_iter()
                .map(|l| (l.created_at, Moment::Line(l))),
        );
        // Newest first; at one instant, in the order things follow from
        // each other (join, referral, sale, tag, line) read bottom-up.
        moments.sort_by(|a, b| b.0.cmp(&a.0).then(rank(&b.1).cmp(&rank(&a.1))));
        Ok(Timeline {
            partner,
            moments,
            truncated,
        })
    }

    /// The count and totals of every line `query` selects (its `after` and
    /// `limit` aside): the lines [`Engine::ledger`] pages through, each with
    /// the status it gives them, summed in the store.
    pub async fn ledger_totals(&self, program: &str, query: &LedgerQuery) -> Result<LedgerTotals> {
        let cfg = self.current_config(program).await?;
        if let Some(p) = &query.partner
            && self.store.partner(program, p).await?.is_none()
        {
            return Err(Error::NotFound(format!(
                "program `{program}` has no partner `{p}`"
            )));
        }
        let hold = chrono::Duration::days(cfg.config.program.payouts.hold_days.into());
        let filter = LineFilter {
            partner: query.partner.clone(),
            transaction: query.transaction.clone(),
            since: query.since,
            until: query.until,
            ..LineFilter::default()
        };
        let exp = cfg.exp;
        let mut totals = LedgerTotals {
            lines: 0,
            net: Total::zero(exp),
            pending: Total::zero(exp),
            approved: Total::zero(exp),
            paid: Total::zero(exp),
        };
        for (status, n, minor) in self
            .store
            .line_totals(program, &filter, Utc::now() - hold)
            .await?
        {
            if query.status.is_some_and(|s| s != status) {
                continue;
            }
            totals.lines += n;
            totals.net.add_minor(minor);
            match status {
                LineStatus::Pending => totals.pending.add_minor(minor),
                LineStatus::Approved => totals.approved.add_minor(minor),
                LineStatus::Paid => totals.paid.add_minor(minor),
            }
        }
        Ok(totals)
    }
}

fn rank(m: &Moment) -> u8 {
    match m {
        Moment::Joined => 0,
        Moment::Referral { .. } => 1,
        Moment::Sale(_) => 2,
        Moment::Tag(_) => 3,
        Moment::Line(_) => 4,
    }
}
