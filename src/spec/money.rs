//! Exact decimals: money in a currency's minor units, percentages, thresholds.
//!
//! Money, percentages and revenue thresholds are all written by people as
//! decimals ("19.99", 12.5, 1000) and must be computed exactly, so they are
//! held as integers with a count of decimals. YAML and JSON readers hand us
//! floats for `19.99`; to stay exact the config reader passes the literal's
//! source text instead (see [`DECIMAL_TOKEN`]).
//!
//! An amount is read with the decimals it was written with; once the program's
//! currency is known it is brought to that currency's minor unit (ISO 4217:
//! USD 2, JPY 0, KWD 3), and refused when it has more decimals than the
//! currency has. From then on every amount of a program has the same number
//! of decimals, and sums are sums of integers.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Newtype-struct name a deserializer may recognise to hand over a number's literal
/// text (via `visit_str`) rather than a lossy `f64`.
pub const DECIMAL_TOKEN: &str = "$partnerops::Decimal";

/// The most decimals any ISO 4217 currency has (CLF, UYW).
pub const MAX_DECIMALS: u8 = 4;

/// Why a decimal was refused; the message is shown to users as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("`{0}` is not a decimal number")]
    Syntax(String),
    #[error("`{0}` has more than {1} decimals")]
    TooPrecise(String, u8),
    #[error("`{0}` is too large")]
    Overflow(String),
}

/// The largest amount taken in (a price, a flat commission, a transaction), in
/// whole currency units: ten trillion in any currency is beyond every real
/// amount, and keeps sums of many of them (revenue, totals) far from the edge
/// of an i64 even with four decimals. Sums themselves may be larger, so
/// reading money back is not bounded.
pub const MAX_UNITS: i64 = 10_000_000_000_000;

/// Why `money` is too large to take in, if it is.
pub fn amount_problem(money: Money) -> Option<String> {
    let limit = i128::from(MAX_UNITS) * pow10(money.exp);
    (i128::from(money.minor).abs() > limit)
        .then(|| format!("`{money}` is too large: at most {MAX_UNITS} either way"))
}

fn pow10(exp: u8) -> i128 {
    10i128.pow(u32::from(exp))
}

/// Parses `[-+]digits[.digits]` exactly, as (value, decimals) with the
/// decimals written ("19.90" has two, so it prints back as written); trailing
/// zeros beyond `max` decimals carry no precision and are dropped.
pub fn parse_decimal(text: &str, max: u8) -> Result<(i64, u8), DecimalError> {
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
    let frac = if frac.len() > usize::from(max) {
        frac.trim_end_matches('0')
    } else {
        frac
    };
    let decimals = u8::try_from(frac.len()).unwrap_or(u8::MAX);
    if decimals > max {
        return Err(DecimalError::TooPrecise(t.to_owned(), max));
    }
    let overflow = || DecimalError::Overflow(t.to_owned());
    let digits = format!("{whole}{frac}");
    let digits = digits.trim_start_matches('0');
    let value: i64 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| overflow())?
    };
    Ok((if negative { -value } else { value }, decimals))
}

/// Formats `value / 10^exp` with exactly `exp` decimals: `"19.80"`, `"100"`.
pub fn format_decimal(value: i128, exp: u8) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    if exp == 0 {
        return format!("{sign}{abs}");
    }
    let unit = 10u128.pow(u32::from(exp));
    format!(
        "{sign}{}.{:0width$}",
        abs / unit,
        abs % unit,
        width = usize::from(exp)
    )
}

/// Formats a decimal in its shortest form: `1000`, `12.5`, `0.25`.
fn format_short(value: i64, exp: u8) -> String {
    let full = format_decimal(i128::from(value), exp);
    if exp == 0 {
        return full;
    }
    full.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Deserializes a decimal from an integer, a float, or a decimal string.
fn deserialize_decimal<'de, D: Deserializer<'de>>(
    deserializer: D,
    max: u8,
    expecting: &'static str,
) -> Result<(i64, u8), D::Error> {
    struct DecimalVisitor(u8, &'static str);

    impl<'de> Visitor<'de> for DecimalVisitor {
        type Value = (i64, u8);

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.1)
        }

        fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(i64, u8), D::Error> {
            d.deserialize_any(self)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<(i64, u8), E> {
            Ok((v, 0))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<(i64, u8), E> {
            i64::try_from(v)
                .map(|v| (v, 0))
                .map_err(|_| E::custom(DecimalError::Overflow(v.to_string())))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<(i64, u8), E> {
            if !v.is_finite() {
                return Err(E::custom(DecimalError::Syntax(v.to_string())));
            }
            // Display prints the shortest text that reads back as the same f64,
            // which is the literal the writer meant for any realistic amount.
            parse_decimal(&v.to_string(), self.0).map_err(E::custom)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<(i64, u8), E> {
            parse_decimal(v, self.0).map_err(E::custom)
        }
    }

    deserializer.deserialize_newtype_struct(DECIMAL_TOKEN, DecimalVisitor(max, expecting))
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

/// A number, or a string of at most four decimals (the most a currency has;
/// the program's currency may allow fewer, which `validate` checks). Numbers
/// carry no `multipleOf`: validators test it in floating point, where 19.99
/// is not a multiple of 0.01, so it refused valid amounts; the loader checks
/// the decimals of a number exactly instead. A pattern cannot bound a value,
/// so the percent pattern spells out 0 to 100.
fn decimal_schema(description: &str, range: Range) -> Schema {
    let (number, pattern) = match range {
        Range::Any => (
            json_schema!({ "type": "number" }),
            r"^-?[0-9]+(\.[0-9]{1,4})?$",
        ),
        Range::NonNegative => (
            json_schema!({ "type": "number", "minimum": 0 }),
            r"^[0-9]+(\.[0-9]{1,4})?$",
        ),
        Range::Positive => (
            json_schema!({ "type": "number", "exclusiveMinimum": 0 }),
            r"^([0-9]*[1-9][0-9]*(\.[0-9]{1,4})?|0*\.(0{0,3}[1-9][0-9]{0,3}))$",
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

const AMOUNT: &str = "An amount in the program currency with at most the currency's decimals (USD 2, JPY 0, KWD 3): 99, 19.9 or \"19.90\".";

/// The schema of an amount that must not be negative (a flat commission);
/// such amounts are held as [`Money`] and checked on load.
pub fn non_negative_schema(_: &mut SchemaGenerator) -> Schema {
    decimal_schema(&format!("{AMOUNT} Not negative."), Range::NonNegative)
}

/// [`non_negative_schema`], or nothing (a product's price).
pub fn optional_non_negative_schema(generator: &mut SchemaGenerator) -> Schema {
    json_schema!({ "anyOf": [non_negative_schema(generator), { "type": "null" }] })
}

/// An amount of money: `minor / 10^exp`. Within a program every amount is in
/// the currency's minor units (`exp` is the currency's exponent); an amount
/// just read carries the decimals it was written with until
/// [`Money::in_minor_units`] brings it to the currency.
///
/// Equality, order and hashing go by value, so `19.9` and `19.90` are equal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Money {
    minor: i64,
    exp: u8,
}

impl Money {
    /// Zero, with no decimals; equal to every other zero.
    pub const ZERO: Money = Money { minor: 0, exp: 0 };

    /// `minor / 10^exp`.
    pub const fn new(minor: i64, exp: u8) -> Money {
        Money { minor, exp }
    }

    /// An amount in hundredths (cents): for two-decimal currencies and tests.
    pub const fn from_cents(cents: i64) -> Money {
        Money {
            minor: cents,
            exp: 2,
        }
    }

    /// Zero in a currency of `exp` decimals (prints as `0.00` for two).
    pub const fn zero(exp: u8) -> Money {
        Money { minor: 0, exp }
    }

    /// The amount in minor units of its `exp`.
    pub const fn minor(self) -> i64 {
        self.minor
    }

    /// Decimals: the currency's exponent once brought to a currency.
    pub const fn exp(self) -> u8 {
        self.exp
    }

    /// The same amount in minor units of a currency with `exp` decimals;
    /// `None` when it has more decimals than that (or does not fit).
    pub fn in_minor_units(self, exp: u8) -> Option<Money> {
        match exp.cmp(&self.exp) {
            Ordering::Equal => Some(self),
            Ordering::Greater => {
                let scale = i64::try_from(pow10(exp - self.exp)).ok()?;
                Some(Money {
                    minor: self.minor.checked_mul(scale)?,
                    exp,
                })
            }
            Ordering::Less => {
                let scale = i64::try_from(pow10(self.exp - exp)).ok()?;
                (self.minor % scale == 0).then_some(Money {
                    minor: self.minor / scale,
                    exp,
                })
            }
        }
    }

    /// `self + other` in `self`'s decimals, `None` on overflow or when
    /// `other` has more decimals.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        let other = other.in_minor_units(self.exp.max(other.exp))?;
        let this = self.in_minor_units(other.exp)?;
        Some(Money {
            minor: this.minor.checked_add(other.minor)?,
            exp: this.exp,
        })
    }

    /// `-self`.
    pub fn negated(self) -> Money {
        Money {
            minor: -self.minor,
            exp: self.exp,
        }
    }

    pub fn is_negative(self) -> bool {
        self.minor < 0
    }

    pub fn is_positive(self) -> bool {
        self.minor > 0
    }

    /// The value scaled to `exp` decimals as a wide integer, for comparing
    /// amounts (and thresholds) of different decimals exactly.
    fn scaled(self, exp: u8) -> i128 {
        i128::from(self.minor) * pow10(exp.saturating_sub(self.exp))
    }
}

impl PartialEq for Money {
    fn eq(&self, other: &Money) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Money {}

impl PartialOrd for Money {
    fn partial_cmp(&self, other: &Money) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Money {
    fn cmp(&self, other: &Money) -> Ordering {
        let exp = self.exp.max(other.exp);
        self.scaled(exp).cmp(&other.scaled(exp))
    }
}

impl Hash for Money {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // By value: the fewest decimals that hold it.
        let (mut minor, mut exp) = (self.minor, self.exp);
        while exp > 0 && minor % 10 == 0 {
            minor /= 10;
            exp -= 1;
        }
        (minor, exp).hash(state);
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_decimal(i128::from(self.minor), self.exp))
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_decimal(d, MAX_DECIMALS, "an amount of money")
            .map(|(minor, exp)| Money { minor, exp })
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

/// A sum of amounts that may pass what one amount holds (a ledger total).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Total {
    minor: i128,
    exp: u8,
}

impl Total {
    pub fn zero(exp: u8) -> Total {
        Total { minor: 0, exp }
    }

    /// Adds an amount of the same currency.
    pub fn add(&mut self, m: Money) {
        let exp = self.exp.max(m.exp);
        self.minor = self.minor * pow10(exp - self.exp) + m.scaled(exp);
        self.exp = exp;
    }

    /// Adds minor units of the total's own decimals.
    pub fn add_minor(&mut self, minor: i128) {
        self.minor += minor;
    }

    pub fn minor(self) -> i128 {
        self.minor
    }

    /// As one amount, when it fits.
    pub fn money(self) -> Option<Money> {
        Some(Money::new(i64::try_from(self.minor).ok()?, self.exp))
    }
}

impl fmt::Display for Total {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_decimal(self.minor, self.exp))
    }
}

impl Serialize for Total {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Total {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let (sign, body) = text
            .strip_prefix('-')
            .map_or((1, text.as_str()), |b| (-1, b));
        let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
        let exp = u8::try_from(frac.len()).map_err(de::Error::custom)?;
        let digits: i128 = format!("{whole}{frac}")
            .parse()
            .map_err(|_| de::Error::custom(format!("`{text}` is not a decimal total")))?;
        Ok(Total {
            minor: sign * digits,
            exp,
        })
    }
}

impl JsonSchema for Total {
    fn schema_name() -> Cow<'static, str> {
        "Total".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A sum of amounts in the program currency, as a decimal string.",
            "type": "string",
            "pattern": r"^-?[0-9]+(\.[0-9]{1,4})?$"
        })
    }
}

/// The number of decimals of an ISO 4217 currency's minor unit, from the
/// `iso_currency` table; `None` for a code that is not a currency, or one
/// without a minor unit (gold, "no currency").
pub fn currency_exponent(code: &str) -> Option<u8> {
    let currency = iso_currency::Currency::from_code(code)?;
    currency
        .exponent()
        .and_then(|e| u8::try_from(e).ok())
        .filter(|e| *e <= MAX_DECIMALS)
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

    /// `amount` × this percentage, rounded half away from zero to the minor
    /// unit of the amount's currency.
    pub fn of(self, amount: Money) -> Money {
        let product = i128::from(amount.minor) * i128::from(self.0);
        let rounded = round_half_away(product, 10_000);
        // |amount| × 10_000 / 10_000 never exceeds |amount|, so this fits.
        Money::new(i64::try_from(rounded).unwrap_or(i64::MAX), amount.exp)
    }
}

/// `n / d` rounded half away from zero (`d` > 0).
pub fn round_half_away(n: i128, d: i128) -> i128 {
    let half = d / 2;
    let q = n.abs() / d;
    let r = n.abs() % d;
    // An odd divisor has no exact half; a remainder above d/2 rounds up.
    let up = if d % 2 == 0 { r >= half } else { r > half };
    let q = if up { q + 1 } else { q };
    if n < 0 { -q } else { q }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", format_short(i64::from(self.0), 2))
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_short(i64::from(self.0), 2, s)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (value, exp) = deserialize_decimal(d, 2, "a percentage from 0 to 100")?;
        let bp = i64::try_from(i128::from(value) * pow10(2 - exp)).unwrap_or(i64::MAX);
        Percent::from_basis_points(bp).ok_or_else(|| {
            de::Error::custom(format!(
                "percent must be from 0 to 100, found {}",
                format_short(value, exp)
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

/// A non-negative threshold: a count of signups, customers or sales, or an
/// amount of revenue, depending on the milestone metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Threshold(Money);

impl Threshold {
    /// From hundredths: `from_hundredths(150_000)` is 1500.
    pub fn from_hundredths(value: i64) -> Option<Threshold> {
        Threshold::new(Money::from_cents(value))
    }

    /// `None` when negative.
    pub fn new(value: Money) -> Option<Threshold> {
        (!value.is_negative()).then_some(Threshold(value))
    }

    pub fn is_zero(self) -> bool {
        self.0.minor == 0
    }

    /// The threshold as a whole count, when it is one.
    pub fn whole(self) -> Option<u64> {
        self.0
            .in_minor_units(0)
            .and_then(|m| u64::try_from(m.minor).ok())
    }

    /// The threshold as an amount (revenue).
    pub fn amount(self) -> Money {
        self.0
    }

    pub fn amount_mut(&mut self) -> &mut Money {
        &mut self.0
    }

    /// Whether a count reaches it.
    pub fn reached_by_count(self, n: u64) -> bool {
        Money::new(i64::try_from(n).unwrap_or(i64::MAX), 0) >= self.0
    }

    /// Whether an amount reaches it.
    pub fn reached_by(self, amount: Money) -> bool {
        amount >= self.0
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_short(self.0.minor, self.0.exp))
    }
}

/// Whole numbers as YAML/JSON integers (readable for counts), the rest as strings
/// so they stay exact.
fn serialize_short<S: Serializer>(value: i64, exp: u8, s: S) -> Result<S::Ok, S::Error> {
    let unit = i64::try_from(pow10(exp)).unwrap_or(i64::MAX);
    if value % unit == 0 {
        s.serialize_i64(value / unit)
    } else {
        s.serialize_str(&format_short(value, exp))
    }
}

impl Serialize for Threshold {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_short(self.0.minor, self.0.exp, s)
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (minor, exp) = deserialize_decimal(d, MAX_DECIMALS, "a number more than 0")?;
        Threshold::new(Money::new(minor, exp)).ok_or_else(|| {
            de::Error::custom(format!(
                "at_least must be more than 0, found {}",
                format_short(minor, exp)
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
            "A count (signups, customers, sales) or an amount (revenue), more than 0.",
            Range::Positive,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(parse_decimal("19.99", 4), Ok((1999, 2)));
        assert_eq!(parse_decimal("19.9", 4), Ok((199, 1)));
        assert_eq!(parse_decimal("19.90", 4), Ok((1990, 2)));
        assert_eq!(parse_decimal("19.900", 2), Ok((199, 1)));
        assert_eq!(parse_decimal("1.00000", 4), Ok((1, 0)));
        assert_eq!(parse_decimal("-0.05", 4), Ok((-5, 2)));
        assert_eq!(parse_decimal("+7", 4), Ok((7, 0)));
        assert_eq!(parse_decimal(".5", 4), Ok((5, 1)));
        assert_eq!(parse_decimal("007", 4), Ok((7, 0)));
        assert_eq!(parse_decimal("1.125", 4), Ok((1125, 3)));
        assert!(matches!(
            parse_decimal("19.99999", 4),
            Err(DecimalError::TooPrecise(_, 4))
        ));
        assert!(matches!(
            parse_decimal("1.234", 2),
            Err(DecimalError::TooPrecise(_, 2))
        ));
        assert!(matches!(
            parse_decimal("1e3", 4),
            Err(DecimalError::Syntax(_))
        ));
        assert!(matches!(parse_decimal("", 4), Err(DecimalError::Syntax(_))));
        assert!(matches!(
            parse_decimal(".", 4),
            Err(DecimalError::Syntax(_))
        ));
        assert!(matches!(
            parse_decimal("99999999999999999999", 4),
            Err(DecimalError::Overflow(_))
        ));
    }

    #[test]
    fn brings_amounts_to_a_currency() {
        let jpy = currency_exponent("JPY").unwrap();
        let kwd = currency_exponent("KWD").unwrap();
        let usd = currency_exponent("USD").unwrap();
        assert_eq!((jpy, usd, kwd), (0, 2, 3));
        assert_eq!(currency_exponent("XYZ"), None);
        assert_eq!(currency_exponent("XAU"), None, "gold has no minor unit");
        let m = Money::new(10055, 2);
        assert_eq!(m.in_minor_units(jpy), None, "100.55 yen does not exist");
        assert_eq!(m.in_minor_units(kwd), Some(Money::new(100_550, 3)));
        assert_eq!(
            Money::new(100, 0).in_minor_units(usd).unwrap().minor(),
            10_000
        );
        assert_eq!(Money::new(1200, 2).in_minor_units(0).unwrap().minor(), 12);
        assert_eq!(Money::new(i64::MAX, 0).in_minor_units(2), None);
    }

    #[test]
    fn compares_and_formats_by_value() {
        assert_eq!(Money::new(199, 1), Money::new(1990, 2));
        assert!(Money::new(199, 1) < Money::new(1991, 2));
        assert_eq!(Money::new(1980, 2).to_string(), "19.80");
        assert_eq!(Money::new(-5, 2).to_string(), "-0.05");
        assert_eq!(Money::zero(2).to_string(), "0.00");
        assert_eq!(Money::new(100, 0).to_string(), "100");
        assert_eq!(Money::new(1250, 3).to_string(), "1.250");
        let hash = |m: Money| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            m.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(Money::new(199, 1)), hash(Money::new(1990, 2)));
        let mut t = Total::zero(2);
        t.add(Money::new(i64::MAX, 2));
        t.add(Money::new(i64::MAX, 2));
        assert_eq!(t.to_string(), "184467440737095516.14");
        assert_eq!(t.money(), None);
        assert!(amount_problem(Money::new(-MAX_UNITS * 100, 2)).is_none());
        assert!(
            amount_problem(Money::new(MAX_UNITS * 1000 + 1, 3))
                .unwrap()
                .contains("at most 10000000000000 either way")
        );
    }

    #[test]
    fn percent_rounds_half_away_from_zero() {
        let ten = Percent::from_basis_points(1000).unwrap();
        assert_eq!(ten.of(Money::from_cents(4900)), Money::from_cents(490));
        assert_eq!(ten.of(Money::from_cents(5)), Money::from_cents(1)); // 0.5 cent rounds up
        assert_eq!(ten.of(Money::from_cents(-5)), Money::from_cents(-1));
        assert_eq!(ten.of(Money::from_cents(4)), Money::from_cents(0));
        let third = Percent::from_basis_points(3333).unwrap();
        assert_eq!(third.of(Money::from_cents(100)), Money::from_cents(33));
        // In yen, to the yen.
        assert_eq!(ten.of(Money::new(45, 0)), Money::new(5, 0));
        assert_eq!(round_half_away(7, 2), 4);
        assert_eq!(round_half_away(-7, 2), -4);
        assert_eq!(round_half_away(5, 3), 2);
        assert_eq!(round_half_away(4, 3), 1);
        assert_eq!(round_half_away(-5, 3), -2);
        assert_eq!(round_half_away(0, 3), 0);
    }

    #[test]
    fn thresholds_compare_counts_and_amounts() {
        let t = Threshold::from_hundredths(1000).unwrap();
        assert!(t.reached_by_count(10));
        assert!(!t.reached_by_count(9));
        assert_eq!(t.whole(), Some(10));
        assert_eq!(Threshold::from_hundredths(1050).unwrap().whole(), None);
        assert!(t.reached_by(Money::new(10, 0)));
        assert!(!t.reached_by(Money::new(9999, 3)));
    }
}
