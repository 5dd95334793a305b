//! `explain transaction`: why each commission trigger did or did not fire for a
//! transaction, rule by rule (the seeds' "the wrong commission is firing").

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::commission::{self, Facts, RuleVerdict};
use super::runtime::state::{CommissionRecord, CustomerProduct, TransactionRecord};
use super::{Engine, Error, Result};
use crate::spec::Money;
use crate::suggest::did_you_mean;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TriggerExplanation {
    pub trigger: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub enabled: bool,
    /// Whether every rule holds now.
    pub fires: bool,
    /// What it pays on this transaction when it fires (before any drip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    pub rules: Vec<RuleVerdict>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Explanation {
    pub transaction: TransactionRecord,
    /// How the subscription_key matched (or did not match) a customer product.
    pub product_match: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<CustomerProduct>,
    /// Who the transaction is attributed to, and why.
    pub attribution: String,
    /// The config revision the triggers are evaluated under now.
    pub revision: u64,
    pub triggers: Vec<TriggerExplanation>,
    /// The commissions recorded when the transaction came in.
    pub commissions: Vec<CommissionRecord>,
}

impl Engine {
    pub async fn explain_transaction(&self, program: &str, key: &str) -> Result<Explanation> {
        let transaction = self.store.transaction(program, key).await?.ok_or_else(|| {
            Error::NotFound(format!("program `{program}` has no transaction `{key}`"))
        })?;
        let cfg = {
            let mut tx = self.store.runtime(program).await?;
            self.runtime_config(tx.as_mut(), program).await?
        };
        let held = self
            .store
            .products_of(program, &transaction.customer)
            .await?;
        let (product, product_match) = match &transaction.subscription_key {
            None => (None, "the transaction has no subscription_key, so no product matched and no product rule can hold".to_owned()),
            Some(sub) => match held.iter().find(|p| &p.external_subscription_key == sub) {
                Some(p) => {
                    let name = cfg.products.get(&p.product).map_or(p.product.as_str(), |x| x.name.as_str());
                    (
                        Some(p.clone()),
                        format!(
                            "subscription_key `{sub}` matched customer `{}`'s product `{}` ({name}), status {}",
                            p.customer,
                            p.product,
                            serde_json::to_value(p.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
                        ),
                    )
                }
                None => {
                    let hint = did_you_mean(sub, held.iter().map(|p| p.external_subscription_key.as_str()))
                        .map(|s| format!(" (did you mean `{s}`? keys match exactly, case included)"))
                        .unwrap_or_default();
                    (None, format!("subscription_key `{sub}` matched no product of customer `{}`{hint}", transaction.customer))
                }
            },
        };
        let customer = self.store.customer(program, &transaction.customer).await?;
        let attribution = match (&transaction.partner, &product, &customer) {
            (None, _, _) => "no partner: the customer was not referred and the product has no partner, so no commission".to_owned(),
            (Some(p), Some(cp), _) if cp.partner.as_deref() == Some(p.as_str()) => format!("partner `{p}`, who sold the product"),
            (Some(p), _, _) => format!("partner `{p}`, who referred the customer"),
        };
        // Commissions only exist for an attributed transaction; found by partner.
        let commissions = match &transaction.partner {
            Some(p) => self.store.commissions(program, Some(p), Some(key)).await?,
            None => Vec::new(),
        };
        let partner = match &transaction.partner {
            Some(p) => self.store.partner(program, p).await?,
            None => None,
        };
        let mut triggers = Vec::new();
        for trigger in &cfg.config.commission_triggers {
            let (rules, fires) = match &partner {
                Some(partner) => {
                    let name = product
                        .as_ref()
                        .and_then(|p| cfg.products.get(&p.product))
                        .map(|p| p.name.as_str());
                    let facts = Facts {
                        transaction: &transaction,
                        product: product.as_ref().zip(name),
                        partner,
                        customer: customer.as_ref(),
                        timezone: cfg.timezone,
                    };
                    let rules: Vec<RuleVerdict> = trigger
                        .rules
                        .iter()
                        .map(|r| commission::verdict(r, &facts))
                        .collect();
                    let fires = trigger.enabled && rules.iter().all(|r| r.holds);
                    (rules, fires)
                }
                None => (Vec::new(), false),
            };
            triggers.push(TriggerExplanation {
                trigger: trigger.key.clone(),
                description: trigger.description.clone(),
                enabled: trigger.enabled,
                fires,
                amount: fires.then(|| commission::amount(trigger.commission, transaction.amount)),
                rules,
            });
        }
        Ok(Explanation {
            transaction,
            product_match,
            product,
            attribution,
            revision: cfg.revision,
            triggers,
            commissions,
        })
    }
}
