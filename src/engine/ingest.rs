//! Taking in a batch of events.

use std::collections::{HashMap, HashSet};

use chrono::Utc;

use super::event::{self, BatchFormat, Event, EventNote, IngestReport, Received};
use super::runtime::{self, state::Workspace};
use super::{Engine, Error, Result};

fn note(r: &Received, reason: Option<String>) -> EventNote {
    EventNote {
        line: r.line,
        id: Some(r.event.id().to_owned()),
        reason,
    }
}

/// The lines of the upserts that create a customer product the engine does
/// not hold yet (the earliest of the batch for each key). They go right after
/// the joins: creating a record fires nothing, and a sale dated a moment
/// before its product's record then matches it as it would had the record
/// come in an earlier batch. Later upserts (a status, product or seller
/// changing) stay in time order, so they never reach back to earlier sales.
fn creating_upserts(events: &[Received], ws: &Workspace) -> HashSet<usize> {
    let mut first: HashMap<&str, &Received> = HashMap::new();
    for r in events {
        if let Event::CustomerProductUpserted {
            external_subscription_key: key,
            ..
        } = &r.event
            && !ws.subscriptions.contains_key(key)
        {
            let earlier = |a: &Received, b: &Received| {
                (a.event.at(), a.event.id(), a.line) < (b.event.at(), b.event.id(), b.line)
            };
            first
                .entry(key)
                .and_modify(|f| {
                    if earlier(r, f) {
                        *f = r;
                    }
                })
                .or_insert(r);
        }
    }
    first.values().map(|r| r.line).collect()
}

/// Events at the same instant go in the order they happen in: who the partner
/// is, then the signup, then the product, then the purchase.
fn rank(event: &Event) -> u8 {
    match event {
        Event::PartnerJoined { .. } => 0,
        Event::PartnerUpdated { .. } => 1,
        Event::PartnerActive { .. } => 2,
        Event::CustomerSignedUp { .. } => 3,
        Event::CustomerProductUpserted { .. } => 4,
        Event::TransactionCreated { .. } => 5,
    }
}

/// Where an event goes in its batch: joins, then creating upserts, then the
/// rest; by time, then by kind at one instant.
fn order_key<'r>(
    r: &'r Received,
    creating: &HashSet<usize>,
) -> (u8, chrono::DateTime<Utc>, u8, &'r str, usize) {
    let phase = match r.event {
        Event::PartnerJoined { .. } => 0,
        _ if creating.contains(&r.line) => 1,
        _ => 2,
    };
    // The id settles a tie the same whatever the lines' order.
    (phase, r.event.at(), rank(&r.event), r.event.id(), r.line)
}

impl Engine {
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
        if fresh.is_empty() {
            return Ok(report);
        }

        let mut tx = self.store.runtime(program).await?;
        let cfg = self.runtime_config(tx.as_mut(), program).await?;
        if cfg.revision == 0 {
            return Err(Error::NotFound(format!(
                "program `{program}` has no config in the engine; apply one before sending its events"
            )));
        }
        let ids: Vec<&str> = fresh.iter().map(|r| r.event.id()).collect();
        let seen = tx.seen_events(&ids).await?;
        let (dups, mut events): (Vec<Received>, Vec<Received>) =
            fresh.into_iter().partition(|r| seen.contains(r.event.id()));
        report.duplicates.extend(dups.iter().map(|r| note(r, None)));

        let needs = runtime::needs(&events);
        let mut ws = Workspace::default();
        let subs: Vec<&str> = needs.subscriptions.iter().map(String::as_str).collect();
        for s in tx.subscriptions(&subs).await? {
            ws.subscriptions
                .insert(s.external_subscription_key.clone(), s);
        }
        let mut customer_keys = needs.customers.clone();
        customer_keys.extend(ws.subscriptions.values().map(|s| s.customer.clone()));
        let keys: Vec<&str> = customer_keys.iter().map(String::as_str).collect();
        for c in tx.customers(&keys).await? {
            ws.customers.insert(c.key.clone(), c);
        }
        let mut partner_keys = needs.partners.clone();
        partner_keys.extend(runtime::sellers(&events, &ws));
        let keys: Vec<&str> = partner_keys.iter().map(String::as_str).collect();
        for p in tx.partners(&keys).await? {
            ws.partners.insert(p.partner.key.clone(), p);
        }
        let txs: Vec<&str> = needs.transactions.iter().map(String::as_str).collect();
        ws.known_transactions = tx.known_transactions(&txs).await?;

        let creating = creating_upserts(&events, &ws);
        events.sort_by(|a, b| order_key(a, &creating).cmp(&order_key(b, &creating)));

        // An id twice in the batch is a duplicate of the one that took
        // effect; after a refused one, the next with its id still counts.
        let mut accepted = HashSet::new();
        for r in &events {
            if accepted.contains(r.event.id()) {
                report.duplicates.push(note(r, None));
                continue;
            }
            match runtime::apply(&mut ws, &cfg, r, now) {
                Ok(()) => {
                    report.accepted += 1;
                    accepted.insert(r.event.id());
                }
                Err(reason) => report.rejected.push(note(r, Some(reason))),
            }
        }
        tx.write(&ws).await?;
        tx.commit().await?;
        report.rejected.sort_by_key(|n| n.line);
        report.duplicates.sort_by_key(|n| n.line);
        Ok(report)
    }
}
