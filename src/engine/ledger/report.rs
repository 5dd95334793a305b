//! What each product brought: customers, sales, revenue and net
//! commissions, overall or split by partner (PartnerStack's "track partner
//! performance by product").

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, Result};
use crate::spec::money::Total;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductReportRow {
    /// The product's key; none for transactions that matched no product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The product's name in the config now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// With `--by partner`: the partner (none for unattributed sales).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// Distinct customers with a sale.
    pub customers: u64,
    /// Transactions above zero.
    pub sales: u64,
    /// Transactions less refunds.
    pub revenue: Total,
    /// What the ledger holds for these transactions, net.
    pub commissions: Total,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductReport {
    pub program: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    pub currency: String,
    pub rows: Vec<ProductReportRow>,
}

impl Engine {
    /// Per product (and per partner with `by_partner`), for transactions
    /// in [since, until).
    pub async fn product_report(
        &self,
        program: &str,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        by_partner: bool,
    ) -> Result<ProductReport> {
        let cfg = self.current_config(program).await?;
        if cfg.revision == 0 {
            return Err(crate::engine::Error::NotFound(format!(
                "program `{program}` has no config in the engine"
            )));
        }
        let total = |minor: i128| {
            let mut t = Total::zero(cfg.exp);
            t.add_minor(minor);
            t
        };
        let rows = self
            .store
            .product_report(program, since, until, by_partner)
            .await?
            .into_iter()
            .map(|r| ProductReportRow {
                name: r
                    .product
                    .as_ref()
                    .and_then(|p| cfg.products.get(p))
                    .map(|p| p.name.clone()),
                product: r.product,
                partner: r.partner,
                customers: r.customers,
                sales: r.sales,
                revenue: total(r.revenue),
                commissions: total(r.commissions),
            })
            .collect();
        Ok(ProductReport {
            program: program.to_owned(),
            since,
            until,
            currency: cfg.config.program.currency.clone(),
            rows,
        })
    }
}
