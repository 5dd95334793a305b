//! What a planned config would have done with the program's recent events:
//! `plan --impact-window`.
//!
//! Each partner's stored history is folded twice by the runtime's own fold
//! ([`super::runtime::fold`]), in memory: up to the window's start under the
//! live config (the state both sides start from), then the window's events
//! once under the live config ("before") and once under the planned config
//! ("after"). Both sides run the same replay, so the difference isolates the
//! config change and not drift between the stored ledger and a replay.
//! Commissions are priced by the ledger's own code ([`super::ledger::lines`]),
//! net of refunds; nothing is written: histories are read in read
//! transactions that are dropped, never committed.
//!
//! Partners are read a page at a time (by [`READERS`] read transactions at
//! once) and folded one by one, so memory holds one page of partner keys and
//! a few partners' histories, whatever the program's size.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ledger;
use super::runtime::fold::{Book, Effects, Entry, Fold, Pricing};
use super::runtime::{RuntimeConfig, SharedConfig, replay};
use crate::spec::money::Total;
use crate::spec::{Automation, Config, Resource};
use crate::store::History;
use crate::store::record::{Fires, LineKind, PartnerState};

/// Partners read per read transaction (each history is folded as it is
/// read, then dropped).
const PAGE: usize = 500;
/// Read transactions that read a page's histories at once.
pub const READERS: usize = 3;
/// Partners the impact names, those whose earnings move most.
pub const TOP_PARTNERS: usize = 10;

/// What `plan` asks the engine: the planned config and the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WhatIfQuery {
    /// The planned config, as resources.
    pub resources: Vec<Resource>,
    /// Days of events before `until` to replay (at least 1).
    pub window_days: u32,
    /// The window's end; the engine's clock when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// Commission triggers the plan creates, changes or deletes: reported
    /// even when their totals do not move.
    #[serde(default)]
    pub triggers: Vec<String>,
}

/// Money before and after, and the difference (after − before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MoneyChange {
    pub before: Total,
    pub after: Total,
    pub difference: Total,
}

impl MoneyChange {
    fn of(before: i128, after: i128, exp: u8) -> MoneyChange {
        let total = |minor| {
            let mut t = Total::zero(exp);
            t.add_minor(minor);
            t
        };
        MoneyChange {
            before: total(before),
            after: total(after),
            difference: total(after - before),
        }
    }
}

/// One commission trigger's commissions over the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TriggerImpact {
    pub trigger: String,
    #[serde(flatten)]
    pub money: MoneyChange,
}

/// One partner's commissions over the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PartnerImpact {
    pub partner: String,
    #[serde(flatten)]
    pub money: MoneyChange,
}

/// Partners who would hold a tag at the window's end under the planned
/// config and not under the live one (`gain`), or the reverse (`lose`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TagImpact {
    pub tag: String,
    pub gain: u64,
    pub lose: u64,
}

/// The money and tags a planned config changes over a window of events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WhatIf {
    pub window_days: u32,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Partners replayed.
    pub partners: u64,
    /// Partner events, signups, transactions and refunds in the window.
    pub events: u64,
    /// The triggers the plan changes, and any other whose total moves
    /// (a tag rule that a changed automation feeds), by key.
    pub triggers: Vec<TriggerImpact>,
    /// Every trigger's commissions together.
    pub total: MoneyChange,
    /// The partners whose earnings move most (at most ten), largest change
    /// first; partners whose earnings do not move are left out.
    pub top_partners: Vec<PartnerImpact>,
    /// Tags some partner would gain or lose, by key.
    pub tags: Vec<TagImpact>,
}

/// A customer's side for the replay: purchases through the partner are
/// worked out afresh; customer tags are not reported.
#[derive(Default)]
struct WhatIfBook {
    bought: HashSet<String>,
}

impl Book for WhatIfBook {
    fn bought(&mut self, customer: &str) -> bool {
        self.bought.insert(customer.to_owned())
    }

    fn tag(&mut self, _: &str, _: &str) -> bool {
        true
    }
}

/// One side's run over the window: commissions per trigger and tags at the end.
struct Side {
    by_trigger: BTreeMap<String, i128>,
    total: i128,
    tags: BTreeSet<String>,
}

/// Sums over all partners, as partners are folded.
pub struct Tally {
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    window_days: u32,
    exp: u8,
    reported: BTreeSet<String>,
    partners: u64,
    events: u64,
    triggers: BTreeMap<String, (i128, i128)>,
    total: (i128, i128),
    /// The largest movers so far, kept short.
    top: Vec<(String, i128, i128)>,
    tags: BTreeMap<String, (u64, u64)>,
}

/// The two configs a replay compares, and the window.
pub struct Replay {
    live: SharedConfig,
    planned: SharedConfig,
    /// Automations of the planned config whose fire records apply forgets:
    /// new ones, and those whose trigger changed.
    retriggered: Vec<String>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
}

impl Replay {
    pub fn new(
        live: SharedConfig,
        planned: SharedConfig,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Replay {
        let retriggered = planned
            .config
            .automations
            .iter()
            .filter(|a| {
                !live
                    .config
                    .automations
                    .iter()
                    .any(|b| b.key == a.key && b.when == a.when)
            })
            .map(|a: &Automation| a.key.clone())
            .collect();
        Replay {
            live,
            planned,
            retriggered,
            since,
            until,
        }
    }

    pub fn tally(&self, window_days: u32, reported: &[String]) -> Tally {
        Tally {
            since: self.since,
            until: self.until,
            window_days,
            exp: self.live.exp,
            reported: reported.iter().cloned().collect(),
            partners: 0,
            events: 0,
            triggers: BTreeMap::new(),
            total: (0, 0),
            top: Vec::new(),
            tags: BTreeMap::new(),
        }
    }

    /// Folds one partner's history both ways and adds the difference to
    /// `tally`. A partner whose join is not stored is skipped, as the
    /// runtime keeps their history waiting.
    pub fn partner(&self, key: &str, history: &History, tally: &mut Tally) {
        let (entries, join) = replay::entries(history);
        let Some((info, joined_at)) = join else {
            return;
        };
        // Everything priced by the config folding it, whatever revision
        // the transaction came in under: the comparison is config to config.
        let pricing = Pricing::new();
        let live = Fold {
            cfg: &self.live,
            pricing: &pricing,
        };
        let planned = Fold {
            cfg: &self.planned,
            pricing: &pricing,
        };
        let start = entries.partition_point(|e| e.at() < self.since);
        let end = entries.partition_point(|e| e.at() < self.until);
        let mut state = Fold::create(&info, joined_at, self.live.exp);
        let mut book = WhatIfBook::default();
        let mut fx = Effects::default();
        for entry in &entries[..start] {
            live.apply(&mut state, entry, &mut book, &mut fx);
            // Sales before the window are not counted; do not keep them.
            fx = Effects::default();
        }
        if joined_at < self.since {
            live.settle(&mut state, self.since, &mut fx);
        }
        let mut after_state = state.clone();
        after_state.fires = self.kept_fires(&state.fires);
        // Due under the live config; the planned one's checks are worked
        // out before the window's first event.
        after_state.next_due_at = Some(chrono::DateTime::UNIX_EPOCH);
        let after_book = WhatIfBook {
            bought: book.bought.clone(),
        };
        let window = &entries[start..end];
        let before = run(&live, state, book, window, key, self.until);
        let after = run(&planned, after_state, after_book, window, key, self.until);

        tally.partners += 1;
        tally.events += window.len() as u64;
        let triggers: BTreeSet<&String> = before
            .by_trigger
            .keys()
            .chain(after.by_trigger.keys())
            .collect();
        for trigger in triggers {
            let t = tally.triggers.entry(trigger.clone()).or_default();
            t.0 += before.by_trigger.get(trigger).copied().unwrap_or(0);
            t.1 += after.by_trigger.get(trigger).copied().unwrap_or(0);
        }
        tally.total.0 += before.total;
        tally.total.1 += after.total;
        if before.total != after.total {
            tally.top.push((key.to_owned(), before.total, after.total));
            if tally.top.len() > TOP_PARTNERS * 4 {
                tally.trim_top();
            }
        }
        for tag in after.tags.difference(&before.tags) {
            tally.tags.entry(tag.clone()).or_default().0 += 1;
        }
        for tag in before.tags.difference(&after.tags) {
            tally.tags.entry(tag.clone()).or_default().1 += 1;
        }
    }

    /// The fire records apply keeps for the planned config.
    fn kept_fires(&self, fires: &Fires) -> Fires {
        let mut kept = Fires::default();
        for (key, at) in fires.entries() {
            if !self.retriggered.contains(key) {
                kept.insert(key.clone(), *at);
            }
        }
        kept
    }
}

/// Folds the window's entries from `state` and prices the sales in it.
fn run(
    fold: &Fold,
    mut state: PartnerState,
    mut book: WhatIfBook,
    window: &[Entry],
    partner: &str,
    until: DateTime<Utc>,
) -> Side {
    let mut fx = Effects::default();
    let mut side = Side {
        by_trigger: BTreeMap::new(),
        total: 0,
        tags: BTreeSet::new(),
    };
    for entry in window {
        fold.apply(&mut state, entry, &mut book, &mut fx);
        for sale in fx.sales.drain(..) {
            // The ledger's own arithmetic: installments and refunds as the
            // engine would book them, from no lines.
            for line in ledger::lines(
                partner,
                &sale.transaction,
                &sale.earnings,
                &[],
                LineKind::Commission,
                None,
                until,
            ) {
                let minor = i128::from(line.amount.minor());
                *side.by_trigger.entry(line.trigger).or_default() += minor;
                side.total += minor;
            }
        }
        fx.tag_changes.clear();
        fx.notified.clear();
    }
    fold.settle(&mut state, until, &mut fx);
    side.tags = std::mem::take(&mut state.partner.tags);
    side
}

impl Tally {
    fn trim_top(&mut self) {
        self.top.sort_by(|a, b| {
            let da = (a.2 - a.1).abs();
            let db = (b.2 - b.1).abs();
            db.cmp(&da).then_with(|| a.0.cmp(&b.0))
        });
        self.top.truncate(TOP_PARTNERS);
    }

    pub fn finish(mut self) -> WhatIf {
        self.trim_top();
        let exp = self.exp;
        let triggers = self
            .triggers
            .iter()
            .filter(|(k, (b, a))| b != a || self.reported.contains(*k))
            .map(|(k, (b, a))| TriggerImpact {
                trigger: k.clone(),
                money: MoneyChange::of(*b, *a, exp),
            })
            .chain(
                // A changed trigger that earned nothing either way still shows.
                self.reported
                    .iter()
                    .filter(|k| !self.triggers.contains_key(*k))
                    .map(|k| TriggerImpact {
                        trigger: k.clone(),
                        money: MoneyChange::of(0, 0, exp),
                    }),
            )
            .map(|t| (t.trigger.clone(), t))
            .collect::<BTreeMap<_, _>>()
            .into_values()
            .collect();
        WhatIf {
            window_days: self.window_days,
            since: self.since,
            until: self.until,
            partners: self.partners,
            events: self.events,
            triggers,
            total: MoneyChange::of(self.total.0, self.total.1, exp),
            top_partners: self
                .top
                .iter()
                .map(|(p, b, a)| PartnerImpact {
                    partner: p.clone(),
                    money: MoneyChange::of(*b, *a, exp),
                })
                .collect(),
            tags: self
                .tags
                .iter()
                .map(|(tag, (gain, lose))| TagImpact {
                    tag: tag.clone(),
                    gain: *gain,
                    lose: *lose,
                })
                .collect(),
        }
    }
}

/// The window a query asks for.
pub fn window(query: &WhatIfQuery, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let until = query.until.unwrap_or(now);
    (until - Duration::days(i64::from(query.window_days)), until)
}

/// The planned config of a query, for the runtime.
pub fn planned_config(query: &WhatIfQuery, exp: u8) -> Option<RuntimeConfig> {
    Config::from_resources(query.resources.iter().cloned()).map(|c| RuntimeConfig::new(0, c, exp))
}

/// Partners read per read transaction.
pub const fn page_size() -> usize {
    PAGE
}
