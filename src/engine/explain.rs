//! `explain transaction`: why each commission trigger did or did not fire for a
//! transaction, rule by rule (the seeds' "the wrong commission is firing").

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::commission::{self, Facts, RuleVerdict};
use super::ledger::pricing;
use super::runtime::RuntimeConfig;
use super::{Engine, Error, Result};
use crate::spec::{Money, ProductStatus};
use crate::store::LineFilter;
use crate::store::record::{
    CustomerProduct, LedgerLine, RefundRecord, TransactionRecord, product_at,
};
use crate::suggest::did_you_mean;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TriggerExplanation {
    pub trigger: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub enabled: bool,
    /// Whether it fired: enabled, and every rule held.
    pub fires: bool,
    /// What it paid on this transaction when it fired (before any drip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    pub rules: Vec<RuleVerdict>,
}

/// Why a transaction earned what it earned. Everything is judged as it was
/// when the transaction was evaluated: the config at its revision and the
/// facts it recorded (`transaction.seen`), so the verdicts agree with the
/// ledger whatever changed since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Explanation {
    pub transaction: TransactionRecord,
    /// How the subscription_key matched (or did not match) a customer product.
    pub product_match: String,
    /// The customer product the transaction matched: the key's record
    /// standing at the transaction's time (an upgrade keeps a record per
    /// product).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<CustomerProduct>,
    /// Who the transaction is attributed to, and why.
    pub attribution: String,
    /// The config revision the triggers are judged under: the transaction's.
    pub revision: u64,
    /// The program's config revision now.
    pub current_revision: u64,
    pub triggers: Vec<TriggerExplanation>,
    /// The ledger lines of the transaction: what it earned, and every
    /// reversal and adjustment since.
    pub commissions: Vec<LedgerLine>,
    /// Refunds of the transaction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<RefundRecord>,
}

impl Engine {
    pub async fn explain_transaction(&self, program: &str, key: &str) -> Result<Explanation> {
        let transaction = self.store.transaction(program, key).await?.ok_or_else(|| {
            Error::NotFound(format!("program `{program}` has no transaction `{key}`"))
        })?;
        let current_revision = self.current_config(program).await?.revision;
        let cfg = self.config_at(program, transaction.revision).await?;
        let held = self
            .store
            .products_of(program, &transaction.customer)
            .await?;
        let product = transaction.subscription_key.as_ref().and_then(|sub| {
            let records: Vec<CustomerProduct> = held
                .iter()
                .filter(|p| &p.external_subscription_key == sub)
                .cloned()
                .collect();
            product_at(&records, transaction.at).cloned()
        });
        let product_match = self
            .product_match(program, &transaction, product.as_ref(), &held, &cfg)
            .await?;
        let attribution = match (&transaction.partner, &product) {
            (None, _) => "no partner: the customer was not referred and the product has no partner, so no commission".to_owned(),
            (Some(p), Some(cp)) if transaction.product.is_some() && cp.partner.as_deref() == Some(p.as_str()) => {
                format!("partner `{p}`, who sold the product")
            }
            (Some(p), _) => format!("partner `{p}`, who referred the customer"),
        };
        let hold = self
            .current_config(program)
            .await?
            .config
            .program
            .payouts
            .hold_days;
        let commissions = super::runtime::batch::with_status(
            self.store
                .lines(
                    program,
                    &LineFilter {
                        transaction: Some(key.to_owned()),
                        ..LineFilter::default()
                    },
                )
                .await?,
            chrono::Utc::now(),
            hold,
            cfg.timezone,
        );
        let refunds = self.store.refunds(program, key).await?;
        let facts = Facts::new(&cfg, &transaction);
        let triggers = cfg
            .config
            .commission_triggers
            .iter()
            .map(|trigger| {
                let rules: Vec<RuleVerdict> = match &transaction.partner {
                    Some(_) => trigger
                        .rules
                        .iter()
                        .map(|r| commission::verdict(r, &facts))
                        .collect(),
                    None => Vec::new(),
                };
                let fires = transaction.partner.is_some()
                    && trigger.enabled
                    && rules.iter().all(|r| r.holds);
                TriggerExplanation {
                    trigger: trigger.key.clone(),
                    description: trigger.description.clone(),
                    enabled: trigger.enabled,
                    fires,
                    amount: fires.then(|| {
                        pricing::commission_amount(trigger.commission, transaction.amount)
                    }),
                    rules,
                }
            })
            .collect();
        Ok(Explanation {
            revision: cfg.revision,
            current_revision,
            transaction,
            product_match,
            product,
            attribution,
            triggers,
            commissions,
            refunds,
        })
    }

    /// How the transaction's subscription_key matched a product when it came
    /// in, or why it did not.
    async fn product_match(
        &self,
        program: &str,
        transaction: &TransactionRecord,
        product: Option<&CustomerProduct>,
        held: &[CustomerProduct],
        cfg: &RuntimeConfig,
    ) -> Result<String> {
        let Some(sub) = &transaction.subscription_key else {
            return Ok("the transaction has no subscription_key, so no product matched and no product rule can hold".to_owned());
        };
        if let Some(key) = &transaction.product {
            let name = cfg
                .products
                .get(key)
                .map_or(key.as_str(), |p| p.name.as_str());
            let status = transaction
                .seen
                .product_status
                .map_or("unknown", ProductStatus::as_str);
            return Ok(format!(
                "subscription_key `{sub}` matched customer `{}`'s product `{key}` ({name}), status {status} at the transaction's time",
                transaction.customer
            ));
        }
        if product.is_some() {
            return Ok(format!(
                "subscription_key `{sub}` matched no product when the transaction came in: customer `{}`'s product with that key was recorded later",
                transaction.customer
            ));
        }
        if let Some(other) = self.store.customer_product(program, sub).await?
            && other.customer != transaction.customer
        {
            return Ok(format!(
                "subscription_key `{sub}` is a product of customer `{}`, not of `{}`, so it matched no product",
                other.customer, transaction.customer
            ));
        }
        let hint = did_you_mean(
            sub,
            held.iter().map(|p| p.external_subscription_key.as_str()),
        )
        .map(|s| format!(" (did you mean `{s}`? keys match exactly, case included)"))
        .unwrap_or_default();
        Ok(format!(
            "subscription_key `{sub}` matched no product of customer `{}`{hint}",
            transaction.customer
        ))
    }
}
