//! A partner's whole history folded again from nothing, and the difference
//! from what is stored written down: tags set right as corrections (cause
//! `late event ID`), money as adjustment lines. Nothing stored is rewritten
//! but the partner's derived state.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::fold::{Book, Effects, Entry, Fold, Item, Joined, Notified};
use crate::engine::event::{Event, PartnerInfo};
use crate::engine::ledger;
use crate::store::record::{Cause, LineKind, Mark, Subject, TagChange};
use crate::store::{History, Writes};

/// The customers' side of a replay: who bought through the partner is
/// worked out afresh; tags are added where missing.
struct ReplayBook {
    bought: HashSet<String>,
    tags: HashMap<String, BTreeSet<String>>,
}

impl Book for ReplayBook {
    fn bought(&mut self, customer: &str) -> bool {
        self.bought.insert(customer.to_owned())
    }

    fn tag(&mut self, customer: &str, tag: &str) -> bool {
        self.tags
            .entry(customer.to_owned())
            .or_default()
            .insert(tag.to_owned())
    }
}

/// Follows renames from an old group key to the key the config uses now.
fn current_group(renames: &[(String, String)], mut key: String) -> String {
    for (old, new) in renames {
        if *old == key {
            key.clone_from(new);
        }
    }
    key
}

/// The partner's history as fold entries, in order, and the join that
/// creates them. `plan`'s what-if replay folds the same entries.
pub fn entries(history: &History) -> (Vec<Entry>, Option<(PartnerInfo, DateTime<Utc>)>) {
    let mut out = Vec::new();
    let mut first_join: Option<(Mark, PartnerInfo)> = None;
    for (mark, body) in &history.events {
        let Ok(event) = serde_json::from_str::<Event>(body) else {
            continue;
        };
        let renamed = |mut info: PartnerInfo| {
            if let Some(Some(g)) = &mut info.group {
                *g = current_group(&history.group_renames, std::mem::take(g));
            }
            info
        };
        let item = match event {
            Event::PartnerJoined { partner, .. } => {
                let info = renamed(partner);
                if first_join.as_ref().is_none_or(|(m, _)| mark < m) {
                    first_join = Some((mark.clone(), info.clone()));
                }
                Item::Joined(info)
            }
            Event::PartnerUpdated { partner, .. } => Item::Updated(renamed(partner)),
            Event::PartnerActive { .. } => Item::Active,
            _ => continue,
        };
        out.push(Entry {
            mark: mark.clone(),
            item,
        });
    }
    for (customer, mark) in &history.signups {
        out.push(Entry {
            mark: mark.clone(),
            item: Item::Signup {
                customer: customer.clone(),
            },
        });
    }
    for t in &history.transactions {
        out.push(Entry {
            mark: t.mark(),
            item: Item::Sale(Box::new(t.clone())),
        });
    }
    for r in &history.refunds {
        out.push(Entry {
            mark: r.mark(),
            item: Item::Refund {
                transaction: r.transaction.clone(),
                amount: r.amount,
            },
        });
    }
    out.sort_by(|a, b| a.mark.cmp(&b.mark));
    let join = first_join.and_then(|(m, info)| m.at().map(|at| (info, at)));
    (out, join)
}

/// Folds the partner's history again and says what to write: the partner,
/// tag corrections, the transactions whose facts moved, adjustment lines,
/// and customers whose purchases through the partner changed; and, for a
/// partner built for the first time, their join and `notify` firings (a
/// partner stored before told of those already). A partner with no join
/// stored yet stays as they are: their history waits.
pub fn rebuild(
    fold: &Fold,
    partner: &str,
    history: &History,
    cause: &Mark,
    swept_through: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (Writes, Vec<Joined>, Vec<Notified>) {
    let mut writes = Writes::default();
    let (entries, join) = entries(history);
    let Some((info, joined_at)) = join else {
        return (writes, Vec::new(), Vec::new());
    };
    let first_join = join_event(history);
    let mut state = Fold::create(&info, joined_at, fold.cfg.exp);
    let mut book = ReplayBook {
        bought: HashSet::new(),
        tags: history
            .customers
            .iter()
            .map(|c| (c.key.clone(), c.tags.clone()))
            .collect(),
    };
    let mut fx = Effects::default();
    for entry in &entries {
        fold.apply(&mut state, entry, &mut book, &mut fx);
    }
    if let Some(swept) = swept_through {
        fold.settle(&mut state, swept, &mut fx);
    }

    // Tags. A partner stored before gets corrections; one built for the
    // first time (their history came before their join) gets the history
    // the fold made.
    let old_tags = history
        .row
        .as_ref()
        .map(|r| r.partner.tags.clone())
        .unwrap_or_default();
    let correction = |subject_kind: Subject, subject: &str, tag: &str, added: bool| TagChange {
        subject_kind,
        subject: subject.to_owned(),
        tag: tag.to_owned(),
        added,
        cause_kind: Cause::Correction,
        cause: format!("late event {}", cause.id()),
        event_id: Some(cause.id().to_owned()),
        at: cause.at().unwrap_or(now),
    };
    if history.row.is_none() {
        writes.tag_changes = fx.tag_changes;
    } else {
        for tag in state.partner.tags.difference(&old_tags) {
            writes
                .tag_changes
                .push(correction(Subject::Partner, partner, tag, true));
        }
        for tag in old_tags.difference(&state.partner.tags) {
            writes
                .tag_changes
                .push(correction(Subject::Partner, partner, tag, false));
        }
        // Customer tags the fold found missing.
        for c in fx
            .tag_changes
            .iter()
            .filter(|c| c.subject_kind == Subject::Customer)
        {
            writes
                .tag_changes
                .push(correction(Subject::Customer, &c.subject, &c.tag, true));
        }
    }

    // Transactions whose facts moved, and the money.
    let stored: HashMap<&str, &crate::store::record::TransactionRecord> = history
        .transactions
        .iter()
        .map(|t| (t.key.as_str(), t))
        .collect();
    for sale in &fx.sales {
        let t = &sale.transaction;
        if stored.get(t.key.as_str()).is_none_or(|s| s.seen != t.seen) {
            writes.transactions.push(t.clone());
        }
        writes.lines.extend(ledger::lines(
            partner,
            t,
            &sale.earnings,
            &history.nets,
            LineKind::Adjustment,
            Some(cause.id()),
            now,
        ));
    }
    for t in &history.others {
        writes.lines.extend(ledger::lines(
            partner,
            t,
            &[],
            &history.nets,
            LineKind::Adjustment,
            Some(cause.id()),
            now,
        ));
    }

    for c in &history.customers {
        let has = c.bought_through.contains(partner);
        let wants = book.bought.contains(&c.key);
        if has != wants {
            let mut c = c.clone();
            if wants {
                c.bought_through.insert(partner.to_owned());
            } else {
                c.bought_through.remove(partner);
            }
            writes.customers.push(c);
        }
    }
    writes.partners.push(state);
    if history.row.is_none() {
        let joined = vec![Joined {
            partner: partner.to_owned(),
            event_id: first_join,
            at: joined_at,
        }];
        (writes, joined, fx.notified)
    } else {
        (writes, Vec::new(), Vec::new())
    }
}

/// The id of the partner's earliest `partner.joined`.
fn join_event(history: &History) -> Option<String> {
    history
        .events
        .iter()
        .filter(|(_, body)| body.contains("\"partner.joined\""))
        .min_by(|a, b| a.0.cmp(&b.0))
        .map(|(m, _)| m.id().to_owned())
}
