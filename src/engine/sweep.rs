//! The daily checks, and backfills, over all partners a page at a time so
//! memory does not grow with their number.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::runtime::{self, state::Workspace};
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
        self.each_page(program, now, true, |ws, cfg| runtime::sweep(ws, cfg, now))
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
        self.each_page(program, now, false, |ws, _| {
            runtime::backfill(ws, &refs, now)
        })
        .await
    }

    async fn each_page(
        &self,
        program: &str,
        now: DateTime<Utc>,
        record_sweep: bool,
        work: impl Fn(&mut Workspace, &runtime::RuntimeConfig),
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
            // One transaction per page: events keep flowing between pages.
            let mut tx = self.store.runtime(program).await?;
            let cfg = self.runtime_config(tx.as_mut(), program).await?;
            let page = tx.partners_after(after.as_deref(), PAGE).await?;
            let last = page.len() < PAGE;
            after = page.last().map(|p| p.partner.key.clone());
            report.partners += page.len() as u64;
            let mut ws = Workspace {
                partners: page
                    .into_iter()
                    .map(|p| (p.partner.key.clone(), p))
                    .collect(),
                ..Workspace::default()
            };
            work(&mut ws, &cfg);
            report.fired += ws.writes.fires.len() as u64;
            report.tag_changes += ws.writes.tag_changes.len() as u64;
            if last && record_sweep {
                ws.writes.sweep_at = Some(now);
            }
            tx.write(&ws).await?;
            tx.commit().await?;
            if last {
                return Ok(report);
            }
        }
    }
}
