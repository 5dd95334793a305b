//! Fixed-point decimals with two fractional digits.
//!
//! Money, percentages and revenue thresholds are all written by people as decimals
//! ("19.99", 12.5, 1000) and must be computed exactly, so they are held as integer
//! hundredths. YAML and JSON readers hand us floats for `19.99`; to stay exact the
//! config reader passes the literal's source text instead (see [`DECIMAL_TOKEN`]).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Newtype-struct name a deserializer may recognise to hand over a number's literal
/// text (via `visit_str`) rather than a lossy `f64`.
pub const DECIMAL_TOKEN: &str = "$partnerops::Decimal";

/// Why a decimal was refused; the message is shown to users as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("`{0}` is not a decimal number")]
    Syntax(String),
    #[error("`{0}` has more than two decimals")]
    TooPrecise(String),
    #[error("`{0}` is too large")]
    Overflow(String),
}

/// The largest amount taken in (a price, a flat commission, a transaction), in
/// hundredths: ten trillion in any currency is beyond every real amount, and
/// keeps sums of many of them (revenue, totals) far from the edge of an i64.
/// Sums themselves may be larger, so reading money back is not bounded.
pub const MAX_HUNDREDTHS: i64 = 1_000_000_000_000_000;

/// Why `money` is too large to take in, if it is.
pub fn amount_problem(money: Money) -> Option<String> {
    (money.0.unsigned_abs() > MAX_HUNDREDTHS.unsigned_abs()).then(|| {
        format!(
            "`{money}` is too large: at most {} either way",
            format_short(MAX_HUNDREDTHS)
        )
    })
}

/// Parses `[-+]digits[.digits]` into hundredths; at most two decimals.
pub fn parse_hundredths(text: &str) -> Result<i64, DecimalError> {
    let t = text.trim();
    let syntax = || DecimalError::Syntax(text.to_owned());
    let (negative, unsigned) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (whole, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(syntax());
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    // Trailing zeros carry no precision: "19.900" is 19.90.
    let frac = frac.trim_end_matches('0');
    if frac.len() > 2 {
        return Err(DecimalError::TooPrecise(t.to_owned()));
    }
    let overflow = || DecimalError::Overflow(t.to_owned());
    let whole_value: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| overflow())?
    };
    let mut frac_value: i64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        frac_value += i64::from(b - b'0') * if i == 0 { 10 } else { 1 };
    }
    let value = whole_value
        .checked_mul(100)
        .and_then(|v| v.checked_add(frac_value))
        .ok_or_else(overflow)?;
    Ok(if negative { -value } else { value })
}

/// Formats hundredths as `"19.80"`.
pub fn format_hundredths(value: i64) -> String {
    format_wide(i128::from(value))
}

/// [`format_hundredths`] for a sum that may not fit an i64.
pub fn format_wide(value: i128) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Formats hundredths as the shortest decimal: `1000`, `12.5`, `0.25`.
fn format_short(value: i64) -> String {
    let full = format_hundredths(value);
    let trimmed = full.trim_end_matches('0').trim_end_matches('.');
    trimmed.to_owned()
}

/// Deserializes hundredths from an integer, a float, or a decimal string.
fn deserialize_hundredths<'de, D: Deserializer<'de>>(
    deserializer: D,
    expecting: &'static str,
) -> Result<i64, D::Error> {
    struct HundredthsVisitor(&'static str);

    impl<'de> Visitor<'de> for HundredthsVisitor {
        type Value = i64;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.0)
        }

        fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<i64, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            v.checked_mul(100)
                .ok_or_else(|| E::custom(DecimalError::Overflow(v.to_string())))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v)
                .ok()
                .and_then(|v| v.checked_mul(100))
                .ok_or_else(|| E::custom(DecimalError::Overflow(v.to_string())))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
            if !v.is_finite() {
                return Err(E::custom(DecimalError::Syntax(v.to_string())));
            }
            // Display prints the shortest text that reads back as the same f64,
            // which is the literal the writer meant for any realistic amount.
            parse_hundredths(&v.to_string()).map_err(E::custom)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            parse_hundredths(v).map_err(E::custom)
        }
    }

    deserializer.deserialize_newtype_struct(DECIMAL_TOKEN, HundredthsVisitor(expecting))
}

/// Which values a decimal's schema admits.
#[derive(Clone, Copy)]
enum Range {
    Any,
    NonNegative,
    /// More than 0.
    Positive,
    /// 0 to 100.
    Percent,
}

/// A number, or a string of at most two decimals. Numbers carry no
/// `multipleOf: 0.01`: validators test it in floating point, where 19.99 is not
/// a multiple of 0.01, so it refused valid amounts; the loader checks the
/// decimals of a number exactly instead. A pattern cannot bound a value, so the
/// percent pattern spells out 0 to 100.
fn decimal_schema(description: &str, range: Range) -> Schema {
    let (number, pattern) = match range {
        Range::Any => (
            json_schema!({ "type": "number" }),
            r"^-?[0-9]+(\.[0-9]{1,2})?$",
        ),
        Range::NonNegative => (
            json_schema!({ "type": "number", "minimum": 0 }),
            r"^[0-9]+(\.[0-9]{1,2})?$",
        ),
        Range::Positive => (
            json_schema!({ "type": "number", "exclusiveMinimum": 0 }),
            r"^([0-9]*[1-9][0-9]*(\.[0-9]{1,2})?|0*\.([1-9][0-9]?|0[1-9]))$",
        ),
        Range::Percent => (
            json_schema!({ "type": "number", "minimum": 0, "maximum": 100 }),
            r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$",
        ),
    };
    json_schema!({
        "description": description,
        "anyOf": [number, { "type": "string", "pattern": pattern }]
    })
}

const AMOUNT: &str =
    "An amount in the program currency with at most two decimals: 99, 19.9 or \"19.90\".";

/// The schema of an amount that must not be negative (a flat commission);
/// such amounts are held as [`Money`] and checked on load.
pub fn non_negative_schema(_: &mut SchemaGenerator) -> Schema {
    decimal_schema(&format!("{AMOUNT} Not negative."), Range::NonNegative)
}

/// [`non_negative_schema`], or nothing (a product's price).
pub fn optional_non_negative_schema(generator: &mut SchemaGenerator) -> Schema {
    json_schema!({ "anyOf": [non_negative_schema(generator), { "type": "null" }] })
}

/// An amount of money in the program currency, as integer minor units (cents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(pub i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn cents(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_hundredths(self.0))
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_hundredths(self.0))
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_hundredths(d, "an amount with at most two decimals").map(Money)
    }
}

impl JsonSchema for Money {
    fn schema_name() -> Cow<'static, str> {
        "Money".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        decimal_schema(AMOUNT, Range::Any)
    }
}

/// A percentage with at most two decimals, from 0 to 100, held in hundredths of a
/// percent (basis points): 12.5% is 1250.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(u32);

impl Percent {
    pub const MAX_BASIS_POINTS: u32 = 10_000;

    /// `None` when outside 0..=100%.
    pub fn from_basis_points(bp: i64) -> Option<Percent> {
        u32::try_from(bp)
            .ok()
            .filter(|bp| *bp <= Self::MAX_BASIS_POINTS)
            .map(Percent)
    }

    pub fn basis_points(self) -> u32 {
        self.0
    }

    /// `amount` × this percentage, rounded half away from zero to the cent.
    pub fn of(self, amount: Money) -> Money {
        let product = i128::from(amount.0) * i128::from(self.0);
        let half = 5_000i128;
        let rounded = if product >= 0 {
            (product + half) / 10_000
        } else {
            (product - half) / 10_000
        };
        // |amount| × 10_000 / 10_000 never exceeds |amount|, so this fits.
        Money(i64::try_from(rounded).unwrap_or(i64::MAX))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", format_short(i64::from(self.0)))
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_short(i64::from(self.0), s)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bp = deserialize_hundredths(d, "a percentage from 0 to 100")?;
        Percent::from_basis_points(bp).ok_or_else(|| {
            de::Error::custom(format!(
                "percent must be from 0 to 100, found {}",
                format_short(bp)
            ))
        })
    }
}

impl JsonSchema for Percent {
    fn schema_name() -> Cow<'static, str> {
        "Percent".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        decimal_schema(
            "A percentage from 0 to 100 with at most two decimals.",
            Range::Percent,
        )
    }
}

/// A non-negative threshold with at most two decimals: a count of signups or
/// customers, or an amount of revenue, depending on the milestone metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Threshold(i64);

impl Threshold {
    pub fn from_hundredths(value: i64) -> Option<Threshold> {
        (value >= 0).then_some(Threshold(value))
    }

    pub fn hundredths(self) -> i64 {
        self.0
    }

    /// The threshold as a whole count, when it is one.
    pub fn whole(self) -> Option<i64> {
        (self.0 % 100 == 0).then_some(self.0 / 100)
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_short(self.0))
    }
}

/// Whole numbers as YAML/JSON integers (readable for counts), the rest as strings
/// so they stay exact.
fn serialize_short<S: Serializer>(hundredths: i64, s: S) -> Result<S::Ok, S::Error> {
    if hundredths % 100 == 0 {
        s.serialize_i64(hundredths / 100)
    } else {
        s.serialize_str(&format_short(hundredths))
    }
}

impl Serialize for Threshold {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_short(self.0, s)
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = deserialize_hundredths(d, "a number more than 0")?;
        Threshold::from_hundredths(v).ok_or_else(|| {
            de::Error::custom(format!(
                "at_least must be more than 0, found {}",
                format_short(v)
            ))
        })
    }
}

impl JsonSchema for Threshold {
    fn schema_name() -> Cow<'static, str> {
        "Threshold".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        decimal_schema(
            "A count (signups, customers) or an amount (revenue), more than 0.",
            Range::Positive,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(parse_hundredths("19.99"), Ok(1999));
        assert_eq!(parse_hundredths("19.9"), Ok(1990));
        assert_eq!(parse_hundredths("19.900"), Ok(1990));
        assert_eq!(parse_hundredths("-0.05"), Ok(-5));
        assert_eq!(parse_hundredths("+7"), Ok(700));
        assert_eq!(parse_hundredths(".5"), Ok(50));
        assert_eq!(parse_hundredths("007"), Ok(700));
        assert!(matches!(
            parse_hundredths("19.999"),
            Err(DecimalError::TooPrecise(_))
        ));
        assert!(matches!(
            parse_hundredths("1e3"),
            Err(DecimalError::Syntax(_))
        ));
        assert!(matches!(parse_hundredths(""), Err(DecimalError::Syntax(_))));
        assert!(matches!(
            parse_hundredths("."),
            Err(DecimalError::Syntax(_))
        ));
        assert!(matches!(
            parse_hundredths("99999999999999999999"),
            Err(DecimalError::Overflow(_))
        ));
        assert_eq!(
            parse_hundredths("92233720368547758.07"),
            Ok(i64::MAX),
            "a sum read back is not bounded"
        );
        assert_eq!(amount_problem(Money(-MAX_HUNDREDTHS)), None);
        assert!(
            amount_problem(Money(MAX_HUNDREDTHS + 1))
                .unwrap()
                .contains("at most 10000000000000 either way")
        );
    }

    #[test]
    fn formats_money() {
        assert_eq!(Money(1980).to_string(), "19.80");
        assert_eq!(Money(-5).to_string(), "-0.05");
        assert_eq!(Money(0).to_string(), "0.00");
        assert_eq!(
            format_wide(i128::from(i64::MAX) * 2),
            "184467440737095516.14"
        );
    }

    #[test]
    fn percent_rounds_half_away_from_zero() {
        let ten = Percent::from_basis_points(1000).unwrap();
        assert_eq!(ten.of(Money(4900)), Money(490));
        assert_eq!(ten.of(Money(5)), Money(1)); // 0.5 cent rounds up
        assert_eq!(ten.of(Money(-5)), Money(-1));
        assert_eq!(ten.of(Money(4)), Money(0));
        let third = Percent::from_basis_points(3333).unwrap();
        assert_eq!(third.of(Money(100)), Money(33));
    }
}
