//! Payouts: what the finance team pays partners. A payout takes every
//! approved line no payout holds, of every partner whose approved net is at
//! least the program's minimum and above zero; the rest is carried over.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::outbox::payload::{PartnerRef, PayoutLine};
use crate::engine::{Engine, Error, Result};
use crate::spec::Money;
use crate::spec::money::Total;
use crate::store::PayoutRule;
use crate::store::record::{Payout, PayoutPartner, PlanRows, PlanWindow};

/// What `payouts create` would pay now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PayoutPlan {
    pub program: String,
    pub as_of: DateTime<Utc>,
    pub hold_days: u32,
    pub minimum: Money,
    pub currency: String,
    /// Partners a payout would pay, with the approved net of each.
    pub partners: Vec<PayoutPartner>,
    pub total: Total,
    /// Partners with approved lines whose net is below the minimum (or not
    /// above zero): carried over to a later payout.
    pub carried_over: Vec<PayoutPartner>,
}

/// A payout plan as [`Engine::payout_plan_window`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutPlanWindow {
    pub hold_days: u32,
    pub minimum: Money,
    pub currency: String,
    /// What the partners paid add up to.
    pub total: Total,
    pub rows: PlanRows,
}

/// One payout with what it paid each partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PayoutDetail {
    pub payout: Payout,
    pub partners: Vec<PayoutPartner>,
}

impl Engine {
    /// The rule a payout follows as of `as_of`: the program's hold and
    /// minimum.
    async fn payout_rule(
        &self,
        program: &str,
        as_of: DateTime<Utc>,
    ) -> Result<(PayoutRule, String)> {
        if as_of > Utc::now() + crate::engine::event::MAX_FUTURE {
            return Err(Error::BadRequest(format!(
                "cannot pay as of {}: that is in the future",
                as_of.to_rfc3339()
            )));
        }
        let cfg = self.current_config(program).await?;
        if cfg.revision == 0 {
            return Err(Error::NotFound(format!(
                "program `{program}` has no config in the engine"
            )));
        }
        let payouts = cfg.config.program.payouts;
        let minimum = payouts
            .minimum
            .in_minor_units(cfg.exp)
            .unwrap_or(payouts.minimum);
        Ok((
            PayoutRule {
                as_of,
                hold_days: payouts.hold_days,
                minimum: minimum.minor(),
            },
            cfg.config.program.currency.clone(),
        ))
    }

    pub async fn payout_plan(&self, program: &str, as_of: DateTime<Utc>) -> Result<PayoutPlan> {
        let page = self.payout_plan_window(program, as_of, None).await?;
        Ok(PayoutPlan {
            program: program.to_owned(),
            as_of,
            hold_days: page.hold_days,
            minimum: page.minimum,
            currency: page.currency,
            total: page.total,
            partners: page.rows.paid.rows,
            carried_over: page.rows.carried.rows,
        })
    }

    /// A payout plan's counts and totals with the rows of `window` only
    /// (every row when `None`): a page of the dashboard, where a plan can
    /// pay every partner of the program.
    pub async fn payout_plan_window(
        &self,
        program: &str,
        as_of: DateTime<Utc>,
        window: Option<PlanWindow>,
    ) -> Result<PayoutPlanWindow> {
        let (rule, currency) = self.payout_rule(program, as_of).await?;
        let exp = self.current_config(program).await?.exp;
        let rows = self.store.payout_plan(program, rule, window).await?;
        let mut total = Total::zero(exp);
        total.add_minor(i128::from(rows.paid.amount));
        Ok(PayoutPlanWindow {
            hold_days: rule.hold_days,
            minimum: Money::new(rule.minimum, exp),
            currency,
            total,
            rows,
        })
    }

    /// Records a payout of what is approved as of `as_of`; `None` when
    /// nothing is payable.
    pub async fn create_payout(
        &self,
        program: &str,
        as_of: DateTime<Utc>,
    ) -> Result<Option<PayoutDetail>> {
        let (rule, _) = self.payout_rule(program, as_of).await?;
        let cfg = self.current_config(program).await?;
        // payout.created, one per partner paid, written with the payout.
        let messages = |payout: &Payout, paid: &[PayoutPartner]| {
            let lines: Vec<_> = paid
                .iter()
                .map(|p| {
                    (
                        PartnerRef {
                            key: p.partner.clone(),
                            name: p.name.clone(),
                            email: p.email.clone(),
                            group: None,
                        },
                        PayoutLine {
                            payout: payout.id.to_string(),
                            amount: p.amount,
                            currency: payout.currency.clone(),
                            lines: p.lines,
                            as_of: payout.as_of,
                            created_at: payout.created_at,
                        },
                    )
                })
                .collect();
            crate::engine::outbox::payout_created(&cfg.config, &lines, Utc::now())
        };
        let Some(payout) = self.store.create_payout(program, rule, &messages).await? else {
            return Ok(None);
        };
        self.payout(program, payout.id).await.map(Some)
    }

    pub async fn payouts(&self, program: &str) -> Result<Vec<Payout>> {
        self.store.payouts(program).await
    }

    pub async fn payout(&self, program: &str, id: u64) -> Result<PayoutDetail> {
        let (payout, partners) =
            self.store.payout(program, id).await?.ok_or_else(|| {
                Error::NotFound(format!("program `{program}` has no payout {id}"))
            })?;
        Ok(PayoutDetail { payout, partners })
    }
}
