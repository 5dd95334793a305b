//! The ledger: append-only lines of commissions, reversals and adjustments,
//! and the payouts that pay them.
//!
//! Every (partner, transaction, trigger, installment) has a target: what the
//! trigger earned on the sale, less refunds in proportion. The ledger holds
//! lines whose sum is that target; when the target moves (a refund, a late
//! event that changed what was earned) a new line records the difference.
//! A line already written is never changed, and a paid one never offset by
//! anything but a new line.

pub mod csv;
pub mod listing;
pub mod payouts;
pub mod pricing;
pub mod report;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::engine::runtime::fold::Earning;
use crate::spec::Money;
use crate::store::record::{LineKind, LineNet, NewLine, TransactionRecord};

/// The lines that bring `partner`'s lines on `t` to what `earnings` make
/// them, after `t`'s refunds. `current` holds what lines add up to now, per
/// partner, transaction, trigger and installment; those of the partner on
/// `t` count (a trigger that no longer earns is brought to zero). A trigger with no line yet gets `commission`
/// lines; later differences are of `kind`.
pub fn lines(
    partner: &str,
    t: &TransactionRecord,
    earnings: &[Earning],
    current: &[LineNet],
    kind: LineKind,
    cause: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<NewLine> {
    // (trigger, installment) -> (target, due, installments, revision)
    let mut targets: BTreeMap<(&str, u32), (Money, DateTime<Utc>, u32, u64)> = BTreeMap::new();
    for e in earnings {
        let split: Vec<Money> = e.split.iter().map(|(m, _)| *m).collect();
        let n = u32::try_from(split.len()).unwrap_or(u32::MAX);
        for (i, (target, (_, due))) in pricing::installment_targets(&split, t.amount, t.refunded)
            .into_iter()
            .zip(&e.split)
            .enumerate()
        {
            let i = u32::try_from(i + 1).unwrap_or(u32::MAX);
            targets.insert((&e.trigger, i), (target, *due, n, e.revision));
        }
    }
    let mut have: BTreeMap<(&str, u32), &LineNet> = BTreeMap::new();
    for c in current
        .iter()
        .filter(|c| c.partner == partner && c.transaction == t.key)
    {
        have.insert((&c.trigger, c.installment), c);
    }
    let exp = t.amount.exp();
    let mut keys: Vec<(&str, u32)> = targets.keys().chain(have.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        let target = targets.get(&key);
        let now_net = have.get(&key);
        let (target_amount, due, installments, revision) = match (target, now_net) {
            (Some(t), _) => *t,
            (None, Some(c)) => (Money::zero(exp), c.due_at, c.installments, c.revision),
            (None, None) => continue,
        };
        let net = now_net.map_or(0, |c| c.net.minor());
        let delta = target_amount.minor() - net;
        let first = !have.keys().any(|(trigger, _)| *trigger == key.0);
        // Every trigger that fires records its commission, zero included;
        // after that only differences are written.
        if delta == 0 && !(first && target.is_some()) {
            continue;
        }
        let line = |amount: i64, due_at: DateTime<Utc>, clawback: bool| NewLine {
            partner: partner.to_owned(),
            transaction: t.key.clone(),
            trigger: key.0.to_owned(),
            revision,
            product: t.product.clone(),
            kind: if first { LineKind::Commission } else { kind },
            amount: Money::new(amount, exp),
            due_at,
            installment: key.1,
            installments,
            clawback,
            cause: if first {
                None
            } else {
                cause.map(str::to_owned)
            },
            created_at: now,
        };
        // Taking back more than is still unpaid reaches into paid money:
        // that part is a clawback, approved at once for the next payout to
        // net; the rest offsets the unpaid line on its own due date.
        let unpaid = now_net.map_or(0, |c| c.net.minor() - c.paid.minor());
        if delta < 0 && -delta > unpaid.max(0) {
            let from_unpaid = unpaid.max(0);
            if from_unpaid > 0 {
                out.push(line(-from_unpaid, due, false));
            }
            out.push(line(delta + from_unpaid, now, true));
        } else {
            out.push(line(delta, due, false));
        }
    }
    out
}

/// Adds new lines to the nets they change, so later work in the same unit
/// sees them.
pub fn add_to_nets(nets: &mut Vec<LineNet>, new: &[NewLine]) {
    for l in new {
        match nets.iter_mut().find(|n| {
            n.partner == l.partner
                && n.transaction == l.transaction
                && n.trigger == l.trigger
                && n.installment == l.installment
        }) {
            Some(n) => n.net = Money::new(n.net.minor() + l.amount.minor(), l.amount.exp()),
            None => nets.push(LineNet {
                partner: l.partner.clone(),
                transaction: l.transaction.clone(),
                trigger: l.trigger.clone(),
                installment: l.installment,
                installments: l.installments,
                revision: l.revision,
                product: l.product.clone(),
                due_at: l.due_at,
                net: l.amount,
                paid: Money::zero(l.amount.exp()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::record::Seen;

    fn t(amount: i64, refunded: i64) -> TransactionRecord {
        TransactionRecord {
            key: "t1".into(),
            customer: "c".into(),
            amount: Money::from_cents(amount),
            subscription_key: None,
            kind: crate::spec::TransactionKind::OneTime,
            at: DateTime::UNIX_EPOCH,
            event_id: None,
            partner: Some("p".into()),
            product: Some("inbox".into()),
            revision: 1,
            seen: Seen::default(),
            refunded: Money::from_cents(refunded),
        }
    }

    fn earning(trigger: &str, split: &[i64]) -> Earning {
        Earning {
            trigger: trigger.into(),
            revision: 1,
            gross: Money::from_cents(split.iter().sum()),
            split: split
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        Money::from_cents(*c),
                        DateTime::UNIX_EPOCH + chrono::Duration::days(30 * i as i64),
                    )
                })
                .collect(),
        }
    }

    fn net(trigger: &str, i: u32, n: u32, net: i64, paid: i64) -> LineNet {
        LineNet {
            partner: "p".into(),
            transaction: "t1".into(),
            trigger: trigger.into(),
            installment: i,
            installments: n,
            revision: 1,
            product: Some("inbox".into()),
            due_at: DateTime::UNIX_EPOCH,
            net: Money::from_cents(net),
            paid: Money::from_cents(paid),
        }
    }

    fn amounts(lines: &[NewLine]) -> Vec<(String, u32, i64, LineKind, bool)> {
        lines
            .iter()
            .map(|l| {
                (
                    l.trigger.clone(),
                    l.installment,
                    l.amount.minor(),
                    l.kind,
                    l.clawback,
                )
            })
            .collect()
    }

    #[test]
    fn a_new_sale_gets_commission_lines() {
        let now = DateTime::UNIX_EPOCH;
        let out = lines(
            "p",
            &t(9900, 0),
            &[
                earning("inbox-20", &[1980]),
                earning("kb", &[334, 333, 333]),
            ],
            &[],
            LineKind::Adjustment,
            None,
            now,
        );
        assert_eq!(
            amounts(&out),
            [
                ("inbox-20".into(), 1, 1980, LineKind::Commission, false),
                ("kb".into(), 1, 334, LineKind::Commission, false),
                ("kb".into(), 2, 333, LineKind::Commission, false),
                ("kb".into(), 3, 333, LineKind::Commission, false),
            ]
        );
        assert_eq!(
            out[2].due_at,
            DateTime::UNIX_EPOCH + chrono::Duration::days(30)
        );
        assert_eq!(out[0].product.as_deref(), Some("inbox"));
        assert_eq!(out[0].cause, None);
    }

    #[test]
    fn a_refund_reverses_in_proportion_and_claws_back_what_was_paid() {
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(90);
        let current = [
            net("inbox-20", 1, 1, 1980, 0),
            net("bonus", 1, 1, 2500, 2500),
        ];
        let e = [earning("inbox-20", &[1980]), earning("bonus", &[2500])];
        let out = lines(
            "p",
            &t(9900, 5),
            &e,
            &current,
            LineKind::Reversal,
            Some("r1"),
            now,
        );
        assert_eq!(
            amounts(&out),
            [
                ("bonus".into(), 1, -1, LineKind::Reversal, true),
                ("inbox-20".into(), 1, -1, LineKind::Reversal, false),
            ]
        );
        assert_eq!(out[0].due_at, now, "a clawback is due when taken");
        assert_eq!(
            out[1].due_at,
            DateTime::UNIX_EPOCH,
            "the unpaid line's own date"
        );
        assert_eq!(out[0].cause.as_deref(), Some("r1"));
        // Full refund: exactly back to zero.
        let out = lines(
            "p",
            &t(9900, 9900),
            &e,
            &current,
            LineKind::Reversal,
            None,
            now,
        );
        assert_eq!(
            amounts(&out),
            [
                ("bonus".into(), 1, -2500, LineKind::Reversal, true),
                ("inbox-20".into(), 1, -1980, LineKind::Reversal, false),
            ]
        );
    }

    #[test]
    fn taking_back_splits_between_unpaid_and_paid() {
        let now = DateTime::UNIX_EPOCH;
        // 10.00 net, 6.00 of it paid; the target drops to 0.
        let current = [net("k", 1, 1, 1000, 600)];
        let out = lines(
            "p",
            &t(100, 100),
            &[earning("k", &[1000])],
            &current,
            LineKind::Reversal,
            None,
            now,
        );
        assert_eq!(
            amounts(&out),
            [
                ("k".into(), 1, -400, LineKind::Reversal, false),
                ("k".into(), 1, -600, LineKind::Reversal, true),
            ]
        );
    }

    #[test]
    fn a_trigger_that_no_longer_earns_is_brought_to_zero_and_nothing_moves_twice() {
        let now = DateTime::UNIX_EPOCH;
        let current = [net("old", 1, 1, 500, 0), net("same", 1, 1, 700, 0)];
        let out = lines(
            "p",
            &t(1000, 0),
            &[earning("same", &[700]), earning("new", &[300])],
            &current,
            LineKind::Adjustment,
            Some("late"),
            now,
        );
        assert_eq!(
            amounts(&out),
            [
                ("new".into(), 1, 300, LineKind::Commission, false),
                ("old".into(), 1, -500, LineKind::Adjustment, false),
            ]
        );
        // Another partner's lines are none of this partner's business.
        let mut other = net("x", 1, 1, 900, 0);
        other.partner = "q".into();
        assert!(
            lines(
                "p",
                &t(1000, 0),
                &[],
                &[other],
                LineKind::Adjustment,
                None,
                now
            )
            .is_empty()
        );
        let mut nets = current.to_vec();
        add_to_nets(&mut nets, &out);
        assert_eq!(
            nets.iter().map(|n| n.net.minor()).collect::<Vec<_>>(),
            [0, 700, 300]
        );
    }
}
