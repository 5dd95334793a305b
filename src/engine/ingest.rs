//! Taking in a batch of events.

use std::collections::HashSet;

use chrono::Utc;

use super::event::{self, Event, EventNote, IngestReport, Received};
use super::runtime::{self, state::Workspace};
use super::{Engine, Error, Result};

fn note(r: &Received, reason: Option<String>) -> EventNote {
    EventNote {
        line: r.line,
        id: Some(r.event.id().to_owned()),
        reason,
    }
}

impl Engine {
    /// Takes a batch of events (a JSON array or NDJSON) for a program: every
    /// good event takes effect and is durable when this returns; duplicates
    /// (ids seen before) and bad events are reported, with their line.
    pub async fn ingest(&self, program: &str, body: &str) -> Result<IngestReport> {
        let now = Utc::now();
        let (received, rejected) = event::parse_batch(body, now);
        let mut report = IngestReport {
            rejected,
            ..IngestReport::default()
        };
        let mut ids = HashSet::new();
        let mut fresh = Vec::with_capacity(received.len());
        for r in received {
            if ids.insert(r.event.id().to_owned()) {
                fresh.push(r);
            } else {
                report.duplicates.push(note(&r, None));
            }
        }
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
        // Joins first, then in time order: a batch reads the same however its
        // lines are ordered, and the same as when the join came in an earlier
        // batch.
        events.sort_by_key(|r| {
            (
                !matches!(r.event, Event::PartnerJoined { .. }),
                r.event.at(),
                r.line,
            )
        });

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

        for r in &events {
            match runtime::apply(&mut ws, &cfg, r, now) {
                Ok(()) => report.accepted += 1,
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
