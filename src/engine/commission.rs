//! Commission triggers: which fire for a transaction, rule by rule, and what
//! they pay.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::runtime::RuntimeConfig;
use crate::spec::{CommissionTrigger, Compare, MemberOp, ProductStatus, Rule, SetOp, Window};
use crate::store::record::{Seen, TransactionRecord};

/// What a rule is evaluated against: the transaction with what it saw when
/// it came in, so the ledger and `explain` judge it alike.
pub struct Facts<'a> {
    pub transaction: &'a TransactionRecord,
    /// The matched product's name in the config evaluated under.
    pub product_name: Option<&'a str>,
    pub timezone: Tz,
}

impl<'a> Facts<'a> {
    /// The facts of `transaction` under `cfg`, the config it is judged by.
    pub fn new(cfg: &'a RuntimeConfig, transaction: &'a TransactionRecord) -> Facts<'a> {
        Facts {
            transaction,
            product_name: transaction
                .product
                .as_ref()
                .and_then(|p| cfg.products.get(p))
                .map(|p| p.name.as_str()),
            timezone: cfg.timezone,
        }
    }

    fn seen(&self) -> &Seen {
        &self.transaction.seen
    }

    /// The matched product's key, status and creation time.
    fn product(&self) -> Option<(&str, ProductStatus, DateTime<Utc>)> {
        let seen = self.seen();
        Some((
            self.transaction.product.as_deref()?,
            seen.product_status?,
            seen.product_created_at?,
        ))
    }

    fn has_tag(&self, tag: &str) -> bool {
        self.seen()
            .partner_tags
            .binary_search_by(|t| t.as_str().cmp(tag))
            .is_ok()
    }
}

/// One rule's verdict and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RuleVerdict {
    pub rule: Rule,
    pub holds: bool,
    pub reason: String,
}

fn set_holds<T: PartialEq>(op: &SetOp<T>, value: &T) -> bool {
    match op {
        SetOp::AnyOf(v) => v.contains(value),
        SetOp::NoneOf(v) => !v.contains(value),
    }
}

pub fn member_holds(op: &MemberOp, have: &[&str]) -> bool {
    match op {
        MemberOp::AnyOf(v) => v.iter().any(|x| have.contains(&x.as_str())),
        MemberOp::AllOf(v) => v.iter().all(|x| have.contains(&x.as_str())),
        MemberOp::NoneOf(v) => !v.iter().any(|x| have.contains(&x.as_str())),
    }
}

fn describe_compare<T: std::fmt::Display + Copy>(c: &Compare<T>) -> String {
    let mut parts = Vec::new();
    for (op, v) in [("gt", c.gt), ("gte", c.gte), ("lt", c.lt), ("lte", c.lte)] {
        if let Some(v) = v {
            parts.push(format!("{op} {v}"));
        }
    }
    parts.join(", ")
}

/// A value as it is written in config: `one_time`, `active`.
fn wire<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn list<T: Serialize>(op: &str, v: &[T]) -> String {
    let items: Vec<String> = v.iter().map(wire).collect();
    format!("{op} [{}]", items.join(", "))
}

fn names(op: &str, v: &[String]) -> String {
    format!("{op} [{}]", v.join(", "))
}

/// The local calendar date of `t` in `tz`.
pub fn local_date(t: DateTime<Utc>, tz: Tz) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// Whether `created` falls in `window` as seen at `at`, in the program's time zone.
pub fn within(window: Window, created: DateTime<Utc>, at: DateTime<Utc>, tz: Tz) -> bool {
    // A product recorded a moment after the sale it matched counts as created
    // with the sale.
    let created = created.min(at);
    let (c, a) = (local_date(created, tz), local_date(at, tz));
    match window {
        Window::CurrentCalendarDay => c == a,
        Window::PreviousCalendarDay => a.pred_opt() == Some(c),
        Window::CurrentCalendarMonth => (c.year(), c.month()) == (a.year(), a.month()),
        Window::PreviousCalendarMonth => {
            let prev = a.with_day(1).and_then(|d| d.pred_opt()).unwrap_or(a);
            (c.year(), c.month()) == (prev.year(), prev.month())
        }
        Window::RollingDays(d) => created > at - Duration::days(i64::from(d.get())),
    }
}

fn window_name(w: Window) -> String {
    match w {
        Window::CurrentCalendarDay => "current_calendar_day".into(),
        Window::PreviousCalendarDay => "previous_calendar_day".into(),
        Window::CurrentCalendarMonth => "current_calendar_month".into(),
        Window::PreviousCalendarMonth => "previous_calendar_month".into(),
        Window::RollingDays(d) => format!("the last {d} days"),
    }
}

fn customer_age(f: &Facts) -> u32 {
    let age = f
        .seen()
        .customer_since
        .map_or(0, |s| (f.transaction.at - s).num_days().max(0));
    u32::try_from(age).unwrap_or(u32::MAX)
}

/// Whether a rule holds: the hot path of every transaction, so no words.
pub fn holds(rule: &Rule, f: &Facts) -> bool {
    let product = f.product();
    match rule {
        Rule::ProductKey(op) => product.is_some_and(|(key, _, _)| match op {
            SetOp::AnyOf(v) => v.iter().any(|x| x == key),
            SetOp::NoneOf(v) => !v.iter().any(|x| x == key),
        }),
        Rule::ProductName(op) => product.and(f.product_name).is_some_and(|name| match op {
            SetOp::AnyOf(v) => v.iter().any(|x| x == name),
            SetOp::NoneOf(v) => !v.iter().any(|x| x == name),
        }),
        Rule::ProductStatus(op) => product.is_some_and(|(_, status, _)| set_holds(op, &status)),
        Rule::ProductCreated(w) => product
            .is_some_and(|(_, _, created)| within(w.within, created, f.transaction.at, f.timezone)),
        Rule::PartnerGroup(op) => {
            let have: Vec<&str> = f.seen().partner_group.iter().map(String::as_str).collect();
            member_holds(op, &have)
        }
        Rule::PartnerTag(op) => match op {
            MemberOp::AnyOf(v) => v.iter().any(|t| f.has_tag(t)),
            MemberOp::AllOf(v) => v.iter().all(|t| f.has_tag(t)),
            MemberOp::NoneOf(v) => !v.iter().any(|t| f.has_tag(t)),
        },
        Rule::TransactionAmount(c) => c.holds(f.transaction.amount),
        Rule::TransactionKind(op) => op.values().contains(&f.transaction.kind),
        Rule::CustomerAgeDays(c) => c.holds(customer_age(f)),
    }
}

/// Evaluates one rule, saying why it holds or not.
pub fn verdict(rule: &Rule, f: &Facts) -> RuleVerdict {
    let (holds, reason) = match (rule, f.product()) {
        (
            Rule::ProductKey(_)
            | Rule::ProductName(_)
            | Rule::ProductStatus(_)
            | Rule::ProductCreated(_),
            None,
        ) => (false, "no product matched the transaction".to_owned()),
        (Rule::ProductKey(op), Some((key, _, _))) => (
            set_holds(op, &key.to_owned()),
            format!(
                "product key `{key}`, rule {}",
                names(op.operator(), op.values())
            ),
        ),
        (Rule::ProductName(op), Some((key, _, _))) => match f.product_name {
            Some(name) => (
                set_holds(op, &name.to_owned()),
                format!(
                    "product name `{name}`, rule {}",
                    names(op.operator(), op.values())
                ),
            ),
            None => (
                false,
                format!("product `{key}` was not in the config, so it had no name"),
            ),
        },
        (Rule::ProductStatus(op), Some((_, status, _))) => (
            set_holds(op, &status),
            format!(
                "product status `{}` at the transaction's time, rule {}",
                status.as_str(),
                list(op.operator(), op.values())
            ),
        ),
        (Rule::ProductCreated(w), Some((_, _, created))) => (
            within(w.within, created, f.transaction.at, f.timezone),
            format!(
                "product created {} ({}), rule within {} of the transaction",
                created
                    .with_timezone(&f.timezone)
                    .format("%Y-%m-%d %H:%M %Z"),
                f.timezone,
                window_name(w.within)
            ),
        ),
        (Rule::PartnerGroup(op), _) => {
            let group = f.seen().partner_group.as_deref();
            let have: Vec<&str> = group.into_iter().collect();
            (
                member_holds(op, &have),
                format!(
                    "partner group {}, rule {}",
                    group.map_or("(none)".to_owned(), |g| format!("`{g}`")),
                    names(op.operator(), op.values())
                ),
            )
        }
        (Rule::PartnerTag(op), _) => {
            let have: Vec<&str> = f.seen().partner_tags.iter().map(String::as_str).collect();
            (
                member_holds(op, &have),
                format!(
                    "partner tags [{}], rule {}",
                    have.join(", "),
                    names(op.operator(), op.values())
                ),
            )
        }
        (Rule::TransactionAmount(c), _) => (
            c.holds(f.transaction.amount),
            format!(
                "amount {}, rule {}",
                f.transaction.amount,
                describe_compare(c)
            ),
        ),
        (Rule::TransactionKind(op), _) => (
            op.values().contains(&f.transaction.kind),
            format!(
                "kind `{}`, rule {}",
                wire(&f.transaction.kind),
                list("any_of", op.values())
            ),
        ),
        (Rule::CustomerAgeDays(c), _) => {
            let age = customer_age(f);
            (
                c.holds(age),
                format!("customer age {age} days, rule {}", describe_compare(c)),
            )
        }
    };
    debug_assert_eq!(
        holds,
        self::holds(rule, f),
        "the two evaluations of {rule:?} disagree"
    );
    RuleVerdict {
        rule: rule.clone(),
        holds,
        reason,
    }
}

/// Whether every rule of `trigger` holds.
pub fn fires(trigger: &CommissionTrigger, facts: &Facts) -> bool {
    trigger.rules.iter().all(|r| holds(r, facts))
}

/// Midnight UTC of a date, for tests and examples.
pub fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("a valid date")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Days;

    #[test]
    fn calendar_windows_use_the_program_time_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 23:30 UTC on the 31st is already the 1st in Berlin.
        let created = utc(2026, 3, 31, 23, 30);
        let at = utc(2026, 4, 1, 8, 0);
        assert!(within(Window::CurrentCalendarDay, created, at, berlin));
        assert!(!within(
            Window::CurrentCalendarDay,
            created,
            at,
            chrono_tz::UTC
        ));
        assert!(within(
            Window::PreviousCalendarDay,
            created,
            at,
            chrono_tz::UTC
        ));
        assert!(within(Window::CurrentCalendarMonth, created, at, berlin));
        assert!(within(
            Window::PreviousCalendarMonth,
            created,
            at,
            chrono_tz::UTC
        ));
        let jan = utc(2026, 1, 15, 0, 0);
        assert!(within(
            Window::PreviousCalendarMonth,
            utc(2025, 12, 31, 12, 0),
            jan,
            chrono_tz::UTC
        ));
        let seven = Window::RollingDays(Days::new(7).unwrap());
        assert!(within(
            seven,
            at - Duration::days(7) + Duration::seconds(1),
            at,
            berlin
        ));
        assert!(!within(seven, at - Duration::days(7), at, berlin));
        // Recorded after the sale it matched: created with the sale.
        assert!(within(seven, at + Duration::seconds(1), at, berlin));
        assert!(within(
            Window::CurrentCalendarDay,
            at + Duration::days(2),
            at,
            berlin
        ));
    }
}
