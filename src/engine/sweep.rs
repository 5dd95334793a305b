//! The daily checks, and backfills, over all partners a page at a time so
//! memory does not grow with their number.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::runtime::{
    self,
    state::{PartnerState, Workspace},
};
use super::{Engine, PAGE, Result};
use crate::spec::Automation;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SweepReport {
    pub program: String,
    /// The time the checks ran as of.
    pub at: DateTime<Utc>,
    /// Partners checked.
    pub partners: u64,
    /// Automations fired (one per automation and partner).
    pub fired: u64,
    pub tag_changes: u64,
}

impl Engine {
    /// Runs the daily checks (anniversary, inactive, no_referrals) as of `now`,
    /// and catches up backfills. A missed day is caught up; running it twice
    /// changes nothing the second time.
    pub async fn sweep(&self, program: &str, now: DateTime<Utc>) -> Result<SweepReport> {
        // Fire times are recorded as `now`; ahead of the clock they would
        // outlast the activity that should re-arm inactivity checks.
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
        self.each_page(
            program,
            now,
            |state, cfg| !runtime::sweep_due(state, cfg, now).is_empty(),
            |page, cfg| runtime::sweep(page, cfg, now),
        )
        .await
    }

    /// Sweeps every program.
    pub async fn sweep_all(&self, now: DateTime<Utc>) -> Result<Vec<SweepReport>> {
        let mut reports = Vec::new();
        for program in self.programs().await? {
            reports.push(self.sweep(&program.key, now).await?);
        }
        Ok(reports)
    }

    /// Fires `automations` once for every partner already past their condition.
    pub(super) async fn backfill(
        &self,
        program: &str,
        automations: &[Automation],
        now: DateTime<Utc>,
    ) -> Result<SweepReport> {
        let refs: Vec<&Automation> = automations.iter().collect();
        self.each_page(
            program,
            now,
            |state, _| !runtime::backfill_due(state, &refs).is_empty(),
            |page, _| runtime::backfill(page, &refs, now),
        )
        .await
    }

    /// Walks the program's partners a page at a time, one transaction a page:
    /// reads what decides whether anything is due, then loads in full and hands
    /// to `work` only the partners something is due for.
    async fn each_page(
        &self,
        program: &str,
        now: DateTime<Utc>,
        due: impl Fn(&PartnerState, &runtime::RuntimeConfig) -> bool,
        work: impl Fn(Vec<PartnerState>, &runtime::RuntimeConfig) -> Workspace,
    ) -> Result<SweepReport> {
        let mut report = SweepReport {
            program: program.to_owned(),
            at: now,
            partners: 0,
            fired: 0,
            tag_changes: 0,
        };
        let mut after: Option<String> = None;
        loop {
            // Events keep flowing between pages.
            let mut tx = self.store.runtime(program).await?;
            let cfg = self.runtime_config(tx.as_mut(), program).await?;
            let page = tx.partners_after(after.as_deref(), PAGE).await?;
            let last = page.len() < PAGE;
            after = page.last().map(|p| p.partner.key.clone());
            report.partners += page.len() as u64;
            let due_keys: Vec<&str> = page
                .iter()
                .filter(|s| due(s, &cfg))
                .map(|s| s.partner.key.as_str())
                .collect();
            let full = if due_keys.is_empty() {
                Vec::new()
            } else {
                tx.partners(&due_keys).await?
            };
            let ws = work(full, &cfg);
            report.fired += ws.writes.fired;
            report.tag_changes += ws.writes.tag_changes.len() as u64;
            tx.write(&ws).await?;
            tx.commit().await?;
            if last {
                return Ok(report);
            }
        }
    }
}
