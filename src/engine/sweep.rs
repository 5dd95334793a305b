//! The daily checks, and backfills.
//!
//! The sweep reads only the partners whose next check is due, through an
//! index, a page at a time; each check fires at the moment it came due, so a
//! sweep after days of downtime tags as the daily sweeps would have.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::runtime::fold::{Effects, Fold, Pricing};
use super::{Engine, PAGE, Result};
use crate::spec::Automation;
use crate::store::Writes;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SweepReport {
    pub program: String,
    /// The time the checks ran as of.
    pub at: DateTime<Utc>,
    /// Partners with a check due, read and checked.
    pub partners: u64,
    /// Automations fired (one per automation and partner).
    pub fired: u64,
    pub tag_changes: u64,
}

/// The webhook messages of a page of daily checks or backfills: tag
/// changes and `notify` firings.
fn messages(
    cfg: &super::runtime::RuntimeConfig,
    partners: &[crate::store::record::PartnerState],
    fx: &Effects,
    now: DateTime<Utc>,
) -> Vec<crate::store::outbox::OutboxMessage> {
    super::outbox::messages(
        cfg,
        &super::outbox::Changes {
            partners,
            notified: &fx.notified,
            tag_changes: &fx.tag_changes,
            ..super::outbox::Changes::default()
        },
        now,
    )
}

impl Engine {
    /// Runs the daily checks (anniversary, inactive, no_referrals) as of `now`,
    /// and finishes backfills a crash cut short. A missed day is caught up;
    /// running it twice changes nothing the second time.
    pub async fn sweep(&self, program: &str, now: DateTime<Utc>) -> Result<SweepReport> {
        let started = std::time::Instant::now();
        let report = self.sweep_unmetered(program, now).await;
        if report.is_ok() {
            crate::telemetry::sweep(started.elapsed());
        }
        report
    }

    async fn sweep_unmetered(&self, program: &str, now: DateTime<Utc>) -> Result<SweepReport> {
        // Fire times are when checks came due, never after `now`; ahead of
        // the clock they would outlast the activity that should re-arm them.
        if now > Utc::now() + super::event::MAX_FUTURE {
            return Err(super::Error::BadRequest(format!(
                "cannot run the daily checks as of {}: that is in the future",
                now.to_rfc3339()
            )));
        }
        if now < DateTime::UNIX_EPOCH {
            return Err(super::Error::BadRequest(format!(
                "cannot run the daily checks as of {}: that is before 1970",
                now.to_rfc3339()
            )));
        }
        if self.current_config(program).await?.revision == 0 {
            return Err(super::Error::NotFound(format!(
                "program `{program}` has no config in the engine"
            )));
        }
        let mut report = SweepReport {
            program: program.to_owned(),
            at: now,
            partners: 0,
            fired: 0,
            tag_changes: 0,
        };
        let mut first = true;
        loop {
            // Events keep flowing between pages.
            let mut tx = self.store.runtime(program).await?;
            let cfg = self.runtime_config(tx.as_mut(), program).await?;
            if first {
                tx.set_swept_through(now).await?;
                first = false;
            }
            let pricing = Pricing::new();
            let fold = Fold {
                cfg: &cfg,
                pricing: &pricing,
            };
            let mut page = tx.due_partners(now, PAGE).await?;
            let last = page.len() < PAGE;
            let mut fx = Effects::default();
            for state in &mut page {
                fold.settle(state, now, &mut fx);
            }
            report.partners += page.len() as u64;
            report.fired += fx.fired;
            report.tag_changes += fx.tag_changes.len() as u64;
            let outbox = messages(&cfg, &page, &fx, now);
            tx.write(&Writes {
                partners: page,
                tag_changes: fx.tag_changes,
                outbox,
                ..Writes::default()
            })
            .await?;
            tx.commit().await?;
            if last {
                break;
            }
        }
        let mut tx = self.store.runtime(program).await?;
        let pending = tx.backfill_pending().await?;
        let cfg = self.runtime_config(tx.as_mut(), program).await?;
        drop(tx);
        if pending {
            let backfills: Vec<Automation> = cfg.backfills().cloned().collect();
            let caught = self.backfill(program, &backfills, now).await?;
            report.fired += caught.fired;
            report.tag_changes += caught.tag_changes;
        }
        Ok(report)
    }

    /// Sweeps every program.
    pub async fn sweep_all(&self, now: DateTime<Utc>) -> Result<Vec<SweepReport>> {
        let mut reports = Vec::new();
        for program in self.programs().await? {
            reports.push(self.sweep(&program.key, now).await?);
        }
        Ok(reports)
    }

    /// Fires `automations` once for every partner already past their
    /// condition, a page at a time, then marks the program's backfills done.
    pub(super) async fn backfill(
        &self,
        program: &str,
        automations: &[Automation],
        now: DateTime<Utc>,
    ) -> Result<SweepReport> {
        let refs: Vec<&Automation> = automations.iter().collect();
        let mut report = SweepReport {
            program: program.to_owned(),
            at: now,
            partners: 0,
            fired: 0,
            tag_changes: 0,
        };
        let mut after: Option<String> = None;
        loop {
            let mut tx = self.store.runtime(program).await?;
            let cfg = self.runtime_config(tx.as_mut(), program).await?;
            let pricing = Pricing::new();
            let fold = Fold {
                cfg: &cfg,
                pricing: &pricing,
            };
            let page = tx.partners_after(after.as_deref(), PAGE).await?;
            let last = page.len() < PAGE;
            after = page.last().map(|p| p.partner.key.clone());
            report.partners += page.len() as u64;
            let mut fx = Effects::default();
            let mut changed = Vec::new();
            for mut state in page {
                if Fold::backfill_due(&state, &refs) {
                    fold.backfill(&mut state, &refs, now, &mut fx);
                    changed.push(state);
                }
            }
            report.fired += fx.fired;
            report.tag_changes += fx.tag_changes.len() as u64;
            let outbox = messages(&cfg, &changed, &fx, now);
            tx.write(&Writes {
                partners: changed,
                tag_changes: fx.tag_changes,
                outbox,
                ..Writes::default()
            })
            .await?;
            if last {
                tx.set_backfill_pending(false).await?;
            }
            tx.commit().await?;
            if last {
                return Ok(report);
            }
        }
    }
}
