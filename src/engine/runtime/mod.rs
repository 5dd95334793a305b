//! The automation runtime: what each event does to partners, customers and tags,
//! which automations fire, and the daily checks.
//!
//! Everything here works on a [`Workspace`] in memory; the store loads it and
//! writes the result in one transaction, so a batch or a sweep page takes
//! effect whole or not at all, and the logic is plain functions that tests can
//! drive without a database.

pub mod state;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::commission;
use super::event::{Event, KeyRef, PartnerInfo, Received, TransactionInfo};
use super::partner::{Partner, Stats};
use crate::spec::{
    Action, Automation, CommissionTrigger, Config, Metric, Money, Product, TransactionKind, Trigger,
};
use state::{
    Cause, Customer, CustomerProduct, PartnerState, StoredEvent, Subject, TagChange,
    TransactionRecord, Workspace,
};

/// A program's config, indexed for the runtime.
#[derive(Debug)]
pub struct RuntimeConfig {
    pub revision: u64,
    pub config: Config,
    pub timezone: chrono_tz::Tz,
    /// Enabled automations, by key.
    automations: Vec<Automation>,
    pub products: HashMap<String, Product>,
}

impl RuntimeConfig {
    pub fn new(revision: u64, config: Config) -> RuntimeConfig {
        let timezone = config.program.timezone.parse().unwrap_or(chrono_tz::UTC);
        let mut automations: Vec<Automation> = config
            .automations
            .iter()
            .filter(|a| a.enabled)
            .cloned()
            .collect();
        automations.sort_by(|a, b| a.key.cmp(&b.key));
        let products = config
            .products
            .iter()
            .map(|p| (p.key.clone(), p.clone()))
            .collect();
        RuntimeConfig {
            revision,
            config,
            timezone,
            automations,
            products,
        }
    }

    /// A program with no config yet: events are recorded, nothing fires.
    pub fn empty(program: &str) -> RuntimeConfig {
        RuntimeConfig::new(
            0,
            Config::new(crate::spec::Program {
                key: program.to_owned(),
                name: program.to_owned(),
                currency: "USD".to_owned(),
                timezone: "UTC".to_owned(),
            }),
        )
    }

    fn matching<'a>(
        &'a self,
        pick: impl Fn(&Trigger) -> bool + 'a,
    ) -> impl Iterator<Item = &'a Automation> + 'a {
        self.automations.iter().filter(move |a| pick(&a.when))
    }

    pub fn triggers(&self) -> impl Iterator<Item = &CommissionTrigger> {
        self.config.commission_triggers.iter().filter(|t| t.enabled)
    }

    pub fn daily_checks(&self) -> impl Iterator<Item = &Automation> {
        self.matching(Trigger::is_daily_check)
    }

    /// Event-style automations with `backfill: true`; the sweep catches them up.
    pub fn backfills(&self) -> impl Iterator<Item = &Automation> {
        self.automations.iter().filter(|a| {
            a.backfill && !a.when.is_daily_check() && !matches!(a.when, Trigger::Sale(_))
        })
    }
}

/// Shared, immutable: one per program revision.
pub type SharedConfig = Arc<RuntimeConfig>;

/// The keys a batch touches, so the store loads exactly those.
#[derive(Debug, Default)]
pub struct Needs {
    pub partners: BTreeSet<String>,
    pub customers: BTreeSet<String>,
    pub subscriptions: BTreeSet<String>,
    pub transactions: BTreeSet<String>,
}

pub fn needs(events: &[Received]) -> Needs {
    let mut n = Needs::default();
    for r in events {
        match &r.event {
            Event::PartnerJoined { partner, .. } | Event::PartnerUpdated { partner, .. } => {
                n.partners.insert(partner.key.clone());
            }
            Event::PartnerActive { partner, .. } => {
                n.partners.insert(partner.key.clone());
            }
            Event::CustomerSignedUp {
                customer, partner, ..
            } => {
                n.customers.insert(customer.key.clone());
                n.partners.insert(partner.key.clone());
            }
            Event::CustomerProductUpserted {
                customer,
                external_subscription_key,
                partner,
                ..
            } => {
                n.customers.insert(customer.key.clone());
                n.subscriptions.insert(external_subscription_key.clone());
                if let Some(p) = partner {
                    n.partners.insert(p.key.clone());
                }
            }
            Event::TransactionCreated { transaction, .. } => {
                n.customers.insert(transaction.customer.clone());
                n.transactions.insert(transaction.key.clone());
                if let Some(s) = &transaction.subscription_key {
                    n.subscriptions.insert(s.clone());
                }
            }
        }
    }
    n
}

/// What made automations fire, for the tag history.
struct Occasion<'a> {
    event_id: Option<&'a str>,
    at: DateTime<Utc>,
    /// The customer of the triggering sale, for `tag_customer`.
    customer: Option<&'a str>,
}

/// Fires `automations` for a partner, in ascending key order.
fn fire(ws: &mut Workspace, mut automations: Vec<&Automation>, partner: &str, occasion: &Occasion) {
    automations.sort_by(|a, b| a.key.cmp(&b.key));
    automations.dedup_by(|a, b| a.key == b.key);
    fire_in_order(ws, automations, partner, occasion);
}

/// Fires `automations` for a partner in the order given.
fn fire_in_order(
    ws: &mut Workspace,
    automations: Vec<&Automation>,
    partner: &str,
    occasion: &Occasion,
) {
    for automation in automations {
        for action in &automation.then {
            let (subject_kind, subject, added) = match action {
                Action::AddTag(_) => (Subject::Partner, partner, true),
                Action::RemoveTag(_) => (Subject::Partner, partner, false),
                Action::TagCustomer(_) => match occasion.customer {
                    Some(c) => (Subject::Customer, c, true),
                    None => continue,
                },
            };
            let tag = action.tag();
            let changed = match subject_kind {
                Subject::Partner => ws.partners.get_mut(subject).is_some_and(|p| {
                    if added {
                        p.partner.tags.insert(tag.to_owned())
                    } else {
                        p.partner.tags.remove(tag)
                    }
                }),
                Subject::Customer => ws
                    .customers
                    .get_mut(subject)
                    .is_some_and(|c| c.tags.insert(tag.to_owned())),
            };
            if changed {
                if subject_kind == Subject::Partner {
                    // The partner's row carries its tags.
                    ws.writes.partners.insert(subject.to_owned());
                }
                ws.writes.tag_changes.push(TagChange {
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

        ws.writes.fired += 1;
        // `sale` fires every time; the record is for once-only and re-arming
        // triggers, and lives on the partner's row.
        if !matches!(automation.when, Trigger::Sale(_))
            && let Some(p) = ws.partners.get_mut(partner)
        {
            p.fires.insert(automation.key.clone(), occasion.at);
            ws.writes.partners.insert(partner.to_owned());
        }
    }
}

fn has_fired(ws: &Workspace, automation: &Automation, partner: &str) -> bool {
    ws.partners
        .get(partner)
        .is_some_and(|p| p.fires.contains_key(&automation.key))
}

/// Milestone automations on `metric` that this change crossed (from `before`
/// to the partner's value now): all of them, when one event crosses several.
/// A partner already past a threshold when its automation was added is not
/// "reaching" it; `backfill: true` is for them. The fire record guards a
/// revenue threshold crossed again after a refund.
fn milestones_crossed<'a>(
    ws: &Workspace,
    cfg: &'a RuntimeConfig,
    partner: &str,
    metric: Metric,
    before: i64,
) -> Vec<&'a Automation> {
    let Some(p) = ws.partners.get(partner) else {
        return Vec::new();
    };
    let now = p.partner.metric(metric);
    cfg.automations
        .iter()
        .filter(|a| match &a.when {
            Trigger::Milestone(m) if m.metric == metric => {
                before < m.at_least.hundredths() && now >= m.at_least.hundredths()
            }
            _ => false,
        })
        .filter(|a| !p.fires.contains_key(&a.key))
        .collect()
}

fn once<'a>(
    ws: &Workspace,
    cfg: &'a RuntimeConfig,
    partner: &str,
    trigger: &Trigger,
) -> Vec<&'a Automation> {
    cfg.automations
        .iter()
        .filter(|a| a.when == *trigger && !has_fired(ws, a, partner))
        .collect()
}

fn partner_mut<'w>(ws: &'w mut Workspace, key: &str) -> Result<&'w mut PartnerState, String> {
    ws.partners.get_mut(key).ok_or_else(|| {
        format!("partner `{key}` has not joined; send its partner.joined event first")
    })
}

fn touch(ws: &mut Workspace, key: &str) {
    ws.writes.partners.insert(key.to_owned());
}

/// Applies one event. An `Err` is the reason the event is refused; it then has
/// had no effect.
pub fn apply(
    ws: &mut Workspace,
    cfg: &RuntimeConfig,
    received: &Received,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let event = &received.event;
    let at = event.at();
    let occasion = Occasion {
        event_id: Some(event.id()),
        at,
        customer: None,
    };
    match event {
        Event::PartnerJoined { partner, .. } => joined(ws, cfg, partner, &occasion)?,
        Event::PartnerUpdated { partner, .. } => {
            declared_group(cfg, partner)?;
            let p = partner_mut(ws, &partner.key)?;
            if let Some(g) = &partner.group {
                p.partner.group.clone_from(g);
            }
            if partner.name.is_some() {
                p.partner.name.clone_from(&partner.name);
            }
            if partner.email.is_some() {
                p.partner.email.clone_from(&partner.email);
            }
            touch(ws, &partner.key);
        }
        Event::PartnerActive { partner, .. } => {
            let p = partner_mut(ws, &partner.key)?;
            p.partner.stats.last_activity_at = p.partner.stats.last_activity_at.max(at);
            touch(ws, &partner.key);
        }
        Event::CustomerSignedUp {
            customer, partner, ..
        } => signed_up(ws, cfg, customer, partner, &occasion)?,
        Event::CustomerProductUpserted {
            customer,
            product,
            status,
            external_subscription_key,
            partner,
            ..
        } => {
            if !cfg.products.contains_key(product) {
                return Err(format!(
                    "product `{product}` is not in the program's config"
                ));
            }
            if let Some(p) = partner {
                partner_mut(ws, &p.key)?;
            }
            if let Some(existing) = ws.subscriptions.get(external_subscription_key)
                && existing.customer != customer.key
            {
                return Err(format!(
                    "external_subscription_key `{external_subscription_key}` belongs to customer `{}`",
                    existing.customer
                ));
            }
            seen_customer(ws, &customer.key, at);
            let record = ws
                .subscriptions
                .entry(external_subscription_key.clone())
                .or_insert_with(|| CustomerProduct {
                    external_subscription_key: external_subscription_key.clone(),
                    customer: customer.key.clone(),
                    product: product.clone(),
                    status: *status,
                    partner: None,
                    created_at: at,
                    updated_at: at,
                    statuses: state::StatusHistory::default(),
                });
            // Out of order: an older upsert never overwrites a newer one, but
            // its status takes its place in the history.
            record.record_status(at, *status);
            if at >= record.updated_at {
                record.product.clone_from(product);
                if partner.is_some() {
                    record.partner = partner.as_ref().map(|p| p.key.clone());
                }
                record.updated_at = at;
            }
            record.created_at = record.created_at.min(at);
            ws.writes
                .subscriptions
                .insert(external_subscription_key.clone());
        }
        Event::TransactionCreated { transaction, .. } => {
            sale(ws, cfg, transaction, at, event.id(), now)?
        }
    }
    ws.writes.events.push(StoredEvent {
        id: event.id().to_owned(),
        kind: event.type_name(),
        at,
        body: received.raw.clone(),
    });
    Ok(())
}

fn joined(
    ws: &mut Workspace,
    cfg: &RuntimeConfig,
    info: &PartnerInfo,
    occasion: &Occasion,
) -> Result<(), String> {
    let at = occasion.at;
    declared_group(cfg, info)?;
    if let Some(existing) = ws.partners.get_mut(&info.key) {
        // Joined again (a resend with a new id, or out of order): the earliest
        // join counts; nothing fires twice.
        let p = &mut existing.partner;
        p.joined_at = p.joined_at.min(at);
        if let Some(g) = &info.group {
            p.group.clone_from(g);
        }
        if info.name.is_some() {
            p.name.clone_from(&info.name);
        }
        if info.email.is_some() {
            p.email.clone_from(&info.email);
        }
        touch(ws, &info.key);
        return Ok(());
    }
    ws.partners.insert(
        info.key.clone(),
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
                    revenue: Money::ZERO,
                    last_activity_at: at,
                    last_referral_at: at,
                },
                first_signup_at: None,
                first_sale_at: None,
                first_commission_at: None,
            },
            fires: state::Fires::default(),
        },
    );
    touch(ws, &info.key);
    let firing = once(ws, cfg, &info.key, &Trigger::PartnerJoined);
    fire(ws, firing, &info.key, occasion);
    Ok(())
}

/// Partner rules match groups by key, so a group the config does not declare
/// would pass every `none_of` unnoticed.
fn declared_group(cfg: &RuntimeConfig, info: &PartnerInfo) -> Result<(), String> {
    match &info.group {
        Some(Some(g)) if !cfg.config.groups.iter().any(|d| &d.key == g) => {
            let hint =
                crate::suggest::did_you_mean(g, cfg.config.groups.iter().map(|d| d.key.as_str()))
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
            Err(format!(
                "group `{g}` is not declared in the program's config{hint}"
            ))
        }
        _ => Ok(()),
    }
}

/// The customer, created when first seen; marked for writing only when its row
/// changes (new, or seen earlier than known).
fn seen_customer<'w>(ws: &'w mut Workspace, key: &str, at: DateTime<Utc>) -> &'w mut Customer {
    let c = ws
        .customers
        .entry(key.to_owned())
        .or_insert_with(|| Customer {
            key: key.to_owned(),
            partner: None,
            signed_up_at: None,
            first_purchase_at: None,
            tags: BTreeSet::new(),
            bought_through: BTreeSet::new(),
        });
    if c.signed_up_at.is_none_or(|s| at < s) {
        c.signed_up_at = Some(at);
        ws.writes.customers.insert(key.to_owned());
    }
    c
}

fn signed_up(
    ws: &mut Workspace,
    cfg: &RuntimeConfig,
    customer: &KeyRef,
    partner: &KeyRef,
    occasion: &Occasion,
) -> Result<(), String> {
    let at = occasion.at;
    partner_mut(ws, &partner.key)?;
    if let Some(c) = ws.customers.get(&customer.key)
        && let Some(referrer) = &c.partner
    {
        return Err(format!(
            "customer `{}` already signed up through partner `{referrer}`",
            customer.key
        ));
    }
    seen_customer(ws, &customer.key, at).partner = Some(partner.key.clone());
    ws.writes.customers.insert(customer.key.clone());
    let p = partner_mut(ws, &partner.key)?;
    let signups_before = p.partner.metric(Metric::Signups);
    let stats = &mut p.partner.stats;
    stats.signups += 1;
    stats.last_activity_at = stats.last_activity_at.max(at);
    stats.last_referral_at = stats.last_referral_at.max(at);
    let first = p.partner.first_signup_at.is_none();
    p.partner.first_signup_at = Some(p.partner.first_signup_at.map_or(at, |f| f.min(at)));
    touch(ws, &partner.key);
    let mut firing = if first {
        once(ws, cfg, &partner.key, &Trigger::FirstSignup)
    } else {
        Vec::new()
    };
    firing.extend(milestones_crossed(
        ws,
        cfg,
        &partner.key,
        Metric::Signups,
        signups_before,
    ));
    fire(ws, firing, &partner.key, occasion);
    Ok(())
}

fn sale(
    ws: &mut Workspace,
    cfg: &RuntimeConfig,
    t: &TransactionInfo,
    at: DateTime<Utc>,
    event_id: &str,
    now: DateTime<Utc>,
) -> Result<(), String> {
    if ws.known_transactions.contains(&t.key) {
        return Err(format!("transaction `{}` was already recorded", t.key));
    }
    // A subscription of another customer is no match (explain says why).
    let product = t
        .subscription_key
        .as_ref()
        .and_then(|s| ws.subscriptions.get(s))
        .filter(|p| p.customer == t.customer)
        .cloned();
    let referrer = ws
        .customers
        .get(&t.customer)
        .and_then(|c| c.partner.clone());
    let partner = product
        .as_ref()
        .and_then(|p| p.partner.clone())
        .or(referrer);
    if let Some(p) = &partner {
        let revenue = partner_mut(ws, p)?.partner.stats.revenue.cents();
        if revenue.checked_add(t.amount.cents()).is_none() {
            return Err(format!(
                "partner `{p}`'s revenue would pass what an amount can hold"
            ));
        }
    }
    seen_customer(ws, &t.customer, at);
    let kind = t.kind.unwrap_or(TransactionKind::OneTime);
    let mut record = TransactionRecord {
        key: t.key.clone(),
        customer: t.customer.clone(),
        amount: t.amount,
        subscription_key: t.subscription_key.clone(),
        kind,
        at,
        partner: partner.clone(),
        product: product.as_ref().map(|p| p.product.clone()),
        revision: cfg.revision,
        seen: state::Seen {
            product_status: product.as_ref().map(|p| p.status_at(at)),
            product_created_at: product.as_ref().map(|p| p.created_at),
            customer_since: ws.customers.get(&t.customer).and_then(|c| c.signed_up_at),
            ..state::Seen::default()
        },
    };
    ws.known_transactions.insert(t.key.clone());
    let Some(partner) = partner else {
        ws.writes.transactions.push(record);
        return Ok(());
    };
    // A refund (a negative amount) or a zero one counts in revenue and in
    // commissions, but is not a sale: no first sale, no customer, no `sale`.
    let is_sale = t.amount.cents() > 0;
    let p = partner_mut(ws, &partner)?;
    let revenue_before = p.partner.metric(Metric::Revenue);
    let customers_before = p.partner.metric(Metric::Customers);
    let first_sale = is_sale && p.partner.first_sale_at.is_none();
    if is_sale {
        p.partner.first_sale_at = Some(p.partner.first_sale_at.map_or(at, |f| f.min(at)));
    }
    p.partner.stats.revenue = Money(
        p.partner
            .stats
            .revenue
            .cents()
            .saturating_add(t.amount.cents()),
    );
    record.seen.partner_group.clone_from(&p.partner.group);
    record.seen.partner_tags = p.partner.tags.iter().cloned().collect();
    touch(ws, &partner);
    let mut new_customer = false;
    if is_sale && let Some(c) = ws.customers.get_mut(&t.customer) {
        new_customer = c.bought_through.insert(partner.clone());
        let first = c.first_purchase_at.is_none_or(|f| at < f);
        if first {
            c.first_purchase_at = Some(at);
        }
        if new_customer || first {
            ws.writes.customers.insert(t.customer.clone());
        }
    }
    if new_customer {
        partner_mut(ws, &partner)?.partner.stats.customers += 1;
    }

    let commissions = commission::evaluate(cfg, &record, now);
    ws.writes.transactions.push(record);
    let earned = commissions.iter().any(|c| c.amount.cents() > 0);
    ws.writes.commissions.extend(commissions);
    let p = partner_mut(ws, &partner)?;
    let first_commission = earned && p.partner.first_commission_at.is_none();
    if earned {
        p.partner.first_commission_at =
            Some(p.partner.first_commission_at.map_or(at, |f| f.min(at)));
    }

    let mut firing = Vec::new();
    if first_sale {
        firing.extend(once(ws, cfg, &partner, &Trigger::FirstSale));
    }
    if first_commission {
        firing.extend(once(ws, cfg, &partner, &Trigger::FirstCommission));
    }
    firing.extend(milestones_crossed(
        ws,
        cfg,
        &partner,
        Metric::Revenue,
        revenue_before,
    ));
    if new_customer {
        firing.extend(milestones_crossed(
            ws,
            cfg,
            &partner,
            Metric::Customers,
            customers_before,
        ));
    }
    firing.extend(cfg.matching(move |trig| match trig {
        Trigger::Sale(s) => is_sale && s.kinds.as_ref().is_none_or(|k| k.contains(&kind)),
        _ => false,
    }));
    let occasion = Occasion {
        event_id: Some(event_id),
        at,
        customer: Some(&t.customer),
    };
    fire(ws, firing, &partner, &occasion);
    Ok(())
}

/// Whole days from `from` to `to`.
pub fn whole_days(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_days()
}

/// Whether a daily check fires for a partner at `now`: anniversaries once ever;
/// inactivity and no-referral checks once per quiet spell, re-armed by activity
/// or a referral after they fired.
pub fn daily_check_due(automation: &Automation, state: &PartnerState, now: DateTime<Utc>) -> bool {
    let fired = state.fires.get(&automation.key);
    let fired = fired.as_ref();
    let stats = &state.partner.stats;
    match &automation.when {
        Trigger::Anniversary(d) => {
            fired.is_none() && whole_days(state.partner.joined_at, now) >= i64::from(d.days.get())
        }
        Trigger::Inactive(d) => {
            whole_days(stats.last_activity_at, now) >= i64::from(d.days.get())
                && fired.is_none_or(|f| *f < stats.last_activity_at)
        }
        Trigger::NoReferrals(d) => {
            whole_days(stats.last_referral_at, now) >= i64::from(d.days.get())
                && fired.is_none_or(|f| *f < stats.last_referral_at)
        }
        _ => false,
    }
}

/// Fires what is due for each partner of a page: the workspace holds only the
/// partners something fired for, ready to be written.
fn fire_due<'a>(
    page: Vec<PartnerState>,
    now: DateTime<Utc>,
    due: impl Fn(&PartnerState) -> Vec<&'a Automation>,
) -> Workspace {
    let mut ws = Workspace::default();
    let occasion = Occasion {
        event_id: None,
        at: now,
        customer: None,
    };
    for state in page {
        let firing = due(&state);
        if firing.is_empty() {
            continue;
        }
        let key = state.partner.key.clone();
        ws.partners.insert(key.clone(), state);
        fire_in_order(&mut ws, firing, &key, &occasion);
    }
    ws
}

/// When a daily check came due for a partner: the moment its days were up.
fn came_due(automation: &Automation, state: &PartnerState) -> Option<DateTime<Utc>> {
    let stats = &state.partner.stats;
    let (from, days) = match &automation.when {
        Trigger::Anniversary(d) => (state.partner.joined_at, d.days),
        Trigger::Inactive(d) => (stats.last_activity_at, d.days),
        Trigger::NoReferrals(d) => (stats.last_referral_at, d.days),
        _ => return None,
    };
    from.checked_add_signed(chrono::Duration::days(i64::from(days.get())))
}

/// The daily checks due for a partner, in the order they came due (then by
/// key), so a sweep that catches up on missed days tags as the daily sweeps
/// would have: a 14-day check's tag before the 30-day check that replaces
/// it. Then backfills not yet caught up, by key.
pub fn sweep_due<'a>(
    state: &PartnerState,
    cfg: &'a RuntimeConfig,
    now: DateTime<Utc>,
) -> Vec<&'a Automation> {
    let mut firing: Vec<&Automation> = cfg
        .daily_checks()
        .filter(|a| daily_check_due(a, state, now))
        .collect();
    firing.sort_by(|a, b| (came_due(a, state), &a.key).cmp(&(came_due(b, state), &b.key)));
    let mut backfills: Vec<&Automation> = cfg
        .backfills()
        .filter(|a| !state.fires.contains_key(&a.key) && state.partner.is_past(&a.when))
        .collect();
    backfills.sort_by(|a, b| a.key.cmp(&b.key));
    firing.extend(backfills);
    firing
}

/// Runs the daily checks, and catches up backfills, for one page of the sweep.
pub fn sweep(page: Vec<PartnerState>, cfg: &RuntimeConfig, now: DateTime<Utc>) -> Workspace {
    fire_due(page, now, |state| sweep_due(state, cfg, now))
}

/// Automations of `automations` a backfill fires for a partner.
pub fn backfill_due<'a>(
    state: &PartnerState,
    automations: &[&'a Automation],
) -> Vec<&'a Automation> {
    let mut due: Vec<&Automation> = automations
        .iter()
        .copied()
        .filter(|a| !state.fires.contains_key(&a.key) && state.partner.is_past(&a.when))
        .collect();
    due.sort_by(|a, b| a.key.cmp(&b.key));
    due.dedup_by(|a, b| a.key == b.key);
    due
}

/// Fires `automations` once for every partner of a page already past their
/// condition (apply's backfill).
pub fn backfill(
    page: Vec<PartnerState>,
    automations: &[&Automation],
    now: DateTime<Utc>,
) -> Workspace {
    fire_due(page, now, |state| backfill_due(state, automations))
}

/// The partners the transactions of a batch are attributed to (the product's
/// partner, else the customer's referrer), once customers and products are loaded.
pub fn sellers(events: &[Received], ws: &Workspace) -> BTreeSet<String> {
    events
        .iter()
        .filter_map(|r| match &r.event {
            Event::TransactionCreated { transaction, .. } => transaction
                .subscription_key
                .as_ref()
                .and_then(|s| ws.subscriptions.get(s))
                .filter(|p| p.customer == transaction.customer)
                .and_then(|p| p.partner.clone())
                .or_else(|| {
                    ws.customers
                        .get(&transaction.customer)
                        .and_then(|c| c.partner.clone())
                }),
            _ => None,
        })
        .collect()
}
