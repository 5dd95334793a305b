//! What a partner sees: their customers and every product those customers hold
//! (never who sold the ones other partners sold), their commissions, and the
//! offers they are eligible for.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::commission;
use super::{Engine, Error, Result};
use crate::spec::{Commission, Money, ProductStatus, Rule};
use crate::store::LineFilter;
use crate::store::record::{LineKind, LineStatus};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ViewProduct {
    /// The product's name.
    pub product: String,
    pub status: ProductStatus,
    /// The latest amount billed on it (else the list price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    pub purchased_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ViewCustomer {
    pub key: String,
    pub products: Vec<ViewProduct>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ViewCommission {
    pub transaction: String,
    /// The offer that paid it.
    pub offer: String,
    /// A commission, or a reversal or adjustment of one.
    pub kind: LineKind,
    pub amount: Money,
    pub due_at: DateTime<Utc>,
    /// `due_at` as a date in the program's time zone.
    pub due_on: chrono::NaiveDate,
    /// Pending (held), approved (payable) or paid.
    pub status: LineStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PartnerView {
    pub partner: String,
    pub customers: Vec<ViewCustomer>,
    pub commissions: Vec<ViewCommission>,
    /// The offers (trigger descriptions) whose partner rules the partner meets.
    pub offers: Vec<String>,
}

/// What partners see of a trigger: its description, never its name or key.
fn offer_text(description: Option<&String>, commission: Commission) -> String {
    description.cloned().unwrap_or_else(|| match commission {
        Commission::Percent(p) => format!("Earn {p} of each sale"),
        Commission::Flat(m) => format!("Earn {m} for each sale"),
    })
}

impl Engine {
    pub async fn partner_view(&self, program: &str, key: &str) -> Result<PartnerView> {
        let partner = self.store.partner(program, key).await?.ok_or_else(|| {
            Error::NotFound(format!("program `{program}` has no partner `{key}`"))
        })?;
        let cfg = self.current_config(program).await?;
        let mut customers = Vec::new();
        for customer in self.store.customers_of(program, key).await? {
            let mut products = Vec::new();
            for p in self.store.products_of(program, &customer).await? {
                let catalog = cfg.products.get(&p.product);
                let amount = match self
                    .store
                    .last_amount(program, &customer, &p.external_subscription_key)
                    .await?
                {
                    Some(a) => Some(a),
                    None => catalog.and_then(|c| c.price),
                };
                products.push(ViewProduct {
                    product: catalog.map_or_else(|| p.product.clone(), |c| c.name.clone()),
                    status: p.status,
                    amount,
                    purchased_at: p.created_at,
                });
            }
            customers.push(ViewCustomer {
                key: customer,
                products,
            });
        }
        // A commission is labelled with the offer as it read when it was
        // earned: a later change to a trigger never rewrites what it paid for.
        let tz = cfg.timezone;
        let mut at_revision = std::collections::BTreeMap::new();
        let mut commissions = Vec::new();
        let lines = self
            .store
            .lines(
                program,
                &LineFilter {
                    partner: Some(key.to_owned()),
                    ..LineFilter::default()
                },
            )
            .await?;
        let now = chrono::Utc::now();
        let hold = cfg.config.program.payouts.hold_days;
        for c in lines {
            let cfg = match at_revision.get(&c.revision) {
                Some(cfg) => std::sync::Arc::clone(cfg),
                None => {
                    let cfg = self.config_at(program, c.revision).await?;
                    at_revision.insert(c.revision, std::sync::Arc::clone(&cfg));
                    cfg
                }
            };
            let offer = cfg
                .config
                .commission_triggers
                .iter()
                .find(|t| t.key == c.trigger)
                .map_or_else(
                    || "an earlier offer".to_owned(),
                    |t| offer_text(t.description.as_ref(), t.commission),
                );
            commissions.push(ViewCommission {
                offer,
                status: c.status_at(now, hold),
                kind: c.kind,
                transaction: c.transaction,
                amount: c.amount,
                due_at: c.due_at,
                due_on: commission::local_date(c.due_at, tz),
            });
        }
        // Eligibility looks at partner rules only: the rest depend on the sale.
        let eligible = |rules: &[Rule]| {
            rules.iter().all(|r| match r {
                Rule::PartnerGroup(op) => {
                    let have: Vec<&str> = partner.group.iter().map(String::as_str).collect();
                    commission::member_holds(op, &have)
                }
                Rule::PartnerTag(op) => {
                    let have: Vec<&str> = partner.tags.iter().map(String::as_str).collect();
                    commission::member_holds(op, &have)
                }
                _ => true,
            })
        };
        let offers = cfg
            .triggers()
            .filter(|t| eligible(&t.rules))
            .map(|t| offer_text(t.description.as_ref(), t.commission))
            .collect();
        Ok(PartnerView {
            partner: partner.key,
            customers,
            commissions,
            offers,
        })
    }
}
