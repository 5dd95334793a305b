//! What a partner's history makes of them: each event in order changes the
//! partner's stats and fires automations; each attributed sale is priced by
//! the commission triggers as things stood at its time.
//!
//! The same fold runs in two ways. On the fast path an event later than
//! everything the partner has seen is applied to the partner as stored. A
//! late event instead replays the partner's whole history through the fold
//! from nothing, and the difference from what is stored is recorded. Since
//! both are this one fold, the result depends on the events, not on the
//! order they arrived in.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::config::{RuntimeConfig, SharedConfig};
use super::daily;
use crate::engine::commission::{self, Facts};
use crate::engine::event::PartnerInfo;
use crate::engine::ledger::pricing;
use crate::spec::{Action, Automation, Metric, Money, Trigger};
use crate::store::record::{
    Cause, Fires, Mark, Partner, PartnerState, Stats, Subject, TagChange, TransactionRecord,
};

/// One thing that happened to a partner.
#[derive(Debug, Clone)]
pub enum Item {
    Joined(PartnerInfo),
    Updated(PartnerInfo),
    Active,
    /// A referral signup through the partner.
    Signup {
        customer: String,
    },
    /// A transaction attributed to the partner, with its product as it stood
    /// at its time.
    Sale(Box<TransactionRecord>),
    /// Money given back on one of the partner's transactions.
    Refund {
        transaction: String,
        amount: Money,
    },
}

/// An item in its place in the order events take effect.
#[derive(Debug, Clone)]
pub struct Entry {
    pub mark: Mark,
    pub item: Item,
}

impl Entry {
    pub fn at(&self) -> DateTime<Utc> {
        self.mark.at().unwrap_or(DateTime::UNIX_EPOCH)
    }

    /// The event behind it, for the tag history.
    pub fn event_id(&self) -> &str {
        self.mark.id()
    }
}

/// What the fold reads and changes of the partner's customers.
pub trait Book {
    /// Records that `customer` bought through the partner: true when it is
    /// their first purchase through them (a new customer of the partner).
    fn bought(&mut self, customer: &str) -> bool;
    /// Puts `tag` on `customer`: true when they did not have it.
    fn tag(&mut self, customer: &str, tag: &str) -> bool;
}

/// What one trigger earned on one transaction, before refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earning {
    pub trigger: String,
    pub revision: u64,
    pub gross: Money,
    /// The installments with their due dates (one unless dripped).
    pub split: Vec<(Money, DateTime<Utc>)>,
}

/// A sale as the fold priced it: the transaction with what its rules saw.
#[derive(Debug, Clone)]
pub struct SaleOutcome {
    pub transaction: TransactionRecord,
    pub earnings: Vec<Earning>,
}

/// What folding items changed besides the partner.
#[derive(Debug, Default)]
pub struct Effects {
    pub tag_changes: Vec<TagChange>,
    pub sales: Vec<SaleOutcome>,
    /// Automations fired, one per automation and partner.
    pub fired: u64,
    /// Partners created (the batch and a replay that builds a partner for
    /// the first time fill this; the fold itself cannot tell).
    pub joined: Vec<Joined>,
    /// Firings of automations with a `notify` action (webhooks out).
    pub notified: Vec<Notified>,
}

/// A partner's first `partner.joined`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub partner: String,
    pub event_id: Option<String>,
    pub at: DateTime<Utc>,
}

/// An automation with a `notify` action fired for a partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notified {
    pub automation: String,
    pub partner: String,
    /// The event that made it fire; none for the daily checks and backfills.
    pub event_id: Option<String>,
    pub at: DateTime<Utc>,
}

/// Configs by revision, for pricing each transaction under the config it
/// came in under.
pub type Pricing = HashMap<u64, SharedConfig>;

pub struct Fold<'a> {
    /// The config automations run under.
    pub cfg: &'a RuntimeConfig,
    pub pricing: &'a Pricing,
}

/// What made automations fire, for the tag history.
struct Occasion<'a> {
    event_id: Option<&'a str>,
    at: DateTime<Utc>,
    /// The customer of the triggering sale, for `tag_customer`.
    customer: Option<&'a str>,
}

impl Fold<'_> {
    /// A partner as their join makes them, before anything fires.
    pub fn create(info: &PartnerInfo, at: DateTime<Utc>, exp: u8) -> PartnerState {
        PartnerState {
            partner: Partner {
                key: info.key.clone(),
                name: info.name.clone(),
                email: info.email.clone(),
                group: info.group.clone().flatten(),
                joined_at: at,
                tags: BTreeSet::new(),
                stats: Stats {
                    signups: 0,
                    customers: 0,
                    sales: 0,
                    revenue: Money::zero(exp),
                    last_activity_at: at,
                    last_referral_at: at,
                },
                first_signup_at: None,
                first_sale_at: None,
                first_commission_at: None,
            },
            fires: Fires::default(),
            mark: None,
            last_fire_at: None,
            // Not worked out yet: `settle` works it out before the join applies.
            next_due_at: Some(DateTime::UNIX_EPOCH),
        }
    }

    /// Applies one item to the partner: first the daily checks that came due
    /// before it, then the item and the automations it fires.
    pub fn apply(
        &self,
        state: &mut PartnerState,
        entry: &Entry,
        book: &mut dyn Book,
        fx: &mut Effects,
    ) {
        let at = entry.at();
        self.settle(state, at, fx);
        // What the daily checks count from; only `settle` fires them, so
        // when none of these moved the next due date stands (a refund or a
        // profile update then costs no pass over the checks).
        let counted_from = |p: &Partner| {
            (
                p.joined_at,
                p.stats.last_activity_at,
                p.stats.last_referral_at,
            )
        };
        let before = counted_from(&state.partner);
        let occasion = Occasion {
            event_id: Some(entry.event_id()),
            at,
            customer: None,
        };
        match &entry.item {
            Item::Joined(info) => {
                let p = &mut state.partner;
                p.joined_at = p.joined_at.min(at);
                self.update_profile(p, info);
                let firing = self.once(state, &Trigger::PartnerJoined);
                self.fire(state, firing, &occasion, book, fx);
            }
            Item::Updated(info) => self.update_profile(&mut state.partner, info),
            Item::Active => {
                let stats = &mut state.partner.stats;
                stats.last_activity_at = stats.last_activity_at.max(at);
            }
            Item::Signup { .. } => {
                let before = state.partner.clone();
                let p = &mut state.partner;
                p.stats.signups += 1;
                p.stats.last_activity_at = p.stats.last_activity_at.max(at);
                p.stats.last_referral_at = p.stats.last_referral_at.max(at);
                let first = p.first_signup_at.is_none();
                p.first_signup_at = Some(p.first_signup_at.map_or(at, |f| f.min(at)));
                let mut firing = if first {
                    self.once(state, &Trigger::FirstSignup)
                } else {
                    Vec::new()
                };
                firing.extend(self.milestones(state, &before, &[Metric::Signups]));
                self.fire(state, firing, &occasion, book, fx);
            }
            Item::Sale(t) => self.sale(state, t, &occasion, book, fx),
            Item::Refund { amount, .. } => {
                let stats = &mut state.partner.stats;
                stats.revenue = Money::new(
                    stats.revenue.minor().saturating_sub(amount.minor()),
                    stats.revenue.exp(),
                );
            }
        }
        if state.mark.as_ref().is_none_or(|m| entry.mark > *m) {
            state.mark = Some(entry.mark.clone());
        }
        if counted_from(&state.partner) != before {
            state.next_due_at = daily::next_due(self.cfg, state);
        }
    }

    /// Fires the daily checks that came due by `up_to`, each at the moment
    /// it came due.
    ///
    /// `next_due_at` of `None` is a partner none of whose checks can come
    /// due until they are active, refer or join again (see `apply`).
    pub fn settle(&self, state: &mut PartnerState, up_to: DateTime<Utc>, fx: &mut Effects) {
        if state.next_due_at.is_none_or(|d| d > up_to) {
            return;
        }
        let (due, later) = daily::due_by(self.cfg, state, up_to);
        if due.is_empty() {
            state.next_due_at = later;
            return;
        }
        for (due, automation) in due {
            let occasion = Occasion {
                event_id: None,
                at: due,
                customer: None,
            };
            // Never a customer: daily checks have no sale.
            self.fire(state, vec![automation], &occasion, &mut NoBook, fx);
            state.last_fire_at = Some(state.last_fire_at.map_or(due, |l| l.max(due)));
        }
        state.next_due_at = daily::next_due(self.cfg, state);
    }

    /// Fires `automations` for every partner already past their condition
    /// (apply's backfill), at `now`.
    pub fn backfill(
        &self,
        state: &mut PartnerState,
        automations: &[&Automation],
        now: DateTime<Utc>,
        fx: &mut Effects,
    ) {
        let mut due: Vec<&Automation> = automations
            .iter()
            .copied()
            .filter(|a| !state.fires.contains_key(&a.key) && state.partner.is_past(&a.when))
            .collect();
        due.sort_by(|a, b| a.key.cmp(&b.key));
        due.dedup_by(|a, b| a.key == b.key);
        let occasion = Occasion {
            event_id: None,
            at: now,
            customer: None,
        };
        self.fire(state, due, &occasion, &mut NoBook, fx);
    }

    /// The automations `backfill` would fire for the partner.
    pub fn backfill_due(state: &PartnerState, automations: &[&Automation]) -> bool {
        automations
            .iter()
            .any(|a| !state.fires.contains_key(&a.key) && state.partner.is_past(&a.when))
    }

    fn update_profile(&self, p: &mut Partner, info: &PartnerInfo) {
        if let Some(g) = &info.group {
            // A group the config no longer declares is no group.
            p.group = g
                .clone()
                .filter(|g| self.cfg.config.groups.iter().any(|d| &d.key == g));
        }
        if info.name.is_some() {
            p.name.clone_from(&info.name);
        }
        if info.email.is_some() {
            p.email.clone_from(&info.email);
        }
    }

    /// The config a transaction is priced under: the one it came in under.
    fn priced(&self, revision: u64) -> &RuntimeConfig {
        self.pricing.get(&revision).map_or(self.cfg, |c| c.as_ref())
    }

    /// What each trigger of the transaction's revision earns on it, with the
    /// facts it records.
    pub fn earnings(&self, t: &TransactionRecord) -> Vec<Earning> {
        let cfg = self.priced(t.revision);
        if t.partner.is_none() {
            return Vec::new();
        }
        let facts = Facts::new(cfg, t);
        cfg.triggers()
            .filter(|trigger| commission::fires(trigger, &facts))
            .map(|trigger| {
                let gross = pricing::commission_amount(trigger.commission, t.amount);
                let n = trigger.drip.map_or(1, |d| d.installments);
                Earning {
                    trigger: trigger.key.clone(),
                    revision: t.revision,
                    gross,
                    split: pricing::installments(gross, n, t.at, cfg.timezone),
                }
            })
            .collect()
    }

    fn sale(
        &self,
        state: &mut PartnerState,
        t: &TransactionRecord,
        occasion: &Occasion,
        book: &mut dyn Book,
        fx: &mut Effects,
    ) {
        let before = state.partner.clone();
        let mut t = t.clone();
        t.seen.partner_group.clone_from(&state.partner.group);
        t.seen.partner_tags = state.partner.tags.iter().cloned().collect();
        // A zero transaction counts in revenue and in commissions, but is
        // not a sale: no first sale, no customer, no `sale`.
        let is_sale = t.amount.is_positive();
        let p = &mut state.partner;
        p.stats.revenue = Money::new(
            p.stats.revenue.minor().saturating_add(t.amount.minor()),
            p.stats.revenue.exp().max(t.amount.exp()),
        );
        let mut first_sale = false;
        if is_sale {
            p.stats.sales += 1;
            first_sale = p.first_sale_at.is_none();
            p.first_sale_at = Some(p.first_sale_at.map_or(t.at, |f| f.min(t.at)));
            if book.bought(&t.customer) {
                p.stats.customers += 1;
            }
        }
        let earnings = self.earnings(&t);
        let earned = earnings.iter().any(|e| e.gross.is_positive());
        let first_commission = earned && p.first_commission_at.is_none();
        if earned {
            p.first_commission_at = Some(p.first_commission_at.map_or(t.at, |f| f.min(t.at)));
        }

        let mut firing = Vec::new();
        if first_sale {
            firing.extend(self.once(state, &Trigger::FirstSale));
        }
        if first_commission {
            firing.extend(self.once(state, &Trigger::FirstCommission));
        }
        firing.extend(self.milestones(
            state,
            &before,
            &[Metric::Revenue, Metric::Customers, Metric::Sales],
        ));
        let kind = t.kind;
        firing.extend(self.cfg.matching(move |trig| match trig {
            Trigger::Sale(s) => is_sale && s.kinds.as_ref().is_none_or(|k| k.contains(&kind)),
            _ => false,
        }));
        let occasion = Occasion {
            customer: Some(&t.customer),
            ..*occasion
        };
        self.fire(state, firing, &occasion, book, fx);
        fx.sales.push(SaleOutcome {
            transaction: t,
            earnings,
        });
    }

    fn once(&self, state: &PartnerState, trigger: &Trigger) -> Vec<&Automation> {
        self.cfg
            .automations()
            .iter()
            .filter(|a| a.when == *trigger && !state.fires.contains_key(&a.key))
            .collect()
    }

    /// Milestone automations on `metrics` that this change crossed: all of
    /// them, when one event crosses several. A partner already past a
    /// threshold when its automation was added is not "reaching" it
    /// (`backfill: true` is for them). The fire record guards a revenue
    /// threshold crossed again after a refund.
    fn milestones(
        &self,
        state: &PartnerState,
        before: &Partner,
        metrics: &[Metric],
    ) -> Vec<&Automation> {
        self.cfg
            .automations()
            .iter()
            .filter(|a| match &a.when {
                Trigger::Milestone(m) if metrics.contains(&m.metric) => {
                    !before.reaches(m.metric, m.at_least)
                        && state.partner.reaches(m.metric, m.at_least)
                }
                _ => false,
            })
            .filter(|a| !state.fires.contains_key(&a.key))
            .collect()
    }

    /// Fires `automations` for the partner, in ascending key order.
    fn fire(
        &self,
        state: &mut PartnerState,
        mut automations: Vec<&Automation>,
        occasion: &Occasion,
        book: &mut dyn Book,
        fx: &mut Effects,
    ) {
        automations.sort_by(|a, b| a.key.cmp(&b.key));
        automations.dedup_by(|a, b| a.key == b.key);
        let partner = state.partner.key.clone();
        for automation in automations {
            if automation.then.iter().any(|a| a.endpoint().is_some()) {
                fx.notified.push(Notified {
                    automation: automation.key.clone(),
                    partner: partner.clone(),
                    event_id: occasion.event_id.map(str::to_owned),
                    at: occasion.at,
                });
            }
            for action in &automation.then {
                let Some(tag) = action.tag() else { continue };
                let (subject_kind, subject, added, changed) = match action {
                    Action::AddTag(_) => (
                        Subject::Partner,
                        partner.as_str(),
                        true,
                        state.partner.tags.insert(tag.to_owned()),
                    ),
                    Action::RemoveTag(_) => (
                        Subject::Partner,
                        partner.as_str(),
                        false,
                        state.partner.tags.remove(tag),
                    ),
                    Action::TagCustomer(_) => match occasion.customer {
                        Some(c) => (Subject::Customer, c, true, book.tag(c, tag)),
                        None => continue,
                    },
                    Action::Notify(_) => continue,
                };
                if changed {
                    fx.tag_changes.push(TagChange {
                        subject_kind,
                        subject: subject.to_owned(),
                        tag: tag.to_owned(),
                        added,
                        cause_kind: Cause::Automation,
                        cause: automation.key.clone(),
                        event_id: occasion.event_id.map(str::to_owned),
                        at: occasion.at,
                    });
                }
            }
            fx.fired += 1;
            // `sale` fires every time; the record is for once-only and
            // re-arming triggers.
            if !matches!(automation.when, Trigger::Sale(_)) {
                state.fires.insert(automation.key.clone(), occasion.at);
            }
        }
    }
}

/// A book for firings that never involve a customer.
struct NoBook;

impl Book for NoBook {
    fn bought(&mut self, _: &str) -> bool {
        false
    }

    fn tag(&mut self, _: &str, _: &str) -> bool {
        false
    }
}
