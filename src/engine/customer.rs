//! A customer as the engine knows them: who referred them, the products they
//! hold and the tags automations gave them (`tag_customer`).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::runtime::state::{CustomerProduct, Subject, TagChange};
use super::{Engine, Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CustomerDetail {
    pub key: String,
    /// The partner who referred the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// When the customer was first seen: the referral signup, else the first
    /// product or purchase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_up_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_purchase_at: Option<DateTime<Utc>>,
    /// Sorted.
    pub tags: BTreeSet<String>,
    pub products: Vec<CustomerProduct>,
    /// The first tag changes, oldest first; `tag_history_next_cursor` asks
    /// for the rest (`GET .../customers/{customer}/tag-history?cursor=`).
    pub tag_history: Vec<TagChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_history_next_cursor: Option<String>,
}

impl Engine {
    pub async fn customer(&self, program: &str, key: &str) -> Result<CustomerDetail> {
        let customer = self.store.customer(program, key).await?.ok_or_else(|| {
            Error::NotFound(format!("program `{program}` has no customer `{key}`"))
        })?;
        let history = self
            .tag_history_page(
                program,
                Subject::Customer,
                key,
                None,
                super::lists::DETAIL_HISTORY,
            )
            .await?;
        Ok(CustomerDetail {
            products: self.store.products_of(program, key).await?,
            tag_history: history.items,
            tag_history_next_cursor: history.next_cursor,
            key: customer.key,
            partner: customer.partner,
            signed_up_at: customer.signed_up_at,
            first_purchase_at: customer.first_purchase_at,
            tags: customer.tags,
        })
    }
}
