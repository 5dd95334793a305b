//! One batch of events against what the store holds of the partners,
//! customers and transactions they touch.
//!
//! Events go in order of `at` (ties by kind, then id). Each first changes the
//! customer's side (referral, product records, transactions, refunds: see
//! [`super::attribution`]), then the partner's history through the fold. An
//! event later than everything its partner has seen takes the fast path: it
//! is folded into the partner as loaded. An event dated before what the
//! partner has seen, or a late signup or product record that changes an
//! earlier transaction, marks the partner for a replay of its whole history
//! once the batch is written; whatever the fast path did for that partner in
//! this batch is dropped, since the replay redoes it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::attribution::{self, Attribution};
use super::config::RuntimeConfig;
use super::fold::{Book, Effects, Entry, Fold, Item, Joined};
use crate::engine::event::{Event, PartnerInfo, Received, RefundInfo, TransactionInfo};
use crate::engine::ledger;
use crate::spec::{Money, TransactionKind};
use crate::store::record::{
    Customer, CustomerProduct, LedgerLine, LineKind, LineNet, Mark, NewLine, PartnerState,
    RefundRecord, StoredEvent, TagChange, TransactionRecord, Upsert,
};

/// What a batch read, and what it changed.
#[derive(Debug, Default)]
pub struct Workspace {
    pub partners: HashMap<String, PartnerState>,
    /// Partners who have not joined (or not as far as the store knows) but
    /// have history stored: their join replays it.
    pub waiting_partners: HashSet<String>,
    pub customers: HashMap<String, Customer>,
    /// Product records by external subscription key.
    pub subscriptions: HashMap<String, Vec<CustomerProduct>>,
    pub transactions: HashMap<String, TransactionRecord>,
    /// Transaction keys of customers whose signup, products or first-seen
    /// time may change in this batch.
    pub by_customer: HashMap<String, BTreeSet<String>>,
    /// Refunds by transaction key.
    pub refunds: HashMap<String, Vec<RefundRecord>>,
    pub refund_keys: HashSet<String>,
    /// What each (partner, trigger, installment) of a transaction nets now,
    /// by transaction key.
    pub nets: HashMap<String, Vec<LineNet>>,
    /// Partners to replay, with the earliest event that made them late.
    pub replay: BTreeMap<String, Mark>,
    pub out: Out,
}

/// What a batch writes.
#[derive(Debug, Default)]
pub struct Out {
    pub events: Vec<StoredEvent>,
    pub partners: BTreeSet<String>,
    pub customers: BTreeSet<String>,
    /// (subscription key, product).
    pub products: BTreeSet<(String, String)>,
    pub transactions: BTreeSet<String>,
    pub refunds: BTreeMap<String, RefundRecord>,
    /// The fast path's work, per partner.
    pub buckets: HashMap<String, Bucket>,
    pub waiting: Waiting,
}

/// The fast path's work for one partner, dropped if the partner is replayed.
#[derive(Debug, Default)]
pub struct Bucket {
    pub fx: Effects,
    pub lines: Vec<NewLine>,
}

/// What of a batch waits for something still to come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Waiting {
    /// Transactions with no partner: their customer's referral signup has
    /// not arrived (or came after them).
    pub signup: usize,
    /// Transactions whose subscription key matched no product record.
    pub product: usize,
    /// Events of partners who have not joined.
    pub partner: usize,
    /// Refunds of transactions that have not arrived.
    pub transaction: usize,
}

impl Workspace {
    pub fn tag_changes(&self) -> impl Iterator<Item = &TagChange> {
        self.out
            .buckets
            .values()
            .flat_map(|b| b.fx.tag_changes.iter())
    }

    pub fn lines(&self) -> impl Iterator<Item = &NewLine> {
        self.out.buckets.values().flat_map(|b| b.lines.iter())
    }

    pub fn fired(&self) -> u64 {
        self.out.buckets.values().map(|b| b.fx.fired).sum()
    }
}

/// The customers' side of a partner's firings in the fast path.
struct WorkspaceBook<'w> {
    partner: &'w str,
    customers: &'w mut HashMap<String, Customer>,
    written: &'w mut BTreeSet<String>,
}

impl Book for WorkspaceBook<'_> {
    fn bought(&mut self, customer: &str) -> bool {
        let Some(c) = self.customers.get_mut(customer) else {
            return false;
        };
        let new = c.bought_through.insert(self.partner.to_owned());
        if new {
            self.written.insert(customer.to_owned());
        }
        new
    }

    fn tag(&mut self, customer: &str, tag: &str) -> bool {
        self.customers
            .get_mut(customer)
            .is_some_and(|c| c.tags.insert(tag.to_owned()))
    }
}

/// Runs one batch's events, in order. Returns, per event, why it was refused
/// (`None`: accepted).
pub struct Batch<'a> {
    pub fold: Fold<'a>,
    pub now: DateTime<Utc>,
}

impl Batch<'_> {
    fn cfg(&self) -> &RuntimeConfig {
        self.fold.cfg
    }

    /// Applies one event. An `Err` is the reason it is refused; it then has
    /// had no effect.
    pub fn apply(&self, ws: &mut Workspace, received: &Received) -> Result<(), String> {
        let event = &received.event;
        let mark = event.mark();
        let at = event.at();
        let stored = |subject: Option<&str>| StoredEvent {
            id: event.id().to_owned(),
            kind: event.type_name(),
            at,
            subject: subject.map(str::to_owned),
            body: received.raw.clone(),
        };
        match event {
            Event::PartnerJoined { partner: info, .. } => {
                self.declared_group(info)?;
                ws.out.events.push(stored(Some(&info.key)));
                let entry = Entry {
                    mark,
                    item: Item::Joined(info.clone()),
                };
                if ws.partners.contains_key(&info.key) {
                    self.partner_item(ws, &info.key, entry);
                } else if ws.waiting_partners.contains(&info.key) {
                    // Their history came first: build them from all of it.
                    mark_replay(ws, &info.key, &entry.mark);
                } else {
                    ws.partners
                        .insert(info.key.clone(), Fold::create(info, at, self.cfg().exp));
                    ws.out
                        .buckets
                        .entry(info.key.clone())
                        .or_default()
                        .fx
                        .joined
                        .push(Joined {
                            partner: info.key.clone(),
                            event_id: Some(event.id().to_owned()),
                            at,
                        });
                    self.partner_item(ws, &info.key, entry);
                }
            }
            Event::PartnerUpdated { partner: info, .. } => {
                self.declared_group(info)?;
                ws.out.events.push(stored(Some(&info.key)));
                let entry = Entry {
                    mark,
                    item: Item::Updated(info.clone()),
                };
                self.partner_or_wait(ws, &info.key, entry);
            }
            Event::PartnerActive { partner, .. } => {
                ws.out.events.push(stored(Some(&partner.key)));
                let entry = Entry {
                    mark,
                    item: Item::Active,
                };
                self.partner_or_wait(ws, &partner.key, entry);
            }
            Event::CustomerSignedUp {
                customer, partner, ..
            } => self.signed_up(ws, &customer.key, &partner.key, mark, stored(None))?,
            Event::CustomerProductUpserted {
                customer,
                product,
                status,
                external_subscription_key: key,
                partner,
                ..
            } => {
                if !self.cfg().products.contains_key(product) {
                    return Err(format!(
                        "product `{product}` is not in the program's config"
                    ));
                }
                if let Some(other) = ws
                    .subscriptions
                    .get(key)
                    .and_then(|r| r.iter().find(|r| r.customer != customer.key))
                {
                    return Err(format!(
                        "external_subscription_key `{key}` belongs to customer `{}`",
                        other.customer
                    ));
                }
                ws.out.events.push(stored(None));
                let records = ws.subscriptions.entry(key.clone()).or_default();
                let record = match records.iter().position(|r| r.product == *product) {
                    Some(i) => &mut records[i],
                    None => {
                        records.push(CustomerProduct {
                            external_subscription_key: key.clone(),
                            customer: customer.key.clone(),
                            product: product.clone(),
                            status: *status,
                            partner: None,
                            created_at: at,
                            updated_at: at,
                            statuses: Default::default(),
                        });
                        records.last_mut().expect("just pushed")
                    }
                };
                record.record(Upsert {
                    at,
                    event: event.id().to_owned(),
                    status: *status,
                    partner: partner.as_ref().map(|p| p.key.clone()),
                });
                ws.out.products.insert((key.clone(), product.clone()));
                self.seen_customer(ws, &customer.key, at, &mark);
                self.reattribute(ws, &customer.key, Some(key), &mark);
            }
            Event::TransactionCreated { transaction, .. } => {
                self.transaction(ws, transaction, at, event.id(), stored(None))?;
            }
            Event::TransactionRefunded { refund, .. } => {
                self.refund(ws, refund, at, event.id(), stored(None))?;
            }
        }
        Ok(())
    }

    /// Partner rules match groups by key, so a group the config does not
    /// declare would pass every `none_of` unnoticed.
    fn declared_group(&self, info: &PartnerInfo) -> Result<(), String> {
        let groups = &self.cfg().config.groups;
        match &info.group {
            Some(Some(g)) if !groups.iter().any(|d| &d.key == g) => {
                let hint = crate::suggest::did_you_mean(g, groups.iter().map(|d| d.key.as_str()))
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                Err(format!(
                    "group `{g}` is not declared in the program's config{hint}"
                ))
            }
            _ => Ok(()),
        }
    }

    fn partner_or_wait(&self, ws: &mut Workspace, partner: &str, entry: Entry) {
        if ws.partners.contains_key(partner) {
            self.partner_item(ws, partner, entry);
        } else {
            ws.waiting_partners.insert(partner.to_owned());
            ws.out.waiting.partner += 1;
        }
    }

    /// A customer seen at `at`: first seen then, if that is earlier than known.
    /// Their transactions' customer age moves with it.
    fn seen_customer(&self, ws: &mut Workspace, key: &str, at: DateTime<Utc>, cause: &Mark) {
        let c = ws
            .customers
            .entry(key.to_owned())
            .or_insert_with(|| Customer::new(key));
        if c.signed_up_at.is_none_or(|s| at < s) {
            let moved = c.signed_up_at.is_some();
            c.signed_up_at = Some(at);
            ws.out.customers.insert(key.to_owned());
            if moved {
                self.reattribute(ws, key, None, cause);
            }
        }
    }

    fn signed_up(
        &self,
        ws: &mut Workspace,
        customer: &str,
        partner: &str,
        mark: Mark,
        stored: StoredEvent,
    ) -> Result<(), String> {
        let at = stored.at;
        if let Some(c) = ws.customers.get(customer)
            && let (Some(referrer), Some(referral)) = (&c.partner, &c.referral)
            && *referral < mark
        {
            return Err(format!(
                "customer `{customer}` already signed up through partner `{referrer}`"
            ));
        }
        ws.out.events.push(stored);
        let c = ws
            .customers
            .entry(customer.to_owned())
            .or_insert_with(|| Customer::new(customer));
        // The earliest signup is the referral; one dated earlier than the
        // referral known takes its place.
        let old = c.partner.replace(partner.to_owned());
        c.referral = Some(mark.clone());
        ws.out.customers.insert(customer.to_owned());
        if let Some(old) = old {
            mark_replay(ws, &old, &mark);
            if old == partner {
                // The partner's signup moved in time.
                self.seen_customer(ws, customer, at, &mark);
                self.reattribute(ws, customer, None, &mark);
                return Ok(());
            }
        }
        self.seen_customer(ws, customer, at, &mark);
        self.reattribute(ws, customer, None, &mark);
        let entry = Entry {
            mark,
            item: Item::Signup {
                customer: customer.to_owned(),
            },
        };
        self.partner_or_wait(ws, partner, entry);
        Ok(())
    }

    /// Attributes the customer's transactions again (those on `key` only,
    /// when given): where the partner, product or product facts change, both
    /// partners are replayed.
    fn reattribute(&self, ws: &mut Workspace, customer: &str, key: Option<&str>, cause: &Mark) {
        let Some(keys) = ws.by_customer.get(customer) else {
            return;
        };
        let keys: Vec<String> = keys.iter().cloned().collect();
        for k in keys {
            let Some(t) = ws.transactions.get(&k) else {
                continue;
            };
            if key.is_some_and(|key| t.subscription_key.as_deref() != Some(key)) {
                continue;
            }
            let records = t
                .subscription_key
                .as_ref()
                .and_then(|s| ws.subscriptions.get(s))
                .map_or(&[][..], Vec::as_slice);
            let now = attribution::attribute(ws.customers.get(customer), records, t);
            let before = Attribution::of(t);
            if now == before {
                continue;
            }
            let partners: BTreeSet<String> = before
                .partner
                .iter()
                .chain(now.partner.iter())
                .cloned()
                .collect();
            let t = ws.transactions.get_mut(&k).expect("just read");
            now.set(t);
            ws.out.transactions.insert(k);
            for p in partners {
                mark_replay(ws, &p, cause);
            }
        }
    }

    fn transaction(
        &self,
        ws: &mut Workspace,
        info: &TransactionInfo,
        at: DateTime<Utc>,
        event_id: &str,
        stored: StoredEvent,
    ) -> Result<(), String> {
        if ws.transactions.contains_key(&info.key) {
            return Err(format!("transaction `{}` was already recorded", info.key));
        }
        ws.out.events.push(stored);
        let mut t = TransactionRecord {
            key: info.key.clone(),
            customer: info.customer.clone(),
            amount: info.amount,
            subscription_key: info.subscription_key.clone(),
            kind: info.kind.unwrap_or(TransactionKind::OneTime),
            at,
            event_id: Some(event_id.to_owned()),
            partner: None,
            product: None,
            revision: self.cfg().revision,
            seen: Default::default(),
            refunded: Money::zero(info.amount.exp()),
        };
        let mark = t.mark();
        self.seen_customer(ws, &info.customer, at, &mark);
        if let Some(c) = ws.customers.get_mut(&info.customer)
            && t.amount.is_positive()
            && c.first_purchase_at.is_none_or(|f| at < f)
        {
            c.first_purchase_at = Some(at);
            ws.out.customers.insert(info.customer.clone());
        }
        // Refunds that came before it.
        let mut attached = Vec::new();
        if let Some(waiting) = ws.refunds.get_mut(&t.key) {
            waiting.sort_by_key(RefundRecord::mark);
            for r in waiting.iter_mut().filter(|r| !r.applied) {
                if r.amount.minor() <= t.refundable().minor() {
                    r.applied = true;
                    t.refunded = Money::new(t.refunded.minor() + r.amount.minor(), t.amount.exp());
                    attached.push(r.clone());
                    ws.out.refunds.insert(r.key.clone(), r.clone());
                }
            }
        }
        let records = t
            .subscription_key
            .as_ref()
            .and_then(|s| ws.subscriptions.get(s))
            .map_or(&[][..], Vec::as_slice);
        attribution::attribute(ws.customers.get(&info.customer), records, &t).set(&mut t);
        if t.partner.is_none() {
            ws.out.waiting.signup += 1;
        }
        if t.subscription_key.is_some() && t.product.is_none() {
            ws.out.waiting.product += 1;
        }
        ws.by_customer
            .entry(t.customer.clone())
            .or_default()
            .insert(t.key.clone());
        ws.out.transactions.insert(t.key.clone());
        let partner = t.partner.clone();
        ws.transactions.insert(t.key.clone(), t.clone());
        if let Some(p) = partner {
            let entry = Entry {
                mark,
                item: Item::Sale(Box::new(t.clone())),
            };
            self.partner_or_wait(ws, &p, entry);
            for r in attached {
                let entry = Entry {
                    mark: r.mark(),
                    item: Item::Refund {
                        transaction: t.key.clone(),
                        amount: r.amount,
                    },
                };
                self.partner_or_wait(ws, &p, entry);
            }
        }
        Ok(())
    }

    fn refund(
        &self,
        ws: &mut Workspace,
        info: &RefundInfo,
        at: DateTime<Utc>,
        event_id: &str,
        stored: StoredEvent,
    ) -> Result<(), String> {
        if ws.refund_keys.contains(&info.key) {
            return Err(format!("refund `{}` was already recorded", info.key));
        }
        let mut record = RefundRecord {
            key: info.key.clone(),
            transaction: info.transaction.clone(),
            amount: info.amount,
            at,
            event_id: event_id.to_owned(),
            applied: false,
        };
        let mut partner = None;
        if let Some(t) = ws.transactions.get_mut(&info.transaction) {
            let left = t.refundable();
            if info.amount > left {
                return Err(format!(
                    "refund `{}` of {} is more than what remains of transaction `{}`: {left}",
                    info.key, info.amount, info.transaction
                ));
            }
            t.refunded = Money::new(t.refunded.minor() + info.amount.minor(), t.amount.exp());
            record.applied = true;
            ws.out.transactions.insert(t.key.clone());
            partner.clone_from(&t.partner);
        } else {
            ws.out.waiting.transaction += 1;
        }
        ws.out.events.push(stored);
        ws.refund_keys.insert(record.key.clone());
        ws.out.refunds.insert(record.key.clone(), record.clone());
        let mark = record.mark();
        ws.refunds
            .entry(info.transaction.clone())
            .or_default()
            .push(record);
        if let Some(p) = partner {
            let entry = Entry {
                mark,
                item: Item::Refund {
                    transaction: info.transaction.clone(),
                    amount: info.amount,
                },
            };
            self.partner_or_wait(ws, &p, entry);
        }
        Ok(())
    }

    /// Folds an item into a partner on the fast path, or marks the partner
    /// for a replay when the item is late.
    fn partner_item(&self, ws: &mut Workspace, partner: &str, entry: Entry) {
        if ws.replay.contains_key(partner) {
            return;
        }
        let Some(state) = ws.partners.get_mut(partner) else {
            return;
        };
        let late = state.mark.as_ref().is_some_and(|m| entry.mark < *m)
            || state.last_fire_at.is_some_and(|f| entry.at() < f);
        if late {
            mark_replay(ws, partner, &entry.mark);
            return;
        }
        let bucket = ws.out.buckets.entry(partner.to_owned()).or_default();
        let mut book = WorkspaceBook {
            partner,
            customers: &mut ws.customers,
            written: &mut ws.out.customers,
        };
        self.fold.apply(state, &entry, &mut book, &mut bucket.fx);
        ws.out.partners.insert(partner.to_owned());
        let sales: Vec<_> = bucket.fx.sales.drain(..).collect();
        for sale in sales {
            let key = sale.transaction.key.clone();
            let nets = ws.nets.entry(key.clone()).or_default();
            let lines = ledger::lines(
                partner,
                &sale.transaction,
                &sale.earnings,
                nets,
                LineKind::Adjustment,
                None,
                self.now,
            );
            ledger::add_to_nets(nets, &lines);
            bucket.lines.extend(lines);
            ws.transactions.insert(key, sale.transaction);
        }
        if let Item::Refund { transaction, .. } = &entry.item
            && let Some(t) = ws.transactions.get(transaction)
        {
            let earnings = self.fold.earnings(t);
            let nets = ws.nets.entry(transaction.clone()).or_default();
            let lines = ledger::lines(
                partner,
                t,
                &earnings,
                nets,
                LineKind::Reversal,
                Some(entry.event_id()),
                self.now,
            );
            ledger::add_to_nets(nets, &lines);
            bucket.lines.extend(lines);
        }
    }
}

/// Marks a partner for a replay of its history after the batch is written,
/// and drops what the fast path did for it in this batch.
pub fn mark_replay(ws: &mut Workspace, partner: &str, cause: &Mark) {
    ws.replay
        .entry(partner.to_owned())
        .and_modify(|m| {
            if cause < m {
                *m = cause.clone();
            }
        })
        .or_insert_with(|| cause.clone());
    ws.out.partners.remove(partner);
    ws.out.buckets.remove(partner);
}

/// Ledger lines as read back, with their status, for listing.
pub fn with_status(
    mut lines: Vec<LedgerLine>,
    now: DateTime<Utc>,
    hold_days: u32,
    tz: chrono_tz::Tz,
) -> Vec<LedgerLine> {
    for l in &mut lines {
        l.status = l.status_at(now, hold_days);
        l.due_on = Some(crate::engine::commission::local_date(l.due_at, tz));
    }
    lines
}
