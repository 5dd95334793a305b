//! The engine: the live state that plan and apply reconcile against, and the
//! operations on it. The embedded client calls it directly; `partnerops serve`
//! puts it behind HTTP.

pub mod access;
pub mod changeset;
pub mod commission;
pub mod customer;
pub mod dashboard;
pub mod erasure;
pub mod event;
pub mod explain;
mod ingest;
pub mod ledger;
pub mod lists;
pub mod outbox;
pub mod page;
pub mod partner;
pub mod runtime;
mod sources;
mod sweep;
mod tokens;
pub mod view;
pub mod whatif;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::error::{Error, Result};
pub use sweep::SweepReport;

use crate::spec::{Automation, Config, Resource};
use crate::store::record::Partner;
use crate::store::{Commit, RuntimeTx, Store};

use changeset::{Changeset, ChangesetRecord};

pub use crate::store::snapshot::{ProgramSummary, Snapshot};

/// What a plan asks the engine about the data its changes touch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImpactQuery {
    /// Tags the plan deletes.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Products the plan deletes.
    #[serde(default)]
    pub products: Vec<String>,
    /// Automations the plan creates or changes with `backfill: true`.
    #[serde(default)]
    pub backfill: Vec<Automation>,
}

impl ImpactQuery {
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.products.is_empty() && self.backfill.is_empty()
    }
}

/// Counts, keyed by tag, product and automation key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Impact {
    /// Partners holding each tag.
    pub tag_holders: BTreeMap<String, u64>,
    /// Customers holding each tag.
    #[serde(default)]
    pub tag_customers: BTreeMap<String, u64>,
    /// Customers holding each product.
    pub product_holders: BTreeMap<String, u64>,
    /// Partners each backfill would fire for.
    pub backfill: BTreeMap<String, u64>,
}

/// The automations a changeset creates or changes that fire their backfill.
fn backfills(current: &[Resource], changes: &[changeset::Change]) -> Vec<Automation> {
    changes
        .iter()
        .filter_map(|c| match c {
            changeset::Change::Create {
                resource: Resource::Automation(a),
            } => a.backfills_after(None).then(|| a.clone()),
            changeset::Change::Update {
                key,
                resource: Resource::Automation(a),
            } => {
                let before = current.iter().find_map(|r| match r {
                    Resource::Automation(b) if b.key == *key => Some(b),
                    _ => None,
                });
                a.backfills_after(before).then(|| a.clone())
            }
            _ => None,
        })
        .collect()
}

/// Whether a changeset creates, changes or deletes a daily-check automation.
fn daily_checks_changed(current: &[Resource], changes: &[changeset::Change]) -> bool {
    let daily = |r: &Resource| matches!(r, Resource::Automation(a) if a.when.is_daily_check());
    changes.iter().any(|c| match c {
        changeset::Change::Create { resource } => daily(resource),
        changeset::Change::Update { key, resource } => {
            daily(resource)
                || current
                    .iter()
                    .any(|r| r.kind() == resource.kind() && r.key() == key && daily(r))
        }
        changeset::Change::Delete { kind, key } => current
            .iter()
            .any(|r| r.kind() == *kind && r.key() == key && daily(r)),
    })
}

/// Partners read at once when the engine walks all of them.
const PAGE: usize = 5_000;

/// A partner with the history of their tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PartnerDetail {
    #[serde(flatten)]
    pub partner: Partner,
    /// The first tag changes, oldest first; `tag_history_next_cursor` asks
    /// for the rest (`GET .../partners/{partner}/tag-history?cursor=`).
    pub tag_history: Vec<runtime::state::TagChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_history_next_cursor: Option<String>,
    /// When the partner's name and email were erased, latest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub erasures: Vec<erasure::Erasure>,
}

#[derive(Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
    /// The runtime's view of each program's config, rebuilt when the revision moves.
    configs: Arc<Mutex<HashMap<String, runtime::SharedConfig>>>,
    /// When this process last noted each token's use (see `tokens`).
    touched: tokens::Touched,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>) -> Engine {
        Engine {
            store,
            configs: Arc::default(),
            touched: tokens::Touched::default(),
        }
    }

    /// The config the runtime runs under, read inside a unit of work.
    async fn runtime_config(
        &self,
        tx: &mut dyn RuntimeTx,
        program: &str,
    ) -> Result<runtime::SharedConfig> {
        let revision = tx.revision().await?;
        if let Some(cfg) = self.cached_config(program, revision) {
            return Ok(cfg);
        }
        let exp = tx.minor_units().await?;
        Ok(self.cache_config(program, revision, tx.resources().await?, exp))
    }

    /// The config now, for reads: from a snapshot, without the write lock a
    /// unit of work holds.
    async fn current_config(&self, program: &str) -> Result<runtime::SharedConfig> {
        let snapshot = self.store.snapshot(program).await?;
        if let Some(cfg) = self.cached_config(program, snapshot.revision) {
            return Ok(cfg);
        }
        let exp = self.store.minor_units(program).await?;
        Ok(self.cache_config(program, snapshot.revision, snapshot.resources, exp))
    }

    /// The config as it was at `revision`: the current one, or the changesets
    /// up to it replayed (for pricing and explaining what was computed back
    /// then). Tags, groups and products its rules name are renamed forward
    /// to the keys used now, as the facts it is judged on (a partner's tags,
    /// group, product) are; trigger keys stay as they were, as the ledger's
    /// lines name them.
    async fn config_at(&self, program: &str, revision: u64) -> Result<runtime::SharedConfig> {
        let current = self.current_config(program).await?;
        if current.revision == revision {
            return Ok(current);
        }
        let key = format!("{program}@{revision}");
        if let Some(cfg) = self.cached_config(&key, revision) {
            return Ok(cfg);
        }
        let mut resources: BTreeMap<(crate::spec::Kind, String), Resource> = BTreeMap::new();
        let mut renames: Vec<(crate::spec::Kind, String, String)> = Vec::new();
        for r in 1..=current.revision {
            let record = self.changeset(program, r).await?;
            for change in record.changes {
                match change {
                    changeset::Change::Create { resource } if r <= revision => {
                        resources.insert((resource.kind(), resource.key().to_owned()), resource);
                    }
                    changeset::Change::Update { key, resource } if r <= revision => {
                        resources.remove(&(resource.kind(), key));
                        resources.insert((resource.kind(), resource.key().to_owned()), resource);
                    }
                    changeset::Change::Delete { kind, key } if r <= revision => {
                        resources.remove(&(kind, key));
                    }
                    changeset::Change::Update { key, resource } if key != resource.key() => {
                        renames.push((resource.kind(), key, resource.key().to_owned()));
                    }
                    _ => {}
                }
            }
        }
        let mut config = match Config::from_resources(resources.into_values()) {
            Some(config) => config,
            None => return Ok(Arc::new(runtime::RuntimeConfig::empty(program))),
        };
        for (kind, old, new) in &renames {
            config.rename_references(*kind, old, new);
        }
        let cfg = Arc::new(runtime::RuntimeConfig::new(revision, config, current.exp));
        self.configs
            .lock()
            .expect("config cache")
            .insert(key, cfg.clone());
        Ok(cfg)
    }

    fn cached_config(&self, program: &str, revision: u64) -> Option<runtime::SharedConfig> {
        self.configs
            .lock()
            .expect("config cache")
            .get(program)
            .filter(|cfg| cfg.revision == revision)
            .cloned()
    }

    fn cache_config(
        &self,
        program: &str,
        revision: u64,
        resources: Vec<Resource>,
        exp: Option<u8>,
    ) -> runtime::SharedConfig {
        let cfg = Arc::new(match Config::from_resources(resources) {
            Some(config) => {
                // A program the store does not know yet keeps its amounts in
                // its currency's minor unit.
                let exp = exp
                    .or_else(|| crate::spec::money::currency_exponent(&config.program.currency))
                    .unwrap_or(2);
                runtime::RuntimeConfig::new(revision, config, exp)
            }
            None => runtime::RuntimeConfig::empty(program),
        });
        self.configs
            .lock()
            .expect("config cache")
            .insert(program.to_owned(), cfg.clone());
        cfg
    }

    /// Partners (with `tag`, if given) after `after`, in key order.
    pub async fn partners(
        &self,
        program: &str,
        tag: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Partner>> {
        match tag {
            Some(t) => {
                let page = self
                    .store
                    .partners_with_tag(program, t, after, limit)
                    .await?;
                // Nobody holds a tag the config does not declare: say so, not
                // an empty list that looks like an answer.
                if page.is_empty() && after.is_none() {
                    let cfg = self.current_config(program).await?;
                    if !cfg.config.tags.iter().any(|d| d.key == t) {
                        let hint = crate::suggest::did_you_mean(
                            t,
                            cfg.config.tags.iter().map(|d| d.key.as_str()),
                        )
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                        return Err(Error::NotFound(format!(
                            "program `{program}` declares no tag `{t}`{hint}"
                        )));
                    }
                }
                Ok(page)
            }
            None => Ok(self
                .store
                .partners_page(program, after, limit)
                .await?
                .into_iter()
                .map(|s| s.partner)
                .collect()),
        }
    }

    pub async fn partner(&self, program: &str, key: &str) -> Result<PartnerDetail> {
        let partner = self.store.partner(program, key).await?.ok_or_else(|| {
            Error::NotFound(format!("program `{program}` has no partner `{key}`"))
        })?;
        let history = self
            .tag_history_page(
                program,
                runtime::state::Subject::Partner,
                key,
                None,
                lists::DETAIL_HISTORY,
            )
            .await?;
        Ok(PartnerDetail {
            partner,
            tag_history: history.items,
            tag_history_next_cursor: history.next_cursor,
            erasures: self.store.erasures(program, key).await?,
        })
    }

    /// The engine on the store `--db` names (a SQLite file or a
    /// `postgres://` URL), created and migrated as needed, with the store
    /// options the environment gives.
    pub async fn open(path: &Path) -> Result<Engine> {
        Engine::open_with(path, &crate::store::StoreOptions::from_env()?).await
    }

    pub async fn open_with(path: &Path, options: &crate::store::StoreOptions) -> Result<Engine> {
        Ok(Engine::new(crate::store::open(path, options).await?))
    }

    /// Whether the store answers and is migrated (`/readyz`).
    pub async fn ready(&self) -> Result<()> {
        self.store.ready().await
    }

    pub async fn programs(&self) -> Result<Vec<ProgramSummary>> {
        self.store.programs().await
    }

    pub async fn snapshot(&self, program: &str) -> Result<Snapshot> {
        self.store.snapshot(program).await
    }

    /// Applies a changeset atomically after checking that it applies to the
    /// current revision and leaves a valid config.
    pub async fn apply(&self, program: &str, changeset: &Changeset) -> Result<ChangesetRecord> {
        self.apply_as(program, changeset, None).await
    }

    /// [`Engine::apply`] for a caller over HTTP: `token` is the id of the
    /// token that sent the changeset, kept in its history.
    pub async fn apply_as(
        &self,
        program: &str,
        changeset: &Changeset,
        token: Option<&str>,
    ) -> Result<ChangesetRecord> {
        let started = std::time::Instant::now();
        let result = self.apply_unmetered(program, changeset, token).await;
        crate::telemetry::apply(result.is_ok(), started.elapsed());
        result
    }

    async fn apply_unmetered(
        &self,
        program: &str,
        changeset: &Changeset,
        token: Option<&str>,
    ) -> Result<ChangesetRecord> {
        if changeset.author.trim().is_empty() {
            return Err(Error::BadRequest("a changeset needs an author".to_owned()));
        }
        let errors = changeset::check_envelope(program, changeset);
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let current = self.store.snapshot(program).await?;
        if current.revision != changeset.base_revision {
            return Err(Error::Stale {
                base: changeset.base_revision,
                current: current.revision,
            });
        }
        let mut delta = changeset::resolve(program, &current.resources, &changeset.changes)?;
        // Amounts are kept in the currency's minor unit, however written.
        let minor_units = delta.written.iter().find_map(|r| match r {
            Resource::Program(p) => crate::spec::money::currency_exponent(&p.currency),
            _ => None,
        });
        let exp = match minor_units {
            Some(e) => Some(e),
            None => self.store.minor_units(program).await?,
        };
        if let Some(exp) = exp {
            for r in &mut delta.written {
                r.to_minor_units(exp);
            }
        }
        let backfills = backfills(&current.resources, &changeset.changes);
        let daily_checks_changed = daily_checks_changed(&current.resources, &changeset.changes);
        delta.webhook_secrets = outbox::new_endpoint_secrets(&changeset.changes);
        // The store re-checks the revision inside its transaction: another apply
        // may have landed since the snapshot above.
        let mut record = self
            .store
            .commit(Commit {
                program,
                changeset,
                delta: &delta,
                minor_units,
                daily_checks_changed,
                backfill: !backfills.is_empty(),
                token,
            })
            .await?;
        if !backfills.is_empty() {
            // After the commit, in pages: a crash in between is caught up by the
            // next sweep, which also fires backfills that have not run.
            let report = self
                .backfill(program, &backfills, chrono::Utc::now())
                .await?;
            record.backfill_fired = Some(report.fired);
        }
        Ok(record)
    }

    pub async fn history(&self, program: &str) -> Result<Vec<ChangesetRecord>> {
        self.store.changesets(program).await
    }

    pub async fn changeset(&self, program: &str, revision: u64) -> Result<ChangesetRecord> {
        self.store
            .changeset(program, revision)
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!("program `{program}` has no revision {revision}"))
            })
    }

    /// Counts for a plan: partners losing deleted tags, customers holding deleted
    /// products, partners each backfill would fire for.
    pub async fn impact(&self, program: &str, query: &ImpactQuery) -> Result<Impact> {
        let mut impact = Impact {
            tag_holders: self.store.tag_holders(program, &query.tags).await?,
            tag_customers: self
                .store
                .customer_tag_holders(program, &query.tags)
                .await?,
            product_holders: self.store.product_holders(program, &query.products).await?,
            backfill: BTreeMap::new(),
        };
        if query.backfill.is_empty() {
            return Ok(impact);
        }
        for automation in &query.backfill {
            impact.backfill.insert(automation.key.clone(), 0);
        }
        // Fire records count under the key the engine holds now (before a
        // rename), and not at all once the trigger changes: apply forgets them.
        let live = self.store.snapshot(program).await?;
        let fired_as: Vec<Option<String>> = query
            .backfill
            .iter()
            .map(|a| {
                let before = live.resources.iter().find_map(|r| match r {
                    Resource::Automation(b) if b.key == a.key || a.previously.contains(&b.key) => {
                        Some(b)
                    }
                    _ => None,
                });
                match before {
                    Some(b) if b.when == a.when => Some(b.key.clone()),
                    Some(_) => None,
                    None => Some(a.key.clone()),
                }
            })
            .collect();
        // Page through partners so memory does not grow with their number.
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .partners_page(program, after.as_deref(), PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.partner.key.clone());
            for (automation, fired_as) in query.backfill.iter().zip(&fired_as) {
                let n = page
                    .iter()
                    .filter(|p| {
                        p.partner.is_past(&automation.when)
                            && fired_as.as_ref().is_none_or(|k| !p.fires.contains_key(k))
                    })
                    .count();
                *impact.backfill.entry(automation.key.clone()).or_default() += n as u64;
            }
            if page.len() < PAGE {
                break;
            }
        }
        Ok(impact)
    }

    /// What the planned config in `query` would have done with the
    /// program's events over the window, beside what the live config does
    /// with them: commissions per trigger and per partner, tags gained and
    /// lost. Reads only, in read transactions that are never committed.
    pub async fn what_if(
        &self,
        program: &str,
        query: &whatif::WhatIfQuery,
    ) -> Result<whatif::WhatIf> {
        if query.window_days == 0 {
            return Err(Error::BadRequest(
                "window_days must be at least 1 (0 turns the impact off in the client)".to_owned(),
            ));
        }
        let live = self.current_config(program).await?;
        let planned = whatif::planned_config(query, live.exp)
            .ok_or_else(|| Error::BadRequest("the planned config has no `program`".to_owned()))?;
        if planned.config.program.key != program {
            return Err(Error::BadRequest(format!(
                "the planned config is for program `{}`, not `{program}`",
                planned.config.program.key
            )));
        }
        let (since, until) = whatif::window(query, chrono::Utc::now());
        let replay = whatif::Replay::new(live, Arc::new(planned), since, until);
        let tally = replay.tally(query.window_days, &query.triggers);
        // The fold runs on a thread of its own while this task reads the
        // next partners' histories, so reading and folding overlap; a
        // bounded channel keeps a few histories in memory at most.
        let (send, mut recv) = tokio::sync::mpsc::channel::<(String, crate::store::History)>(32);
        let folder = tokio::task::spawn_blocking(move || {
            let mut tally = tally;
            while let Some((key, history)) = recv.blocking_recv() {
                replay.partner(&key, &history, &mut tally);
            }
            tally
        });
        let read = async {
            let mut after: Option<String> = None;
            loop {
                let page = self
                    .store
                    .runtime_reader(program)
                    .await?
                    .partners_after(after.as_deref(), whatif::page_size())
                    .await?;
                let Some(last) = page.last() else { break };
                after = Some(last.partner.key.clone());
                let n = page.len();
                let keys: Vec<String> = page.into_iter().map(|p| p.partner.key).collect();
                // The page's histories are read by several readers at once,
                // each in a read transaction of its own (a long replay never
                // holds one snapshot open for its whole length, nor blocks
                // writers): one reader spent most of its time handing rows
                // from the database's thread to this one and waiting, with a
                // core idle. The fold's sums do not depend on the order.
                let part = keys.len().div_ceil(whatif::READERS).max(1);
                futures_util::future::try_join_all(keys.chunks(part).map(|part| {
                    let send = send.clone();
                    async move {
                        let mut tx = self.store.runtime_reader(program).await?;
                        for key in part {
                            let history = tx.history(key).await?;
                            send.send((key.clone(), history)).await.map_err(|_| {
                                Error::Internal("the what-if fold stopped".to_owned())
                            })?;
                        }
                        Ok::<(), Error>(())
                    }
                }))
                .await?;
                if n < whatif::page_size() {
                    break;
                }
            }
            Ok::<(), Error>(())
        }
        .await;
        drop(send);
        let tally = folder
            .await
            .map_err(|e| Error::Internal(format!("the what-if fold failed: {e}")))?;
        read?;
        Ok(tally.finish())
    }
}
