//! The refund property (issue 11), end to end through the engine: random
//! sales, triggers (percent, flat, dripped) and random sequences of partial
//! refunds. After refunds totalling R of a sale of S, the net of each
//! (transaction, trigger) is round_half_away(original × (S − R) / S), it never
//! crosses zero, and a full refund nets exactly 0.00.

mod support;

use std::collections::BTreeMap;

use proptest::prelude::*;
use support::program::*;

#[derive(Debug, Clone)]
enum Pays {
    /// Basis points: 1234 is 12.34%.
    Percent(u32),
    /// Cents.
    Flat(u32),
}

#[derive(Debug, Clone)]
struct Trigger {
    pays: Pays,
    installments: u8,
}

fn trigger() -> impl Strategy<Value = Trigger> {
    (
        prop_oneof![
            (1u32..=10_000).prop_map(Pays::Percent),
            (1u32..=100_000).prop_map(Pays::Flat),
        ],
        1u8..=6,
    )
        .prop_map(|(pays, installments)| Trigger { pays, installments })
}

fn decimal(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn config(triggers: &[Trigger]) -> String {
    let mut yaml = String::from(
        "program: { key: rp, name: Refunds, currency: USD, timezone: UTC }\ncommission_triggers:\n",
    );
    for (i, t) in triggers.iter().enumerate() {
        let commission = match t.pays {
            Pays::Percent(bp) => format!("{{ percent: {} }}", decimal(u64::from(bp))),
            Pays::Flat(c) => format!("{{ flat: {} }}", decimal(u64::from(c))),
        };
        yaml.push_str(&format!("  - key: t{i}\n    commission: {commission}\n"));
        if t.installments > 1 {
            yaml.push_str(&format!(
                "    drip: {{ installments: {} }}\n",
                t.installments
            ));
        }
    }
    yaml
}

/// Rounds n / d (d > 0) to the nearest integer, halves away from zero:
/// written here from the definition, not taken from the crate.
fn round_half_away(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    if 2 * r.abs() >= d { q + n.signum() } else { q }
}

/// The refunds: parts of `sale` cents, each at least a cent; with `full`
/// the last one gives back exactly what remains.
fn refunds(sale: u64, parts: &[u64], full: bool) -> Vec<u64> {
    let mut left = sale;
    let mut out = Vec::new();
    for p in parts {
        if left == 0 {
            break;
        }
        let r = 1 + p % left;
        out.push(r);
        left -= r;
    }
    if full && left > 0 {
        out.push(left);
    }
    out
}

fn minor(nets: &BTreeMap<String, String>) -> BTreeMap<String, i128> {
    nets.iter()
        .map(|(k, v)| {
            let (whole, cents) = v.trim_start_matches('-').split_once('.').unwrap();
            let m = whole.parse::<i128>().unwrap() * 100 + cents.parse::<i128>().unwrap();
            (k.clone(), if v.starts_with('-') { -m } else { m })
        })
        .collect()
}

fn check(triggers: Vec<Trigger>, amount: u64, parts: Vec<u64>, full: bool) {
    let total = amount;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (engine, _dir) = engine().await;
        let yaml = config(&triggers);
        apply(&engine, &yaml).await;
        send(
            &engine,
            "rp",
            &[
                joined("2026-03-01T08:00:00Z", "bob", None),
                signed_up("2026-03-01T09:00:00Z", "acme", "bob"),
                sale("2026-03-02T10:00:00Z", "s", "acme", &decimal(total), None),
            ],
        )
        .await;
        let original = minor(&net(&engine, "rp", "s").await);
        assert_eq!(original.len(), triggers.len(), "{yaml}");
        let refunds = refunds(total, &parts, full);
        let mut refunded: u64 = 0;
        for (i, r) in refunds.iter().enumerate() {
            send(
                &engine,
                "rp",
                &[refund(
                    &format!("2026-03-{:02}T10:00:00Z", 3 + i),
                    &format!("r{i}"),
                    "s",
                    &decimal(*r),
                )],
            )
            .await;
            refunded += r;
            let now = minor(&net(&engine, "rp", "s").await);
            for (trigger, gross) in &original {
                let expected =
                    round_half_away(gross * i128::from(total - refunded), i128::from(total));
                let got = now.get(trigger).copied().unwrap_or(0);
                assert_eq!(
                    got, expected,
                    "{trigger} after refunding {refunded} of {total} (gross {gross})\n{yaml}"
                );
                assert!(
                    got == 0 || got.signum() == gross.signum(),
                    "{trigger} crossed zero: {got} of {gross}"
                );
            }
        }
        if refunded == total {
            for (trigger, net) in minor(&net(&engine, "rp", "s").await) {
                assert_eq!(net, 0, "{trigger} after a full refund");
            }
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]

    #[test]
    fn refunds_net_each_trigger_in_proportion_and_a_full_refund_nets_zero(
        triggers in prop::collection::vec(trigger(), 1..4),
        sale in 1u64..=1_000_000,
        parts in prop::collection::vec(any::<u64>(), 1..6),
        full in any::<bool>(),
    ) {
        check(triggers, sale, parts, full);
    }
}

#[test]
fn a_third_of_a_cent_rounds_half_away() {
    // 10% of 0.05 is 0.005: one cent, half away from zero; refunding 0.03 of
    // 0.05 leaves round_half_away(1 × 2 / 5) = 0.
    check(
        vec![Trigger {
            pays: Pays::Percent(1_000),
            installments: 1,
        }],
        5,
        vec![2],
        false,
    );
}
