//! Taking in a batch of events.

use std::collections::HashSet;

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

/// Joins, then customer products, then everything else: neither fires an
/// automation, and taking them first makes a batch read the same as when they
/// came in an earlier batch (a sale dated a moment before its product's record
/// matches it either way).
fn phase(event: &Event) -> u8 {
    match event {
        Event::PartnerJoined { .. } => 0,
        Event::CustomerProductUpserted { .. } => 1,
        _ => 2,
    }
}

/// Events at the same instant go in the order they happen in: who the partner
/// is, then the signup, then the purchase. A batch then reads the same however
/// its lines are ordered.
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
        let (fresh, rejected) = event::parse_batch(body, format, now);
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
        events.sort_by_key(|r| (phase(&r.event), r.event.at(), rank(&r.event), r.line));

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
