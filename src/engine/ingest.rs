//! Taking in a batch of events: read it, load what it touches, run it, write
//! it, replay the partners it made late, all in one transaction.

use std::collections::{BTreeSet, HashSet};

use chrono::Utc;

use super::event::{self, BatchFormat, Event, EventNote, IngestReport, Received};
use super::runtime::batch::{Batch, Workspace};
use super::runtime::fold::{Fold, Joined, Notified, Pricing};
use super::runtime::replay;
use super::{Engine, Error, Result};
use crate::store::record::RefundRecord;
use crate::store::{RuntimeTx, Writes};

fn note(r: &Received, reason: Option<String>) -> EventNote {
    EventNote {
        line: r.line,
        id: Some(r.event.id().to_owned()),
        reason,
    }
}

/// The keys a batch names.
#[derive(Default)]
struct Keys {
    partners: BTreeSet<String>,
    customers: BTreeSet<String>,
    /// Customers whose signup or products arrive: their transactions may
    /// be attributed again.
    reattributed: BTreeSet<String>,
    subscriptions: BTreeSet<String>,
    transactions: BTreeSet<String>,
    refunded: BTreeSet<String>,
    refunds: BTreeSet<String>,
}

fn keys(events: &[Received]) -> Keys {
    let mut k = Keys::default();
    for r in events {
        match &r.event {
            Event::PartnerJoined { partner, .. } | Event::PartnerUpdated { partner, .. } => {
                k.partners.insert(partner.key.clone());
            }
            Event::PartnerActive { partner, .. } => {
                k.partners.insert(partner.key.clone());
            }
            Event::CustomerSignedUp {
                customer, partner, ..
            } => {
                k.customers.insert(customer.key.clone());
                k.reattributed.insert(customer.key.clone());
                k.partners.insert(partner.key.clone());
            }
            Event::CustomerProductUpserted {
                customer,
                external_subscription_key,
                partner,
                ..
            } => {
                k.customers.insert(customer.key.clone());
                k.reattributed.insert(customer.key.clone());
                k.subscriptions.insert(external_subscription_key.clone());
                if let Some(p) = partner {
                    k.partners.insert(p.key.clone());
                }
            }
            Event::TransactionCreated { transaction, .. } => {
                k.customers.insert(transaction.customer.clone());
                k.transactions.insert(transaction.key.clone());
                if let Some(s) = &transaction.subscription_key {
                    k.subscriptions.insert(s.clone());
                }
            }
            Event::TransactionRefunded { refund, .. } => {
                k.transactions.insert(refund.transaction.clone());
                k.refunded.insert(refund.transaction.clone());
                k.refunds.insert(refund.key.clone());
            }
        }
    }
    k
}

fn refs(set: &BTreeSet<String>) -> Vec<&str> {
    set.iter().map(String::as_str).collect()
}

/// Reads what a batch touches.
async fn load(tx: &mut dyn RuntimeTx, events: &[Received]) -> Result<Workspace> {
    let mut k = keys(events);
    let mut ws = Workspace::default();
    for p in tx.subscriptions(&refs(&k.subscriptions)).await? {
        k.customers.insert(p.customer.clone());
        // Every seller the record ever named: a transaction is attributed
        // to the seller at its own time.
        k.partners
            .extend(p.statuses.0.iter().filter_map(|u| u.partner.clone()));
        ws.subscriptions
            .entry(p.external_subscription_key.clone())
            .or_default()
            .push(p);
    }
    for t in tx.transactions(&refs(&k.transactions)).await? {
        k.customers.insert(t.customer.clone());
        ws.transactions.insert(t.key.clone(), t);
    }
    for c in tx.customers(&refs(&k.customers)).await? {
        ws.customers.insert(c.key.clone(), c);
    }
    // A customer first seen later than an event of this batch is seen
    // earlier now: their transactions' customer age moves.
    for r in events {
        let customer = match &r.event {
            Event::CustomerSignedUp { customer, .. }
            | Event::CustomerProductUpserted { customer, .. } => Some(&customer.key),
            Event::TransactionCreated { transaction, .. } => Some(&transaction.customer),
            _ => None,
        };
        if let Some(c) = customer
            && ws
                .customers
                .get(c)
                .and_then(|c| c.signed_up_at)
                .is_some_and(|s| r.event.at() < s)
        {
            k.reattributed.insert(c.clone());
        }
    }
    let known: Vec<String> = k
        .reattributed
        .iter()
        .filter(|c| ws.customers.contains_key(*c))
        .cloned()
        .collect();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    for t in tx.transactions_of(&known).await? {
        ws.transactions.entry(t.key.clone()).or_insert(t);
    }
    // Their product records too: attributing them again reads them.
    let more: Vec<String> = ws
        .transactions
        .values()
        .filter_map(|t| t.subscription_key.clone())
        .filter(|s| !k.subscriptions.contains(s))
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    let more: Vec<&str> = more.iter().map(String::as_str).collect();
    for p in tx.subscriptions(&more).await? {
        k.partners
            .extend(p.statuses.0.iter().filter_map(|u| u.partner.clone()));
        ws.subscriptions
            .entry(p.external_subscription_key.clone())
            .or_default()
            .push(p);
    }
    for t in ws.transactions.values() {
        ws.by_customer
            .entry(t.customer.clone())
            .or_default()
            .insert(t.key.clone());
        if let Some(p) = &t.partner {
            k.partners.insert(p.clone());
        }
    }
    for c in ws.customers.values() {
        if let Some(p) = &c.partner {
            k.partners.insert(p.clone());
        }
    }
    for r in tx.refunds_of(&refs(&k.transactions)).await? {
        ws.refund_keys.insert(r.key.clone());
        ws.refunds.entry(r.transaction.clone()).or_default().push(r);
    }
    ws.refund_keys
        .extend(tx.known_refunds(&refs(&k.refunds)).await?);
    let refunded: Vec<&str> = k
        .refunded
        .iter()
        .filter(|t| ws.transactions.contains_key(*t))
        .map(String::as_str)
        .collect();
    for n in tx.nets(&refunded).await? {
        ws.nets.entry(n.transaction.clone()).or_default().push(n);
    }
    for p in tx.partners(&refs(&k.partners)).await? {
        ws.partners.insert(p.partner.key.clone(), p);
    }
    let absent: Vec<&str> = k
        .partners
        .iter()
        .filter(|p| !ws.partners.contains_key(*p))
        .map(String::as_str)
        .collect();
    ws.waiting_partners = tx.partners_with_history(&absent).await?;
    Ok(ws)
}

/// What a batch writes, moved out of the workspace, with the joins and
/// `notify` firings its webhook messages tell of.
fn writes(ws: &mut Workspace) -> (Writes, Vec<Joined>, Vec<Notified>) {
    let out = std::mem::take(&mut ws.out);
    let mut w = Writes {
        events: out.events,
        ..Writes::default()
    };
    w.partners = out
        .partners
        .iter()
        .filter_map(|k| ws.partners.remove(k))
        .collect();
    w.customers = out
        .customers
        .iter()
        .filter_map(|k| ws.customers.remove(k))
        .collect();
    w.products = out
        .products
        .iter()
        .filter_map(|(key, product)| {
            ws.subscriptions
                .get(key)?
                .iter()
                .find(|r| &r.product == product)
                .cloned()
        })
        .collect();
    w.transactions = out
        .transactions
        .iter()
        .filter_map(|k| ws.transactions.remove(k))
        .collect();
    w.refunds = out.refunds.into_values().collect::<Vec<RefundRecord>>();
    // Partners in key order, so two batches write them in one order.
    let mut buckets: Vec<_> = out.buckets.into_iter().collect();
    buckets.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut joined, mut notified) = (Vec::new(), Vec::new());
    for (_, b) in buckets {
        w.tag_changes.extend(b.fx.tag_changes);
        w.lines.extend(b.lines);
        joined.extend(b.fx.joined);
        notified.extend(b.fx.notified);
    }
    ws.out.waiting = out.waiting;
    (w, joined, notified)
}

/// The webhook messages for what `w` changes.
fn with_messages(
    cfg: &super::runtime::RuntimeConfig,
    mut w: Writes,
    joined: &[Joined],
    notified: &[Notified],
    now: chrono::DateTime<Utc>,
) -> Writes {
    w.outbox = super::outbox::messages(
        cfg,
        &super::outbox::Changes {
            partners: &w.partners,
            joined,
            notified,
            tag_changes: &w.tag_changes,
            lines: &w.lines,
            transactions: &w.transactions,
        },
        now,
    );
    w
}

/// Frees `v` on a blocking thread: a batch's workspace and writes are
/// hundreds of thousands of small allocations, and the reply (and the next
/// batch) need not wait for them.
fn free_later<T: Send + 'static>(v: T) {
    tokio::task::spawn_blocking(move || drop(v));
}

impl Engine {
    /// Configs of the revisions transactions were priced under.
    pub(super) async fn pricing(
        &self,
        program: &str,
        revisions: Vec<u64>,
        pricing: &mut Pricing,
    ) -> Result<()> {
        for r in revisions {
            if r > 0 && !pricing.contains_key(&r) {
                pricing.insert(r, self.config_at(program, r).await?);
            }
        }
        Ok(())
    }

    /// Takes a batch of events (a JSON array or NDJSON) for a program: every
    /// good event takes effect and is durable when this returns; duplicates
    /// (ids seen before) and bad events are reported, with their line.
    pub async fn ingest(
        &self,
        program: &str,
        body: &str,
        format: BatchFormat,
    ) -> Result<IngestReport> {
        let now = Utc::now();
        let (fresh, rejected) =
            event::parse_batch(body, format, now).map_err(Error::PayloadTooLarge)?;
        let mut report = IngestReport {
            rejected,
            ..IngestReport::default()
        };
        // Events that did not parse have no type to count them under.
        crate::telemetry::events("unknown", "rejected", report.rejected.len());
        if fresh.is_empty() {
            return Ok(report);
        }
        // Counted once the batch is committed: (type, outcome).
        let mut tally: Vec<(&'static str, &'static str)> = Vec::new();

        let mut tx = self.store.runtime(program).await?;
        let cfg = self.runtime_config(tx.as_mut(), program).await?;
        if cfg.revision == 0 {
            return Err(Error::NotFound(format!(
                "program `{program}` has no config in the engine; apply one before sending its events"
            )));
        }
        // Amounts in the currency's minor unit: more decimals than it has
        // are refused, then they are kept in the program's unit.
        let currency = cfg.config.program.currency.clone();
        let iso = cfg.currency_exp();
        let mut events = Vec::with_capacity(fresh.len());
        for mut r in fresh {
            let converted = r
                .event
                .to_minor_units(iso, &currency)
                .and_then(|()| r.event.to_minor_units(cfg.exp, &currency));
            match converted {
                Ok(()) => events.push(r),
                Err(reason) => {
                    tally.push((r.event.type_name(), "rejected"));
                    report.rejected.push(note(&r, Some(reason)));
                }
            }
        }
        let ids: Vec<&str> = events.iter().map(|r| r.event.id()).collect();
        let seen = tx.seen_events(&ids).await?;
        let (dups, mut events): (Vec<Received>, Vec<Received>) = events
            .into_iter()
            .partition(|r| seen.contains(r.event.id()));
        report.duplicates.extend(dups.iter().map(|r| note(r, None)));
        tally.extend(dups.iter().map(|r| (r.event.type_name(), "duplicate")));
        events.sort_by(|a, b| {
            a.event
                .mark()
                .cmp(&b.event.mark())
                .then(a.line.cmp(&b.line))
        });

        let mut ws = load(tx.as_mut(), &events).await?;
        let mut pricing = Pricing::new();
        pricing.insert(cfg.revision, cfg.clone());
        let revisions = ws.transactions.values().map(|t| t.revision).collect();
        self.pricing(program, revisions, &mut pricing).await?;
        let batch = Batch {
            fold: Fold {
                cfg: &cfg,
                pricing: &pricing,
            },
            now,
        };
        // An id twice in the batch is a duplicate of the one that took
        // effect; after a refused one, the next with its id still counts.
        let mut accepted = HashSet::new();
        for r in &events {
            if accepted.contains(r.event.id()) {
                tally.push((r.event.type_name(), "duplicate"));
                report.duplicates.push(note(r, None));
                continue;
            }
            match batch.apply(&mut ws, r) {
                Ok(()) => {
                    tally.push((r.event.type_name(), "accepted"));
                    report.accepted += 1;
                    accepted.insert(r.event.id());
                }
                Err(reason) => {
                    tally.push((r.event.type_name(), "rejected"));
                    report.rejected.push(note(r, Some(reason)));
                }
            }
        }
        let (w, joined, notified) = writes(&mut ws);
        let w = with_messages(&cfg, w, &joined, &notified, now);
        tx.write(&w).await?;
        report.replayed = ws.replay.len();
        if !ws.replay.is_empty() {
            let swept = tx.swept_through().await?;
            for (partner, cause) in &ws.replay {
                let history = tx.history(partner).await?;
                let revisions = history
                    .transactions
                    .iter()
                    .chain(&history.others)
                    .map(|t| t.revision)
                    .collect();
                self.pricing(program, revisions, &mut pricing).await?;
                let fold = Fold {
                    cfg: &cfg,
                    pricing: &pricing,
                };
                let (w, joined, notified) =
                    replay::rebuild(&fold, partner, &history, cause, swept, now);
                let w = with_messages(&cfg, w, &joined, &notified, now);
                tx.write(&w).await?;
            }
        }
        tx.commit().await?;
        for (kind, outcome) in tally {
            crate::telemetry::events(kind, outcome, 1);
        }
        let waiting = ws.out.waiting;
        free_later((ws, w, pricing));
        report.waiting = event::Waiting {
            signup: waiting.signup,
            product: waiting.product,
            partner: waiting.partner,
            transaction: waiting.transaction,
        };
        report.rejected.sort_by_key(|n| n.line);
        report.duplicates.sort_by_key(|n| n.line);
        Ok(report)
    }
}
