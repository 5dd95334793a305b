//! The daily checks (`anniversary`, `inactive`, `no_referrals`): when each
//! comes due for a partner.
//!
//! A check fires at the moment it comes due (join, last activity or last
//! referral plus its days), once the engine has seen time pass that moment
//! for the partner: a sweep run as of a later time, or a later event of the
//! partner. So the checks follow the partner's history, whatever order its
//! events came in, up to the last sweep: the same events give the same tags.

use chrono::{DateTime, Duration, Utc};

use super::config::RuntimeConfig;
use crate::spec::{Automation, Trigger};
use crate::store::record::PartnerState;

/// When `automation` (a daily check) next comes due for the partner, or
/// `None` when it cannot: an anniversary that fired, an inactivity or
/// no-referral check that fired and was not re-armed by activity or a
/// referral since.
pub fn due_at(automation: &Automation, state: &PartnerState) -> Option<DateTime<Utc>> {
    let fired = state.fires.get(&automation.key);
    let stats = &state.partner.stats;
    let (from, days) = match &automation.when {
        Trigger::Anniversary(d) => {
            if fired.is_some() {
                return None;
            }
            (state.partner.joined_at, d.days)
        }
        Trigger::Inactive(d) => {
            if fired.is_some_and(|f| f >= stats.last_activity_at) {
                return None;
            }
            (stats.last_activity_at, d.days)
        }
        Trigger::NoReferrals(d) => {
            if fired.is_some_and(|f| f >= stats.last_referral_at) {
                return None;
            }
            (stats.last_referral_at, d.days)
        }
        _ => return None,
    };
    from.checked_add_signed(Duration::days(i64::from(days.get())))
}

/// The daily checks due for the partner by `up_to`, in the order they came
/// due (then by key): a catch-up tags as daily sweeps would have, a 14-day
/// check's tag before the 30-day check that replaces it; and the earliest
/// due after `up_to`, which is the next due date when none is due by then.
pub fn due_by<'a>(
    cfg: &'a RuntimeConfig,
    state: &PartnerState,
    up_to: DateTime<Utc>,
) -> (Vec<(DateTime<Utc>, &'a Automation)>, Option<DateTime<Utc>>) {
    let mut due: Vec<(DateTime<Utc>, &Automation)> = Vec::new();
    let mut later: Option<DateTime<Utc>> = None;
    for a in cfg.daily_checks() {
        match due_at(a, state) {
            Some(d) if d <= up_to => due.push((d, a)),
            Some(d) => later = Some(later.map_or(d, |l| l.min(d))),
            None => {}
        }
    }
    due.sort_by(|a, b| (a.0, &a.1.key).cmp(&(b.0, &b.1.key)));
    (due, later)
}

/// When the partner's next daily check comes due: what the sweep's index
/// holds.
pub fn next_due(cfg: &RuntimeConfig, state: &PartnerState) -> Option<DateTime<Utc>> {
    cfg.daily_checks().filter_map(|a| due_at(a, state)).min()
}
