use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::days::Days;
use super::money::{Money, Percent};
use super::product::ProductStatus;
use super::transaction::TransactionKind;

/// PartnerStack's product-aware offer: on a transaction, when every rule holds,
/// pay the partner a commission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommissionTrigger {
    #[schemars(pattern(super::KEY_PATTERN))]
    pub key: String,
    /// Internal name; partners never see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The offer as partners see it, e.g. "Earn 20% for every Inbox sale".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub on: CommissionEvent,
    pub commission: Commission,
    /// Pay in monthly installments instead of at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drip: Option<Drip>,
    /// All must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    #[serde(default = "super::yes", skip_serializing_if = "super::is_true")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(super::KEY_PATTERN)))]
    pub previously: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommissionEvent {
    #[default]
    TransactionCreated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Commission {
    /// A percentage of the transaction amount, rounded half away from zero to the cent.
    Percent(Percent),
    /// A fixed amount per transaction.
    Flat(#[schemars(schema_with = "super::money::non_negative_schema")] Money),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Drip {
    /// Number of monthly installments; odd cents go to the first.
    #[schemars(range(min = 1, max = 120))]
    #[serde(deserialize_with = "super::whole::installments")]
    pub installments: u32,
}

/// One condition of a commission trigger: a subject and an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Rule {
    #[serde(rename = "product.key")]
    ProductKey(SetOp<String>),
    #[serde(rename = "product.name")]
    ProductName(SetOp<String>),
    #[serde(rename = "product.status")]
    ProductStatus(SetOp<ProductStatus>),
    #[serde(rename = "product.created")]
    ProductCreated(CreatedWithin),
    #[serde(rename = "partner.group")]
    PartnerGroup(MemberOp),
    #[serde(rename = "partner.tag")]
    PartnerTag(MemberOp),
    #[serde(rename = "transaction.amount")]
    TransactionAmount(Compare<Money>),
    #[serde(rename = "transaction.kind")]
    TransactionKind(AnyOf<TransactionKind>),
    #[serde(
        rename = "customer.age_days",
        deserialize_with = "super::whole::age_days"
    )]
    #[schemars(with = "Compare<u32>")]
    CustomerAgeDays(Compare<u32>),
}

impl Rule {
    pub fn subject(&self) -> &'static str {
        match self {
            Rule::ProductKey(_) => "product.key",
            Rule::ProductName(_) => "product.name",
            Rule::ProductStatus(_) => "product.status",
            Rule::ProductCreated(_) => "product.created",
            Rule::PartnerGroup(_) => "partner.group",
            Rule::PartnerTag(_) => "partner.tag",
            Rule::TransactionAmount(_) => "transaction.amount",
            Rule::TransactionKind(_) => "transaction.kind",
            Rule::CustomerAgeDays(_) => "customer.age_days",
        }
    }

    /// Product rules never hold for a transaction without a matched product.
    pub fn is_about_product(&self) -> bool {
        matches!(
            self,
            Rule::ProductKey(_)
                | Rule::ProductName(_)
                | Rule::ProductStatus(_)
                | Rule::ProductCreated(_)
        )
    }

    /// Partner rules decide which offers a partner is eligible for.
    pub fn is_about_partner(&self) -> bool {
        matches!(self, Rule::PartnerGroup(_) | Rule::PartnerTag(_))
    }
}

/// The value is one of / none of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SetOp<T> {
    AnyOf(Vec<T>),
    NoneOf(Vec<T>),
}

impl<T> SetOp<T> {
    pub fn operator(&self) -> &'static str {
        match self {
            SetOp::AnyOf(_) => "any_of",
            SetOp::NoneOf(_) => "none_of",
        }
    }

    pub fn values(&self) -> &[T] {
        match self {
            SetOp::AnyOf(v) | SetOp::NoneOf(v) => v,
        }
    }

    pub fn values_mut(&mut self) -> &mut Vec<T> {
        match self {
            SetOp::AnyOf(v) | SetOp::NoneOf(v) => v,
        }
    }
}

/// A partner has any / all / none of these groups or tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberOp {
    AnyOf(Vec<String>),
    AllOf(Vec<String>),
    NoneOf(Vec<String>),
}

impl MemberOp {
    pub fn operator(&self) -> &'static str {
        match self {
            MemberOp::AnyOf(_) => "any_of",
            MemberOp::AllOf(_) => "all_of",
            MemberOp::NoneOf(_) => "none_of",
        }
    }

    pub fn values(&self) -> &[String] {
        match self {
            MemberOp::AnyOf(v) | MemberOp::AllOf(v) | MemberOp::NoneOf(v) => v,
        }
    }

    pub fn values_mut(&mut self) -> &mut Vec<String> {
        match self {
            MemberOp::AnyOf(v) | MemberOp::AllOf(v) | MemberOp::NoneOf(v) => v,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnyOf<T> {
    AnyOf(Vec<T>),
}

impl<T> AnyOf<T> {
    pub fn values(&self) -> &[T] {
        match self {
            AnyOf::AnyOf(v) => v,
        }
    }
}

/// Bounds on a number; every bound given must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Compare<T> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<T>,
}

impl<T: PartialOrd + Copy> Compare<T> {
    pub fn is_empty(&self) -> bool {
        self.gt.is_none() && self.gte.is_none() && self.lt.is_none() && self.lte.is_none()
    }

    pub fn holds(&self, value: T) -> bool {
        self.gt.is_none_or(|b| value > b)
            && self.gte.is_none_or(|b| value >= b)
            && self.lt.is_none_or(|b| value < b)
            && self.lte.is_none_or(|b| value <= b)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatedWithin {
    pub within: Window,
}

/// A time window in the program's time zone, ending now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    CurrentCalendarDay,
    PreviousCalendarDay,
    CurrentCalendarMonth,
    PreviousCalendarMonth,
    RollingDays(Days),
}
