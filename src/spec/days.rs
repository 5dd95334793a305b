use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// A whole number of days, 1 to 36,500 (a century is plenty for any partner rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Days(u32);

impl Days {
    pub const MAX: u32 = 36_500;

    pub fn new(days: i64) -> Option<Days> {
        u32::try_from(days)
            .ok()
            .filter(|d| (1..=Self::MAX).contains(d))
            .map(Days)
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Days {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Days {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DaysVisitor;

        impl Visitor<'_> for DaysVisitor {
            type Value = Days;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a whole number of days from 1 to {}", Days::MAX)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Days, E> {
                Days::new(v).ok_or_else(|| out_of_range(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Days, E> {
                i64::try_from(v)
                    .ok()
                    .and_then(Days::new)
                    .ok_or_else(|| out_of_range(v))
            }

            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Days, E> {
                Err(out_of_range(v))
            }

            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Days, E> {
                Err(out_of_range(v))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Days, E> {
                // Debug keeps the fraction: `30.0`, not `30`.
                Err(out_of_range(format!("{v:?}")))
            }
        }

        fn out_of_range<E: de::Error>(found: impl fmt::Display) -> E {
            E::custom(format!(
                "days must be a whole number from 1 to {}, found {found}",
                Days::MAX
            ))
        }

        d.deserialize_i64(DaysVisitor)
    }
}

impl JsonSchema for Days {
    fn schema_name() -> Cow<'static, str> {
        "Days".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A whole number of days.",
            "type": "integer",
            "minimum": 1,
            "maximum": Days::MAX
        })
    }
}
