//! A program's config as the runtime reads it: automations by trigger in key
//! order, products by key, the currency's minor unit and the time zone.

use std::collections::HashMap;
use std::sync::Arc;

use crate::spec::{Automation, CommissionTrigger, Config, Product, Trigger};

#[derive(Debug)]
pub struct RuntimeConfig {
    pub revision: u64,
    pub config: Config,
    pub timezone: chrono_tz::Tz,
    /// Decimals of the amounts the engine keeps for the program.
    pub exp: u8,
    /// Enabled automations, by key.
    automations: Vec<Automation>,
    pub products: HashMap<String, Product>,
}

impl RuntimeConfig {
    /// `exp` is the decimals the engine keeps the program's amounts in.
    pub fn new(revision: u64, config: Config, exp: u8) -> RuntimeConfig {
        let timezone = config.program.timezone.parse().unwrap_or(chrono_tz::UTC);
        let mut automations: Vec<Automation> = config
            .automations
            .iter()
            .filter(|a| a.enabled)
            .cloned()
            .collect();
        automations.sort_by(|a, b| a.key.cmp(&b.key));
        let products = config
            .products
            .iter()
            .map(|p| (p.key.clone(), p.clone()))
            .collect();
        RuntimeConfig {
            revision,
            config,
            timezone,
            exp,
            automations,
            products,
        }
    }

    /// A program with no config yet: events are recorded, nothing fires.
    pub fn empty(program: &str) -> RuntimeConfig {
        RuntimeConfig::new(
            0,
            Config::new(crate::spec::Program {
                key: program.to_owned(),
                name: program.to_owned(),
                currency: "USD".to_owned(),
                timezone: "UTC".to_owned(),
                payouts: crate::spec::Payouts::default(),
            }),
            2,
        )
    }

    /// Decimals the program's currency has (ISO 4217): what amounts sent in
    /// may have.
    pub fn currency_exp(&self) -> u8 {
        crate::spec::money::currency_exponent(&self.config.program.currency).unwrap_or(self.exp)
    }

    /// Enabled automations, in key order.
    pub fn automations(&self) -> &[Automation] {
        &self.automations
    }

    pub fn matching<'a>(
        &'a self,
        pick: impl Fn(&Trigger) -> bool + 'a,
    ) -> impl Iterator<Item = &'a Automation> + 'a {
        self.automations.iter().filter(move |a| pick(&a.when))
    }

    pub fn triggers(&self) -> impl Iterator<Item = &CommissionTrigger> {
        self.config.commission_triggers.iter().filter(|t| t.enabled)
    }

    pub fn daily_checks(&self) -> impl Iterator<Item = &Automation> {
        self.matching(Trigger::is_daily_check)
    }

    /// Event-style automations with `backfill: true`; the sweep catches them up.
    pub fn backfills(&self) -> impl Iterator<Item = &Automation> {
        self.automations.iter().filter(|a| {
            a.backfill && !a.when.is_daily_check() && !matches!(a.when, Trigger::Sale(_))
        })
    }
}

/// Shared, immutable: one per program revision.
pub type SharedConfig = Arc<RuntimeConfig>;
