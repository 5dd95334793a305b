//! Whole numbers that people write in config, read with messages that name the
//! field rather than the Rust type it is held in ("expected u32").

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::commission::Compare;

struct Whole {
    field: &'static str,
    /// What the field takes, as a phrase: "a whole number from 1 to 120".
    expected: &'static str,
    /// The same, for a number past `u32::MAX`.
    too_large: &'static str,
}

impl Whole {
    fn refuse<E: de::Error>(&self, what: &str, found: impl fmt::Display) -> E {
        E::custom(format!("{} must be {what}, found {found}", self.field))
    }
}

impl Visitor<'_> for Whole {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expected)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(self.refuse(self.expected, v)),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
        u32::try_from(v).map_err(|_| self.refuse(self.too_large, v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<u32, E> {
        let what = if v < 0 { self.expected } else { self.too_large };
        Err(self.refuse(what, v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<u32, E> {
        Err(self.refuse(self.too_large, v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u32, E> {
        // Debug keeps the fraction: `1.0`, not `1`.
        Err(self.refuse(self.expected, format!("{v:?}")))
    }
}

/// A drip's number of installments (the range is checked with the resource).
pub fn installments<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    d.deserialize_u32(Whole {
        field: "installments",
        expected: "a whole number from 1 to 120",
        too_large: "a whole number from 1 to 120",
    })
}

/// A bound on a customer's age in days. (`Default` only because `Compare`'s
/// derive asks it of every bound type.)
#[derive(Default)]
struct AgeDays(u32);

impl<'de> Deserialize<'de> for AgeDays {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_u32(Whole {
            field: "customer.age_days",
            expected: "a whole number of days, 0 or more",
            too_large: "a whole number of days up to 4294967295",
        })
        .map(AgeDays)
    }
}

/// The bounds of a `customer.age_days` rule.
pub fn age_days<'de, D: Deserializer<'de>>(d: D) -> Result<Compare<u32>, D::Error> {
    let bounds = Compare::<AgeDays>::deserialize(d)?;
    let days = |b: Option<AgeDays>| b.map(|AgeDays(d)| d);
    Ok(Compare {
        gt: days(bounds.gt),
        gte: days(bounds.gte),
        lt: days(bounds.lt),
        lte: days(bounds.lte),
    })
}
