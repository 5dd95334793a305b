//! The money arithmetic of the ledger, as pure functions: what a trigger
//! pays, how a commission splits into installments, and what a commission
//! nets after refunds. Everything is integer minor units; every rounding is
//! half away from zero, in one place.

use chrono::{DateTime, Duration, Months, TimeZone, Utc};
use chrono_tz::Tz;

use crate::spec::money::round_half_away;
use crate::spec::{Commission, Money};

/// The amount a trigger pays on a transaction of `amount`: a percentage
/// rounded half away from zero to the currency's minor unit, or a flat
/// amount (a zero transaction, a trial's first invoice, still earns a flat
/// amount unless the trigger's rules ask for `transaction.amount: {gt: 0}`).
pub fn commission_amount(commission: Commission, amount: Money) -> Money {
    match commission {
        Commission::Percent(p) => p.of(amount),
        Commission::Flat(m) => m.in_minor_units(amount.exp()).unwrap_or(m),
    }
}

/// Splits `total` into `n` monthly installments, the odd minor units on the
/// first, due at `at` plus k months in `tz` (Jan 31 + 1 month is the last day
/// of February).
pub fn installments(
    total: Money,
    n: u32,
    at: DateTime<Utc>,
    tz: Tz,
) -> Vec<(Money, DateTime<Utc>)> {
    let n = n.max(1);
    let base = total.minor() / i64::from(n);
    let odd = total.minor() - base * i64::from(n);
    let local = at.with_timezone(&tz).naive_local();
    (0..n)
        .map(|k| {
            let minor = if k == 0 { base + odd } else { base };
            // The first is due with the transaction itself, even in an hour
            // the clocks repeat.
            let due_at = if k == 0 {
                at
            } else {
                due(local, k, tz).unwrap_or(at)
            };
            (Money::new(minor, total.exp()), due_at)
        })
        .collect()
}

/// `local` plus `k` months in `tz`, clamping the day to the month's end. A time
/// the clocks skip moves on by the hour skipped; a time they repeat is the
/// first of the two.
fn due(local: chrono::NaiveDateTime, k: u32, tz: Tz) -> Option<DateTime<Utc>> {
    let target = local.checked_add_months(Months::new(k))?;
    let resolved = match tz.from_local_datetime(&target) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t,
        chrono::LocalResult::None => tz
            .from_local_datetime(&(target + Duration::hours(1)))
            .earliest()?,
    };
    Some(resolved.with_timezone(&Utc))
}

/// What a commission of `gross` on a sale of `sale` nets once `refunded` of
/// the sale has been given back: `round_half_away(gross × (sale − refunded) /
/// sale)`. A full refund nets exactly zero; it never crosses zero.
pub fn net_after_refunds(gross: Money, sale: Money, refunded: Money) -> Money {
    if sale.minor() <= 0 || refunded.minor() <= 0 {
        return gross;
    }
    let left = i128::from(sale.minor() - refunded.minor().min(sale.minor()));
    let net = round_half_away(i128::from(gross.minor()) * left, i128::from(sale.minor()));
    Money::new(i64::try_from(net).unwrap_or(0), gross.exp())
}

/// Splits `total` over parts in proportion to `weights` (all of one sign,
/// `|total| <= |sum of weights|`), so that the parts add up to `total`
/// exactly and none passes its weight or crosses zero. The units left over
/// after truncating go to the parts with the largest remainders, the
/// earliest first on a tie.
pub fn allocate(total: Money, weights: &[Money]) -> Vec<Money> {
    let exp = total.exp();
    let sum: i128 = weights.iter().map(|w| i128::from(w.minor())).sum();
    if weights.is_empty() {
        return Vec::new();
    }
    if sum == 0 {
        let mut parts = vec![Money::zero(exp); weights.len()];
        parts[0] = total;
        return parts;
    }
    let t = i128::from(total.minor());
    let mut parts: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = t * i128::from(w.minor());
        parts.push(exact / sum);
        remainders.push(((exact % sum).abs(), i));
    }
    let mut left = t - parts.iter().sum::<i128>();
    let step = left.signum();
    // Largest remainder first; the earliest part on a tie.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        parts[i] += step;
        left -= step;
    }
    parts
        .into_iter()
        .map(|p| Money::new(i64::try_from(p).unwrap_or(0), exp))
        .collect()
}

/// What each installment of a commission should net: the commission's net
/// after refunds, spread over the installments as they were split.
pub fn installment_targets(split: &[Money], sale: Money, refunded: Money) -> Vec<Money> {
    let exp = split.first().map_or(0, |m| m.exp());
    let gross = Money::new(split.iter().map(|m| m.minor()).sum(), exp);
    allocate(net_after_refunds(gross, sale, refunded), split)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Percent;

    fn m(c: i64) -> Money {
        Money::from_cents(c)
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn commission_amounts() {
        let ten = Commission::Percent(Percent::from_basis_points(1000).unwrap());
        assert_eq!(commission_amount(ten, m(4900)), m(490));
        assert_eq!(commission_amount(ten, m(45)), m(5));
        assert_eq!(commission_amount(ten, m(44)), m(4));
        let flat = Commission::Flat(m(2500));
        assert_eq!(commission_amount(flat, m(9900)), m(2500));
        assert_eq!(commission_amount(flat, Money::zero(2)), m(2500));
        // A flat amount written as "25" in a two-decimal currency.
        assert_eq!(
            commission_amount(Commission::Flat(Money::new(25, 0)), m(100)).minor(),
            2500
        );
        assert_eq!(commission_amount(flat, m(9900)).exp(), 2);
    }

    #[test]
    fn drip_puts_odd_units_first_and_clamps_month_ends() {
        let split = installments(m(1000), 3, utc(2026, 1, 31, 15, 0), chrono_tz::UTC);
        assert_eq!(
            split.iter().map(|(m, _)| m.minor()).collect::<Vec<_>>(),
            [334, 333, 333]
        );
        assert_eq!(split[0].1, utc(2026, 1, 31, 15, 0));
        assert_eq!(split[1].1, utc(2026, 2, 28, 15, 0));
        assert_eq!(split[2].1, utc(2026, 3, 31, 15, 0));
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let gap = installments(m(300), 3, utc(2026, 1, 29, 1, 30), berlin);
        assert_eq!(
            gap[2].1.with_timezone(&berlin).date_naive().to_string(),
            "2026-03-29"
        );
        // 02:30 local does not exist that night: moved on by the hour
        // skipped, to 03:30 CEST (01:30 UTC), never back to 01:30 CET.
        assert_eq!(gap[2].1, utc(2026, 3, 29, 1, 30));
        let overlap = installments(m(300), 3, utc(2026, 8, 25, 0, 30), berlin);
        assert_eq!(overlap[2].1, utc(2026, 10, 25, 0, 30));
        let leap = installments(m(100), 2, utc(2028, 1, 31, 0, 0), chrono_tz::UTC);
        assert_eq!(leap[1].1, utc(2028, 2, 29, 0, 0));
        let total: i64 = installments(m(-1001), 4, utc(2026, 5, 1, 0, 0), chrono_tz::UTC)
            .iter()
            .map(|(m, _)| m.minor())
            .sum();
        assert_eq!(total, -1001);
        assert_eq!(
            installments(m(5), 0, utc(2026, 5, 1, 0, 0), chrono_tz::UTC).len(),
            1
        );
        assert_eq!(
            installments(m(7), 2, utc(2026, 5, 1, 0, 0), chrono_tz::UTC)
                .iter()
                .map(|(m, _)| m.minor())
                .collect::<Vec<_>>(),
            [4, 3]
        );
    }

    #[test]
    fn the_first_installment_is_due_with_the_sale_in_a_repeated_hour() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let at = utc(2026, 10, 25, 1, 30);
        let split = installments(m(300), 2, at, berlin);
        assert_eq!(split[0].1, at);
        assert!(split[1].1 > at);
    }

    #[test]
    fn refunds_take_back_in_proportion() {
        // PartnerStack's $99 Inbox sale: 19.80 and a 25.00 bonus.
        let sale = m(9900);
        assert_eq!(net_after_refunds(m(1980), sale, m(5)), m(1979));
        assert_eq!(net_after_refunds(m(2500), sale, m(5)), m(2499));
        assert_eq!(net_after_refunds(m(2500), sale, m(12)), m(2497));
        assert_eq!(net_after_refunds(m(1980), sale, sale), m(0));
        assert_eq!(net_after_refunds(m(1980), sale, m(0)), m(1980));
        assert_eq!(net_after_refunds(m(1980), sale, m(4950)), m(990));
        // Half a cent rounds away from zero.
        assert_eq!(net_after_refunds(m(1), m(2), m(1)), m(1));
        assert_eq!(net_after_refunds(m(3), m(2), m(1)), m(2));
        // More than the sale never goes below zero.
        assert_eq!(net_after_refunds(m(1980), sale, m(9901)), m(0));
        // Nothing to refund on a zero sale.
        assert_eq!(net_after_refunds(m(2500), m(0), m(0)), m(2500));
        assert_eq!(net_after_refunds(m(2500), m(-1), m(1)), m(2500));
        // Yen keep their decimals.
        assert_eq!(
            net_after_refunds(Money::new(10, 0), Money::new(100, 0), Money::new(55, 0)).exp(),
            0
        );
        assert_eq!(
            net_after_refunds(Money::new(10, 0), Money::new(100, 0), Money::new(55, 0)).minor(),
            5
        );
        assert_eq!(
            net_after_refunds(Money::new(10, 0), Money::new(100, 0), Money::new(54, 0)).minor(),
            5
        );
        assert_eq!(
            net_after_refunds(Money::new(10, 0), Money::new(100, 0), Money::new(56, 0)).minor(),
            4
        );
    }

    #[test]
    fn allocation_adds_up_and_stays_within_each_part() {
        let parts = |t: i64, w: &[i64]| {
            allocate(m(t), &w.iter().map(|c| m(*c)).collect::<Vec<_>>())
                .iter()
                .map(|p| p.minor())
                .collect::<Vec<_>>()
        };
        assert_eq!(parts(500, &[334, 333, 333]), [167, 167, 166]);
        assert_eq!(parts(1000, &[334, 333, 333]), [334, 333, 333]);
        assert_eq!(parts(0, &[334, 333, 333]), [0, 0, 0]);
        assert_eq!(parts(1, &[1, 1, 1]), [1, 0, 0]);
        assert_eq!(parts(2, &[1, 1, 1]), [1, 1, 0]);
        assert_eq!(parts(2, &[1, 2, 1]), [1, 1, 0]);
        assert_eq!(parts(3, &[1, 2, 1]), [1, 1, 1]);
        assert_eq!(parts(-500, &[-334, -333, -333]), [-167, -167, -166]);
        assert_eq!(parts(7, &[0, 0]), [7, 0]);
        assert_eq!(parts(10, &[10]), [10]);
        assert!(parts(10, &[]).is_empty());
        assert_eq!(parts(99, &[50, 50]), [50, 49]);
        assert_eq!(allocate(m(9), &[m(4), m(6)])[0].exp(), 2);
    }

    #[test]
    fn installment_targets_follow_refunds() {
        let split = [m(334), m(333), m(333)];
        let t = |r: i64| {
            installment_targets(&split, m(10_000), m(r))
                .iter()
                .map(|p| p.minor())
                .collect::<Vec<_>>()
        };
        assert_eq!(t(0), [334, 333, 333]);
        assert_eq!(t(10_000), [0, 0, 0]);
        assert_eq!(t(5_000), [167, 167, 166]);
        assert_eq!(installment_targets(&[], m(1), m(0)), Vec::<Money>::new());
    }
}
