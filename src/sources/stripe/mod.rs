//! Stripe as an event source: Stripe's webhook events in, partnerops events
//! out, through the same door as `POST /v1/programs/{program}/events`
//! ([`Engine::ingest`]), so the engine's own checks, ordering and
//! idempotency apply to them.
//!
//! A Stripe event is taken once: the first time, it is mapped
//! ([`mapping`]) and recorded with the partnerops events it became, in one
//! transaction with the records the mapping changed; then those events go to
//! the engine. A Stripe event seen before is not mapped again: its recorded
//! events are sent again, which the engine answers as duplicates (and which
//! finishes the work if a crash came between the two steps).
//!
//! Webhook deliveries arriving together are taken as one batch (one
//! transaction here, one in the engine): a server receiving many at once
//! commits them together rather than one disk flush each.

#[doc(hidden)]
pub mod fixtures;
pub mod import;
pub mod mapping;
pub mod object;
pub mod signature;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::Utc;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::engine::event::BatchFormat;
use crate::engine::{Engine, Error, Result};
use crate::store::stripe::StripeEventRecord;
use mapping::{ProgramView, Records};
use object::{Payload, StripeEvent};

/// What became of a Stripe event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Taken for the first time: mapped, recorded, sent to the engine.
    Processed,
    /// Taken before: nothing was mapped again.
    Duplicate,
    /// Of a type the source does not use, or it made no partnerops event
    /// (`notes` say why).
    Ignored,
    /// Not a Stripe event the source can read (import only; a webhook
    /// delivery that does not read is answered 400).
    Rejected,
}

/// What the engine made of a partnerops event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventResult {
    Accepted,
    Duplicate,
    Rejected,
}

/// A partnerops event a Stripe event became, and what the engine did with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EventOutcome {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub result: EventResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The answer to a Stripe event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Outcome {
    /// Stripe's event id (`evt_...`).
    pub id: String,
    /// Stripe's event type.
    #[serde(rename = "type")]
    pub kind: String,
    pub status: Status,
    /// The partnerops events it became.
    #[serde(default)]
    pub events: Vec<EventOutcome>,
    /// Why it became nothing, or what of it was left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Outcome {
    /// An event of a type the source does not use.
    pub fn unused(id: &str, kind: &str) -> Outcome {
        Outcome {
            id: id.to_owned(),
            kind: kind.to_owned(),
            status: Status::Ignored,
            events: Vec::new(),
            notes: vec![format!(
                "partnerops does not use `{kind}` events (it uses {})",
                object::TYPES.join(", ")
            )],
        }
    }
}

/// A Stripe webhook endpoint's signing secret, as sent to set it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StripeSecret {
    /// `whsec_...`, as Stripe shows it.
    pub secret: String,
}

/// At most this many Stripe events are taken in one batch.
pub const MAX_BATCH: usize = 1_000;

/// Checks a signing secret before it is stored: Stripe's are `whsec_`
/// followed by letters and digits.
pub fn secret_problem(secret: &str) -> Option<String> {
    if !secret.starts_with("whsec_") || secret.len() < 10 {
        return Some(
            "a Stripe signing secret starts with `whsec_` (the endpoint's \"Signing secret\" in Stripe's dashboard, or what `stripe listen` prints)".to_owned(),
        );
    }
    if !secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Some("a Stripe signing secret holds only letters, digits and `_`".to_owned());
    }
    None
}

struct Job {
    program: String,
    event: StripeEvent,
    reply: oneshot::Sender<Result<Outcome>>,
}

struct Inner {
    engine: Engine,
    /// Each program's view for the mapping, rebuilt when its revision moves.
    views: Mutex<HashMap<String, Arc<ProgramView>>>,
}

/// The Stripe source of one engine.
pub struct StripeSource {
    inner: Arc<Inner>,
    /// Deliveries waiting for the worker that batches them (started on the
    /// first delivery, inside the runtime; it ends when the source is dropped).
    queue: OnceLock<mpsc::Sender<Job>>,
}

impl StripeSource {
    pub fn new(engine: Engine) -> StripeSource {
        StripeSource {
            inner: Arc::new(Inner {
                engine,
                views: Mutex::default(),
            }),
            queue: OnceLock::new(),
        }
    }

    /// Stores the program's signing secret, replacing the one before.
    pub async fn set_secret(&self, program: &str, secret: &str) -> Result<()> {
        if let Some(problem) = crate::spec::check::key_problem(program) {
            return Err(Error::BadRequest(format!("program: {problem}")));
        }
        if let Some(problem) = secret_problem(secret) {
            return Err(Error::BadRequest(problem));
        }
        if self.inner.engine.snapshot(program).await?.revision == 0 {
            return Err(no_config(program));
        }
        self.inner
            .engine
            .stripe_store()
            .set_stripe_secret(program, secret)
            .await
    }

    /// Checks a delivery's `Stripe-Signature` header against the program's
    /// secret, at `now` (Unix seconds).
    pub async fn authenticate(
        &self,
        program: &str,
        header: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<()> {
        let secret = self
            .inner
            .engine
            .stripe_store()
            .stripe_secret(program)
            .await?
            .ok_or_else(|| {
                Error::BadRequest(format!(
                    "program `{program}` has no Stripe signing secret: set it with `partnerops sources stripe set-secret`"
                ))
            })?;
        let header = header.ok_or(signature::SignatureError::Missing);
        header
            .and_then(|h| signature::verify(h, body, &secret, now))
            .map_err(|e| Error::BadRequest(e.to_string()))
    }

    /// Takes one webhook delivery, batched with those arriving with it.
    pub async fn deliver(&self, program: &str, event: StripeEvent) -> Result<Outcome> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
            tokio::spawn(work(self.inner.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        let job = Job {
            program: program.to_owned(),
            event,
            reply,
        };
        queue
            .send(job)
            .await
            .map_err(|_| Error::Internal("the Stripe source has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| Error::Internal("the Stripe source stopped mid-event".to_owned()))?
    }

    /// Takes a batch of Stripe events (an import), oldest first as given.
    pub async fn receive(&self, program: &str, events: Vec<StripeEvent>) -> Result<Vec<Outcome>> {
        self.inner.receive(program, events).await
    }

    /// Replays Stripe events as read from a file or an import request (no
    /// signatures): each one unreadable is reported, the others taken.
    pub async fn import(&self, program: &str, texts: &[&str]) -> Result<Vec<Outcome>> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; texts.len()];
        let mut events = Vec::new();
        let mut at = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            match object::read(text) {
                Ok(object::Read::Used(event)) => {
                    events.push(*event);
                    at.push(i);
                }
                Ok(object::Read::Unused { id, kind }) => {
                    outcomes[i] = Some(Outcome::unused(&id, &kind));
                }
                Err(reason) => {
                    outcomes[i] = Some(Outcome {
                        id: import::id_of(text).unwrap_or_default(),
                        kind: String::new(),
                        status: Status::Rejected,
                        events: Vec::new(),
                        notes: vec![reason],
                    });
                }
            }
        }
        for chunk in events.chunks(MAX_BATCH).zip(at.chunks(MAX_BATCH)) {
            let taken = self.inner.receive(program, chunk.0.to_vec()).await?;
            for (outcome, i) in taken.into_iter().zip(chunk.1) {
                outcomes[*i] = Some(outcome);
            }
        }
        Ok(outcomes.into_iter().flatten().collect())
    }
}

fn no_config(program: &str) -> Error {
    Error::NotFound(format!(
        "program `{program}` has no config in the engine; apply one before sending its Stripe events"
    ))
}

/// The worker: takes whatever deliveries are waiting, a batch per program.
async fn work(inner: Arc<Inner>, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let mut by_program: Vec<(String, Vec<Job>)> = Vec::new();
        for job in jobs {
            match by_program.iter_mut().find(|(p, _)| *p == job.program) {
                Some((_, list)) => list.push(job),
                None => by_program.push((job.program.clone(), vec![job])),
            }
        }
        for (program, jobs) in by_program {
            let (events, replies): (Vec<StripeEvent>, Vec<_>) =
                jobs.into_iter().map(|j| (j.event, j.reply)).unzip();
            match inner.receive(&program, events).await {
                Ok(outcomes) => {
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        let _ = reply.send(Ok(outcome));
                    }
                }
                Err(e) => {
                    for reply in replies {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }
}

/// Ids the records of a batch are looked up by.
#[derive(Default)]
struct Needs {
    invoices: HashSet<String>,
    payments: HashSet<String>,
}

fn needs(events: &[&StripeEvent]) -> Needs {
    let mut n = Needs::default();
    for event in events {
        match &event.payload {
            Payload::InvoicePaid(i) => {
                n.invoices.insert(i.id.clone());
                for p in [&i.charge, &i.payment_intent].into_iter().flatten() {
                    n.payments.insert(p.id().to_owned());
                }
            }
            Payload::ChargeRefunded(c) => {
                n.payments.insert(c.id.clone());
                for p in [&c.payment_intent].into_iter().flatten() {
                    n.payments.insert(p.id().to_owned());
                }
                if let Some(i) = &c.invoice {
                    n.invoices.insert(i.id().to_owned());
                }
            }
            Payload::InvoicePaymentPaid(p) => {
                n.invoices.insert(p.invoice.id().to_owned());
                for id in [&p.payment.charge, &p.payment.payment_intent]
                    .into_iter()
                    .flatten()
                {
                    n.payments.insert(id.id().to_owned());
                }
            }
            _ => {}
        }
    }
    n
}

impl Inner {
    async fn view(&self, program: &str, revision: u64) -> Result<Arc<ProgramView>> {
        if let Some(view) = self
            .views
            .lock()
            .expect("views")
            .get(program)
            .filter(|v| v.revision == revision)
        {
            return Ok(view.clone());
        }
        let snapshot = self.engine.snapshot(program).await?;
        let config = snapshot.config().ok_or_else(|| no_config(program))?;
        let view = Arc::new(
            ProgramView::new(snapshot.revision, &config).map_err(|e| Error::Invalid(vec![e]))?,
        );
        self.views
            .lock()
            .expect("views")
            .insert(program.to_owned(), view.clone());
        Ok(view)
    }

    /// Maps and records the new events of a batch in one transaction, then
    /// sends every event's partnerops events to the engine in one request.
    /// Outcomes come in the order of `events`.
    async fn receive(&self, program: &str, events: Vec<StripeEvent>) -> Result<Vec<Outcome>> {
        let mut tx = self.engine.stripe_store().stripe_tx(program).await?;
        let revision = tx.revision().await?;
        if revision == 0 {
            return Err(no_config(program));
        }
        let view = self.view(program, revision).await?;
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let recorded = tx.recorded(&ids).await?;

        let fresh: Vec<&StripeEvent> = events
            .iter()
            .filter(|e| !recorded.contains_key(&e.id))
            .collect();
        let needs = needs(&fresh);
        let mut records = Records::default();
        let payments: Vec<&str> = needs.payments.iter().map(String::as_str).collect();
        let mut invoices: Vec<&str> = needs.invoices.iter().map(String::as_str).collect();
        let links = tx.payments(&payments, &invoices).await?;
        for (payment, invoice) in &links {
            records.payments.insert(payment.clone(), invoice.clone());
        }
        let linked: Vec<&str> = links.iter().map(|(p, _)| p.as_str()).collect();
        invoices.extend(links.iter().map(|(_, i)| i.as_str()));
        invoices.sort_unstable();
        invoices.dedup();
        for invoice in tx.invoices(&invoices).await? {
            records.invoices.insert(invoice.id.clone(), invoice);
        }
        let mut payment_ids = payments.clone();
        payment_ids.extend(linked);
        for charge in tx.charges(&payment_ids, &payment_ids, &invoices).await? {
            records.charges.insert(charge.id.clone(), charge);
        }

        // Oldest first, whatever order the deliveries came in.
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by(|&a, &b| {
            (events[a].created, &events[a].id).cmp(&(events[b].created, &events[b].id))
        });
        let mut outcomes: Vec<Option<Outcome>> = vec![None; events.len()];
        let mut bodies: Vec<Vec<String>> = vec![Vec::new(); events.len()];
        let mut first_of: HashMap<&str, usize> = HashMap::new();
        let mut new_records = Vec::new();
        for i in order {
            let event = &events[i];
            if let Some(record) = recorded.get(&event.id) {
                bodies[i] = record.events.lines().map(str::to_owned).collect();
                outcomes[i] = Some(outcome(event, Status::Duplicate, record.notes.clone()));
                continue;
            }
            if let Some(&first) = first_of.get(event.id.as_str()) {
                bodies[i] = bodies[first].clone();
                outcomes[i] = Some(outcome(event, Status::Duplicate, Vec::new()));
                continue;
            }
            first_of.insert(&event.id, i);
            let mapped = mapping::map(event, &view, &mut records);
            bodies[i] = mapped.events.iter().map(Value::to_string).collect();
            let status = if mapped.events.is_empty() {
                Status::Ignored
            } else {
                Status::Processed
            };
            new_records.push(StripeEventRecord {
                id: event.id.clone(),
                kind: event.kind.clone(),
                created: event.created,
                events: bodies[i].join("\n"),
                notes: mapped.notes.clone(),
            });
            outcomes[i] = Some(outcome(event, status, mapped.notes));
        }
        let mut writes = records.writes();
        writes.events = new_records;
        tx.write(&writes).await?;
        tx.commit().await?;

        // One request to the engine; its lines map back to the events.
        let mut lines: Vec<(usize, &str)> = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            lines.extend(body.iter().map(|l| (i, l.as_str())));
        }
        let mut results: Vec<EventResult> = vec![EventResult::Accepted; lines.len()];
        let mut reasons: Vec<Option<String>> = vec![None; lines.len()];
        for chunk_start in (0..lines.len()).step_by(crate::engine::event::MAX_BATCH) {
            let chunk = &lines
                [chunk_start..(chunk_start + crate::engine::event::MAX_BATCH).min(lines.len())];
            let body: Vec<&str> = chunk.iter().map(|(_, l)| *l).collect();
            let report = self
                .engine
                .ingest(program, &body.join("\n"), BatchFormat::Ndjson)
                .await?;
            for note in &report.duplicates {
                if let Some(r) = results.get_mut(chunk_start + note.line - 1) {
                    *r = EventResult::Duplicate;
                }
            }
            for note in &report.rejected {
                let at = chunk_start + note.line - 1;
                if at < results.len() {
                    results[at] = EventResult::Rejected;
                    reasons[at].clone_from(&note.reason);
                }
            }
        }
        let mut outcomes: Vec<Outcome> = outcomes.into_iter().flatten().collect();
        for (n, (i, line)) in lines.iter().enumerate() {
            let (id, kind) = id_and_type(line);
            outcomes[*i].events.push(EventOutcome {
                id,
                kind,
                result: results[n],
                reason: reasons[n].take(),
            });
        }
        for o in &outcomes {
            log(program, o);
        }
        Ok(outcomes)
    }
}

fn outcome(event: &StripeEvent, status: Status, notes: Vec<String>) -> Outcome {
    Outcome {
        id: event.id.clone(),
        kind: event.kind.clone(),
        status,
        events: Vec::new(),
        notes,
    }
}

/// A partnerops event's id and type, from its JSON.
fn id_and_type(line: &str) -> (String, String) {
    let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    (field("id"), field("type"))
}

fn log(program: &str, o: &Outcome) {
    let rejected = o
        .events
        .iter()
        .filter(|e| e.result == EventResult::Rejected)
        .count();
    if rejected > 0 || !o.notes.is_empty() {
        tracing::warn!(
            program,
            stripe_event = o.id,
            stripe_type = o.kind,
            status = ?o.status,
            rejected,
            notes = o.notes.join("; "),
            reasons = o.events.iter().filter_map(|e| e.reason.as_deref()).collect::<Vec<_>>().join("; "),
            "stripe event"
        );
    } else {
        tracing::info!(program, stripe_event = o.id, stripe_type = o.kind, status = ?o.status, events = o.events.len(), "stripe event");
    }
}

/// Now, in Unix seconds, for signatures.
pub fn now() -> i64 {
    Utc::now().timestamp()
}
