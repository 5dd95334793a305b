use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::money::Money;

/// A product in the catalog that customers buy and commissions are paid on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Product {
    #[schemars(pattern(super::KEY_PATTERN))]
    pub key: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// List price in the program currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::money::optional_non_negative_schema")]
    pub price: Option<Money>,
    /// An archived product stays on the customers who hold it but is no longer sold.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
    /// How Stripe names this product, for the Stripe source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe: Option<StripeProduct>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(super::KEY_PATTERN)))]
    pub previously: Vec<String>,
}

/// The Stripe prices a product is sold under: a subscription item whose price
/// id or `lookup_key` is listed here is a customer product of this product.
/// A price belongs to one product only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StripeProduct {
    /// Price ids (`price_...`) or lookup keys.
    #[schemars(length(min = 1), inner(length(min = 1)))]
    pub prices: Vec<String>,
}

/// The state of a customer's product (subscription).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Trial,
    Active,
    Churned,
}

impl ProductStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Trial => "trial",
            ProductStatus::Active => "active",
            ProductStatus::Churned => "churned",
        }
    }

    pub fn parse(s: &str) -> Option<ProductStatus> {
        [
            ProductStatus::Trial,
            ProductStatus::Active,
            ProductStatus::Churned,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}
