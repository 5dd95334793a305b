//! Webhooks out: the messages a unit of work sends, and what the engine
//! offers around them (deliveries, redelivery, signing secrets).
//!
//! A transactional outbox. The runtime records what changed in a unit of
//! work; [`messages`] turns that into one message per subscribed endpoint,
//! and the store writes them in the same transaction as the changes. So a
//! crash loses no message of a change that happened and sends none for a
//! change that rolled back. [`dispatch`] sends them: one sender per
//! endpoint at a time (a lease in the store), in order per endpoint, with
//! retries, signed per Standard Webhooks ([`signature`]).

mod destination;
pub mod dispatch;
pub mod payload;
pub mod signature;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::changeset::Change;
use super::runtime::RuntimeConfig;
use super::runtime::fold::{Joined, Notified};
use crate::store::record::{
    LineKind, NewLine, PartnerState, Subject, TagChange, TransactionRecord,
};
use super::{Engine, Error, Result};
use crate::spec::{Config, EventType, Resource, Webhook};
use crate::store::outbox::{Delivery, DeliveryQuery, OutboxMessage};
use payload::{
    AutomationFired, AutomationRef, CommissionCreated, CommissionLine, CommissionReversal,
    CommissionReversed, Envelope, PartnerJoined, PartnerRef, PartnerTagChanged, PayoutCreated,
    PayoutLine, TagCause,
};

/// How long a replaced secret keeps signing after `rotate-secret`.
pub const ROTATION_GRACE: chrono::Duration = chrono::Duration::hours(24);

/// A new `webhook-id`: `msg_`, the time in microseconds (12 hex digits)
/// and 80 random bits. Ids that grow with time are added at the end of the
/// store's index on them rather than all over it, which keeps writing the
/// outbox cheap as it grows; the random part keeps them unique.
fn message_id(now: DateTime<Utc>) -> String {
    let micros = u64::try_from(now.timestamp_micros()).unwrap_or(0) & 0xffff_ffff_ffff;
    let random: [u8; 10] = rand::random();
    format!("msg_{micros:012x}{}", hex::encode(random))
}

/// One message for each of `endpoints`, all with the same body.
fn fan_out<'a, T: Serialize>(
    out: &mut Vec<OutboxMessage>,
    endpoints: impl IntoIterator<Item = &'a str>,
    event_type: EventType,
    timestamp: DateTime<Utc>,
    data: &T,
    now: DateTime<Utc>,
) {
    let mut endpoints = endpoints.into_iter().peekable();
    if endpoints.peek().is_none() {
        return;
    }
    let body = serde_json::to_string(&Envelope {
        event_type,
        timestamp,
        data,
    })
    .expect("message payloads serialize to JSON");
    for endpoint in endpoints {
        out.push(OutboxMessage {
            id: message_id(now),
            endpoint: endpoint.to_owned(),
            event_type,
            body: body.clone(),
            created_at: now,
        });
    }
}

fn subscribers(webhooks: &[Webhook], event: EventType) -> Vec<&str> {
    webhooks
        .iter()
        .filter(|w| w.subscribes(event))
        .map(|w| w.key.as_str())
        .collect()
}

/// What one unit of work changed that webhooks tell of.
#[derive(Debug, Default, Clone, Copy)]
pub struct Changes<'a> {
    /// Partners as they stand after the work, for names in messages.
    pub partners: &'a [PartnerState],
    pub joined: &'a [Joined],
    pub notified: &'a [Notified],
    pub tag_changes: &'a [TagChange],
    pub lines: &'a [NewLine],
    /// The transactions lines are on, for when they were earned.
    pub transactions: &'a [TransactionRecord],
}

/// The messages for what a unit of work changed: `partner.joined` for new
/// partners, `commission.created` for each line that earns, and
/// `commission.reversed` for each that takes back (a refund's reversal, or
/// a correction after a late event), `partner.tag_added` /
/// `partner.tag_removed` for partner tag changes, `automation.fired` for
/// each firing of an automation with `notify`; each to the endpoints that
/// subscribe to it (or that `notify` names). Ordered by when what they tell
/// of happened and, at one instant, in that order (a sale earns its
/// commission before the automations it sets off change tags), which is the
/// order each endpoint receives them in.
pub fn messages(cfg: &RuntimeConfig, w: &Changes, now: DateTime<Utc>) -> Vec<OutboxMessage> {
    let config = &cfg.config;
    if config.webhooks.is_empty() {
        return Vec::new();
    }
    let program = config.program.key.as_str();
    let by_key: HashMap<&str, &PartnerState> = w
        .partners
        .iter()
        .map(|p| (p.partner.key.as_str(), p))
        .collect();
    let partner = |key: &str| {
        by_key
            .get(key)
            .map_or_else(|| PartnerRef::key(key), |p| PartnerRef::of(&p.partner))
    };
    // (when, message): stable-sorted by when below.
    let mut timed: Vec<(DateTime<Utc>, Vec<OutboxMessage>)> = Vec::new();
    let mut emit = |at: DateTime<Utc>, f: &mut dyn FnMut(&mut Vec<OutboxMessage>)| {
        let mut out = Vec::new();
        f(&mut out);
        if !out.is_empty() {
            timed.push((at, out));
        }
    };

    let joined = subscribers(&config.webhooks, EventType::PartnerJoined);
    if !joined.is_empty() {
        for j in w.joined {
            let at = j.at;
            let data = PartnerJoined {
                program: program.to_owned(),
                partner: partner(&j.partner),
                joined_at: at,
                event_id: j.event_id.clone(),
            };
            emit(at, &mut |out| {
                fan_out(
                    out,
                    joined.iter().copied(),
                    EventType::PartnerJoined,
                    at,
                    &data,
                    now,
                );
            });
        }
    }

    let created = subscribers(&config.webhooks, EventType::CommissionCreated);
    let reversed = subscribers(&config.webhooks, EventType::CommissionReversed);
    if (!created.is_empty() || !reversed.is_empty()) && !w.lines.is_empty() {
        // A line is earned when its transaction happened.
        let earned: HashMap<&str, DateTime<Utc>> = w
            .transactions
            .iter()
            .map(|t| (t.key.as_str(), t.at))
            .collect();
        let currency = config.program.currency.as_str();
        for l in w.lines {
            let takes_back = l.kind == LineKind::Reversal
                || (l.kind == LineKind::Adjustment && l.amount.is_negative());
            if takes_back {
                if reversed.is_empty() {
                    continue;
                }
                let data = CommissionReversed {
                    program: program.to_owned(),
                    partner: partner(&l.partner),
                    reversal: CommissionReversal {
                        transaction: l.transaction.clone(),
                        trigger: l.trigger.clone(),
                        refund: l.cause.clone().unwrap_or_default(),
                        amount: l.amount,
                        currency: currency.to_owned(),
                        installment: l.installment,
                        installments: l.installments,
                        at: l.created_at,
                    },
                };
                emit(l.created_at, &mut |out| {
                    fan_out(
                        out,
                        reversed.iter().copied(),
                        EventType::CommissionReversed,
                        l.created_at,
                        &data,
                        now,
                    );
                });
            } else if !created.is_empty() {
                let at = earned
                    .get(l.transaction.as_str())
                    .copied()
                    .unwrap_or(l.created_at);
                let data = CommissionCreated {
                    program: program.to_owned(),
                    partner: partner(&l.partner),
                    commission: CommissionLine {
                        transaction: l.transaction.clone(),
                        trigger: l.trigger.clone(),
                        amount: l.amount,
                        currency: currency.to_owned(),
                        installment: l.installment,
                        installments: l.installments,
                        due_at: l.due_at,
                    },
                };
                emit(at, &mut |out| {
                    fan_out(
                        out,
                        created.iter().copied(),
                        EventType::CommissionCreated,
                        at,
                        &data,
                        now,
                    );
                });
            }
        }
    }

    let added = subscribers(&config.webhooks, EventType::PartnerTagAdded);
    let removed = subscribers(&config.webhooks, EventType::PartnerTagRemoved);
    if !added.is_empty() || !removed.is_empty() {
        for c in w
            .tag_changes
            .iter()
            .filter(|c| c.subject_kind == Subject::Partner)
        {
            let (event, endpoints) = if c.added {
                (EventType::PartnerTagAdded, &added)
            } else {
                (EventType::PartnerTagRemoved, &removed)
            };
            if endpoints.is_empty() {
                continue;
            }
            let data = PartnerTagChanged {
                program: program.to_owned(),
                partner: partner(&c.subject),
                tag: c.tag.clone(),
                cause: TagCause {
                    kind: c.cause_kind,
                    key: c.cause.clone(),
                },
                event_id: c.event_id.clone(),
                at: c.at,
            };
            emit(c.at, &mut |out| {
                fan_out(out, endpoints.iter().copied(), event, c.at, &data, now);
            });
        }
    }

    if !w.notified.is_empty() {
        let automations: HashMap<&str, &crate::spec::Automation> = config
            .automations
            .iter()
            .map(|a| (a.key.as_str(), a))
            .collect();
        for n in w.notified {
            let Some(automation) = automations.get(n.automation.as_str()) else {
                continue;
            };
            let data = AutomationFired {
                program: program.to_owned(),
                automation: AutomationRef {
                    key: automation.key.clone(),
                    name: automation.name.clone(),
                },
                partner: partner(&n.partner),
                event_id: n.event_id.clone(),
                at: n.at,
            };
            let mut endpoints: Vec<&str> = automation
                .then
                .iter()
                .filter_map(|a| a.endpoint())
                .collect();
            endpoints.dedup();
            emit(n.at, &mut |out| {
                fan_out(
                    out,
                    endpoints.iter().copied(),
                    EventType::AutomationFired,
                    n.at,
                    &data,
                    now,
                );
            });
        }
    }

    timed.sort_by_key(|(at, _)| *at);
    timed.into_iter().flat_map(|(_, m)| m).collect()
}

/// `commission.reversed` messages for reversal lines, to the endpoints of
/// `config` that subscribe (for the ledger to write with the lines).
pub fn commission_reversed(
    config: &Config,
    reversals: &[(PartnerRef, CommissionReversal)],
    now: DateTime<Utc>,
) -> Vec<OutboxMessage> {
    let endpoints = subscribers(&config.webhooks, EventType::CommissionReversed);
    let mut out = Vec::new();
    for (partner, reversal) in reversals {
        let data = CommissionReversed {
            program: config.program.key.clone(),
            partner: partner.clone(),
            reversal: reversal.clone(),
        };
        fan_out(
            &mut out,
            endpoints.iter().copied(),
            EventType::CommissionReversed,
            reversal.at,
            &data,
            now,
        );
    }
    out
}

/// `payout.created` messages, one per partner paid, to the endpoints of
/// `config` that subscribe (for the payout to write with its batch).
pub fn payout_created(
    config: &Config,
    paid: &[(PartnerRef, PayoutLine)],
    now: DateTime<Utc>,
) -> Vec<OutboxMessage> {
    let endpoints = subscribers(&config.webhooks, EventType::PayoutCreated);
    let mut out = Vec::new();
    for (partner, line) in paid {
        let data = PayoutCreated {
            program: config.program.key.clone(),
            partner: partner.clone(),
            payout: line.clone(),
        };
        fan_out(
            &mut out,
            endpoints.iter().copied(),
            EventType::PayoutCreated,
            line.created_at,
            &data,
            now,
        );
    }
    out
}

/// Signing secrets for the endpoints a changeset creates.
pub fn new_endpoint_secrets(changes: &[Change]) -> Vec<(String, String)> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Create {
                resource: Resource::Webhook(w),
            } => Some((w.key.clone(), signature::new_secret())),
            _ => None,
        })
        .collect()
}

/// An endpoint's signing secret, as `webhooks secret` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookSecret {
    pub endpoint: String,
    /// `whsec_` and base64 of 32 bytes: the key receivers check signatures with.
    pub secret: String,
    /// Until when the secret it replaced signs too (after a rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_signs_until: Option<DateTime<Utc>>,
}

impl Engine {
    /// The endpoint of `program` named `key`, or a NotFound that says what
    /// the program has.
    async fn webhook(&self, program: &str, key: &str) -> Result<Webhook> {
        let cfg = self.current_config(program).await?;
        if let Some(w) = cfg.config.webhooks.iter().find(|w| w.key == key) {
            return Ok(w.clone());
        }
        let hint =
            crate::suggest::did_you_mean(key, cfg.config.webhooks.iter().map(|w| w.key.as_str()))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
        Err(Error::NotFound(format!(
            "program `{program}` has no webhook `{key}`{hint}"
        )))
    }

    /// Messages and where their delivery stands, newest first.
    pub async fn deliveries(&self, program: &str, query: &DeliveryQuery) -> Result<Vec<Delivery>> {
        let list = self.store.deliveries(program, query).await?;
        if list.is_empty()
            && let Some(endpoint) = &query.endpoint
        {
            self.webhook(program, endpoint).await?;
        }
        Ok(list)
    }

    /// Sends a message again (with its id, body and a fresh signature): it
    /// goes back in its endpoint's queue, due now, with no attempts made.
    pub async fn redeliver(&self, program: &str, id: &str) -> Result<Delivery> {
        self.store
            .redeliver(program, id, Utc::now())
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!("program `{program}` has no webhook message `{id}`"))
            })
    }

    pub async fn webhook_secret(&self, program: &str, key: &str) -> Result<WebhookSecret> {
        self.webhook(program, key).await?;
        let secrets = self.store.endpoint_secrets(program, key).await?.ok_or_else(|| {
            Error::NotFound(format!(
                "webhook `{key}` has no signing secret; make one with `partnerops webhooks rotate-secret {key}`"
            ))
        })?;
        Ok(WebhookSecret {
            endpoint: key.to_owned(),
            secret: secrets.current,
            previous_signs_until: secrets
                .previous
                .map(|(_, until)| until)
                .filter(|until| *until > Utc::now()),
        })
    }

    /// Replaces an endpoint's secret; the old one signs too for
    /// [`ROTATION_GRACE`], so receivers can switch without losing messages.
    pub async fn rotate_webhook_secret(&self, program: &str, key: &str) -> Result<WebhookSecret> {
        self.webhook(program, key).await?;
        let secret = signature::new_secret();
        let now = Utc::now();
        let until = now + ROTATION_GRACE;
        self.store
            .rotate_secret(program, key, &secret, now, until)
            .await?;
        Ok(WebhookSecret {
            endpoint: key.to_owned(),
            secret,
            previous_signs_until: Some(until),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Money, Program};

    fn config(events: Vec<EventType>) -> Config {
        let mut config = Config::new(Program {
            key: "gigakick".into(),
            name: "GigaKick".into(),
            currency: "USD".into(),
            timezone: "UTC".into(),
            payouts: crate::spec::Payouts::default(),
        });
        config.webhooks = vec![
            Webhook {
                key: "crm".into(),
                url: "https://hooks.example.com/partnerops".into(),
                events,
                description: None,
                previously: Vec::new(),
            },
            Webhook {
                key: "quiet".into(),
                url: "https://quiet.example.com/".into(),
                events: vec![EventType::PartnerJoined],
                description: None,
                previously: Vec::new(),
            },
        ];
        config
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn reversals_go_to_the_endpoints_that_subscribe_one_per_line() {
        let config = config(vec![EventType::CommissionReversed]);
        let reversal = CommissionReversal {
            transaction: "txn-0001".into(),
            trigger: "live-chat-10".into(),
            refund: "rf-0001".into(),
            amount: Money::from_cents(-490),
            currency: "USD".into(),
            installment: 1,
            installments: 1,
            at: at("2026-07-01T08:00:00Z"),
        };
        let now = Utc::now();
        let out = commission_reversed(
            &config,
            &[
                (PartnerRef::key("alice-agency"), reversal.clone()),
                (PartnerRef::key("bob-blog"), reversal),
            ],
            now,
        );
        assert_eq!(out.len(), 2);
        assert!(
            out.iter()
                .all(|m| m.endpoint == "crm" && m.created_at == now)
        );
        assert!(
            out.iter()
                .all(|m| m.event_type == EventType::CommissionReversed)
        );
        assert_ne!(out[0].id, out[1].id);
        assert_eq!(
            out[0].body,
            r#"{"type":"commission.reversed","timestamp":"2026-07-01T08:00:00Z","data":{"program":"gigakick","partner":{"key":"alice-agency"},"reversal":{"transaction":"txn-0001","trigger":"live-chat-10","refund":"rf-0001","amount":"-4.90","currency":"USD","installment":1,"installments":1,"at":"2026-07-01T08:00:00Z"}}}"#
        );
        // Nobody subscribes: no message.
        let none = commission_reversed(&super::tests::config(vec![]), &[], now);
        assert!(none.is_empty());
    }

    #[test]
    fn a_payout_sends_one_message_per_partner_paid() {
        let config = config(vec![EventType::PayoutCreated, EventType::CommissionCreated]);
        let line = |amount: i64, lines: u64| PayoutLine {
            payout: "po-2026-08".into(),
            amount: Money::from_cents(amount),
            currency: "USD".into(),
            lines,
            as_of: at("2026-08-01T00:00:00Z"),
            created_at: at("2026-08-01T00:00:00Z"),
        };
        let alice = PartnerRef {
            key: "alice-agency".into(),
            name: Some("Alice's Agency".into()),
            email: Some("alice@agency.example".into()),
            group: Some("resellers".into()),
        };
        let out = payout_created(
            &config,
            &[
                (alice, line(12_940, 7)),
                (PartnerRef::key("bob-blog"), line(5_000, 2)),
            ],
            Utc::now(),
        );
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].body,
            r#"{"type":"payout.created","timestamp":"2026-08-01T00:00:00Z","data":{"program":"gigakick","partner":{"key":"alice-agency","name":"Alice's Agency","email":"alice@agency.example","group":"resellers"},"payout":{"payout":"po-2026-08","amount":"129.40","currency":"USD","lines":7,"as_of":"2026-08-01T00:00:00Z","created_at":"2026-08-01T00:00:00Z"}}}"#
        );
        let body: serde_json::Value = serde_json::from_str(&out[1].body).unwrap();
        assert_eq!(body["data"]["payout"]["amount"], "50.00");
        assert_eq!(body["data"]["partner"]["key"], "bob-blog");
    }

    #[test]
    fn new_endpoints_get_a_secret_and_updates_do_not() {
        let hook = |key: &str| Webhook {
            key: key.into(),
            url: "https://hooks.example.com/".into(),
            events: Vec::new(),
            description: None,
            previously: Vec::new(),
        };
        let secrets = new_endpoint_secrets(&[
            Change::Create {
                resource: Resource::Webhook(hook("a")),
            },
            Change::Update {
                key: "b".into(),
                resource: Resource::Webhook(hook("c")),
            },
        ]);
        assert_eq!(secrets.len(), 1);
        assert_eq!(secrets[0].0, "a");
        assert!(secrets[0].1.starts_with("whsec_"));
    }
}
