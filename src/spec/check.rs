//! Rules a config must satisfy beyond its types: key syntax, ranges that depend on
//! other fields, and references between resources.
//!
//! The checks work on spec values and report a path into the resource, so the
//! config loader can turn a path into a file position and the engine can refuse a
//! bad changeset with the same words.

use std::collections::HashSet;
use std::fmt;

use super::{
    Automation, Commission, CommissionTrigger, Compare, EventType, Metric, Money, Product, Program,
    Resource, Rule, Trigger, Webhook,
};
use crate::suggest::{did_you_mean, did_you_mean_within};

/// One step into a resource: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(&'static str),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: Vec<Seg>,
    pub message: String,
    pub help: Option<String>,
    /// Other places the problem follows from: the config loader drops a problem
    /// when a value it rests on is a stand-in for a mistake already reported.
    pub depends_on: Vec<Vec<Seg>>,
}

impl Problem {
    pub fn new(path: Vec<Seg>, message: impl Into<String>) -> Problem {
        Problem {
            path,
            message: message.into(),
            help: None,
            depends_on: Vec::new(),
        }
    }

    #[must_use]
    fn depending_on(mut self, path: Vec<Seg>) -> Problem {
        self.depends_on.push(path);
        self
    }

    /// The path as written in JSON-ish notation: `rules[0].product.key.any_of[1]`.
    pub fn path_text(&self) -> String {
        let mut out = String::new();
        for seg in &self.path {
            match seg {
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path_text(), self.message)
        }
    }
}

const MAX_KEY_LEN: usize = 100;

/// Keys appear in URLs, file names and logs: letters, digits, `-`, `_` and `.`,
/// starting with a letter or digit.
pub fn key_problem(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("key must not be empty".to_owned());
    }
    if key.chars().count() > MAX_KEY_LEN {
        return Some(format!("key is longer than {MAX_KEY_LEN} characters"));
    }
    let valid = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (!valid).then(|| {
        format!(
            "invalid key `{key}`: use ASCII letters, digits, `-`, `_` and `.`, starting with a letter or digit"
        )
    })
}

/// Checks one resource on its own.
pub fn check_resource(resource: &Resource) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(message) = key_problem(resource.key()) {
        problems.push(Problem::new(vec![Seg::Key("key")], message));
    }
    for (i, old) in resource.previously().iter().enumerate() {
        let path = vec![Seg::Key("previously"), Seg::Index(i)];
        if let Some(message) = key_problem(old) {
            problems.push(Problem::new(path, message));
        } else if old == resource.key() {
            problems.push(
                Problem::new(
                    path,
                    format!("`{old}` is this {}'s own key", resource.kind().noun()),
                )
                .depending_on(vec![Seg::Key("key")]),
            );
        }
    }
    match resource {
        Resource::Program(p) => check_program(p, &mut problems),
        Resource::Product(p) => check_product(p, &mut problems),
        Resource::Automation(a) => check_automation(a, &mut problems),
        Resource::CommissionTrigger(t) => check_trigger(t, &mut problems),
        Resource::Webhook(w) => check_webhook(w, &mut problems),
        Resource::Group(_) | Resource::Tag(_) => {}
    }
    problems
}

/// URLs longer than this are refused: they are sent in every plan.
const MAX_URL_LEN: usize = 2000;

fn check_webhook(webhook: &Webhook, problems: &mut Vec<Problem>) {
    if let Some(problem) = url_problem(&webhook.url) {
        let mut p = Problem::new(vec![Seg::Key("url")], problem.0);
        p.help = problem.1;
        problems.push(p);
    }
    for (i, event) in webhook.events.iter().enumerate() {
        let path = vec![Seg::Key("events"), Seg::Index(i)];
        if *event == EventType::AutomationFired {
            let mut p = Problem::new(
                path,
                "`automation.fired` is sent by a `notify` action, not by subscribing",
            );
            p.help = Some(format!(
                "add `{{ notify: {} }}` to the `then` of the automations that should send it",
                webhook.key
            ));
            problems.push(p);
        } else if webhook.events[..i].contains(event) {
            problems.push(Problem::new(path, format!("`{event}` is listed twice")));
        }
    }
}

/// What is wrong with a webhook URL, and what to do about it. Plain http is
/// for a receiver on this machine or a private network (development), which
/// `serve` reaches only when told to; anything else must be https. A user
/// name or password in the URL would be printed in every plan and export.
pub fn url_problem(text: &str) -> Option<(String, Option<String>)> {
    if text.len() > MAX_URL_LEN {
        return Some((format!("url is longer than {MAX_URL_LEN} characters"), None));
    }
    let url = match url::Url::parse(text) {
        Ok(url) => url,
        Err(e) => {
            return Some((
                format!("`{text}` is not a URL: {e}"),
                Some("write an absolute URL such as https://hooks.example.com/partnerops".into()),
            ));
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Some((
            "url must not hold a user name or password: plans and exports show the url".into(),
            Some("messages are signed instead; the receiver checks the signature with the endpoint's secret (`partnerops webhooks secret KEY`)".into()),
        ));
    }
    if url.fragment().is_some() {
        return Some((
            "url must not have a fragment (`#...`): it is never sent".into(),
            None,
        ));
    }
    let Some(host) = url.host() else {
        return Some((format!("`{text}` names no host"), None));
    };
    match url.scheme() {
        "https" => None,
        "http" if host_is_local(&host) => None,
        "http" => Some((
            format!("`{text}` is plain http: messages must go over https"),
            Some(
                "plain http is accepted only for loopback or private addresses (development)"
                    .into(),
            ),
        )),
        other => Some((
            format!("url scheme `{other}` is not supported; use https"),
            None,
        )),
    }
}

/// Whether a URL's host is on this machine or a private network as written
/// (`localhost` or an address literal); a name is only known once resolved.
fn host_is_local(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => crate::spec::address::is_private(std::net::IpAddr::V4(*ip)),
        url::Host::Ipv6(ip) => crate::spec::address::is_private(std::net::IpAddr::V6(*ip)),
    }
}

fn check_program(program: &Program, problems: &mut Vec<Problem>) {
    if program.name.trim().is_empty() {
        problems.push(Problem::new(
            vec![Seg::Key("name")],
            "name must not be empty",
        ));
    }
    let c = &program.currency;
    if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
        problems.push(Problem::new(
            vec![Seg::Key("currency")],
            format!("currency `{c}` is not an ISO 4217 code such as USD or EUR"),
        ));
    } else if super::money::currency_exponent(c).is_none() {
        let mut p = Problem::new(
            vec![Seg::Key("currency")],
            format!("`{c}` is not an ISO 4217 currency with a minor unit"),
        );
        p.help = iso_currency::Currency::from_code(c)
            .is_none()
            .then(|| "use a code such as USD, EUR, JPY or KWD".to_owned());
        problems.push(p);
    }
    if program.timezone.parse::<chrono_tz::Tz>().is_err() {
        let mut p = Problem::new(
            vec![Seg::Key("timezone")],
            format!("unknown time zone `{}`", program.timezone),
        );
        p.help = Some(
            match did_you_mean(
                &program.timezone,
                chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()),
            ) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "use an IANA name such as UTC or Europe/Berlin".to_owned(),
            },
        );
        problems.push(p);
    }
}

fn check_product(product: &Product, problems: &mut Vec<Problem>) {
    if product.name.trim().is_empty() {
        problems.push(Problem::new(
            vec![Seg::Key("name")],
            "name must not be empty",
        ));
    }
    if let Some(problem) = product.price.and_then(super::money::amount_problem) {
        problems.push(Problem::new(vec![Seg::Key("price")], problem));
    }
    if product.price.is_some_and(Money::is_negative) {
        problems.push(Problem::new(
            vec![Seg::Key("price")],
            "price must not be negative",
        ));
    }
    if let Some(stripe) = &product.stripe {
        if stripe.prices.is_empty() {
            problems.push(Problem::new(
                vec![Seg::Key("stripe"), Seg::Key("prices")],
                "prices must list at least one Stripe price id or lookup key (or leave `stripe` out)",
            ));
        }
        for (i, price) in stripe.prices.iter().enumerate() {
            if price.trim().is_empty() || price.trim() != price {
                problems.push(Problem::new(
                    vec![Seg::Key("stripe"), Seg::Key("prices"), Seg::Index(i)],
                    format!("`{price}` is not a Stripe price id or lookup key: it is empty or has spaces around it"),
                ));
            }
        }
    }
}

/// A Stripe price listed a second time: the Stripe source could not tell
/// which product a subscription item on it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceClash<'a> {
    /// Which product (the n-th given) lists it again, and where in its list.
    pub product: usize,
    pub index: usize,
    pub price: &'a str,
    /// Where it was listed first.
    pub first_product: usize,
    pub first_index: usize,
}

impl PriceClash<'_> {
    /// The path of the second listing, in its product.
    pub fn path(&self) -> Vec<Seg> {
        vec![
            Seg::Key("stripe"),
            Seg::Key("prices"),
            Seg::Index(self.index),
        ]
    }
}

/// Every Stripe price listed more than once across `products`, after its
/// first listing.
pub fn stripe_price_clashes<'a>(
    products: impl IntoIterator<Item = &'a Product>,
) -> Vec<PriceClash<'a>> {
    let mut first: std::collections::HashMap<&str, (usize, usize)> =
        std::collections::HashMap::new();
    let mut clashes = Vec::new();
    for (n, product) in products.into_iter().enumerate() {
        let Some(stripe) = &product.stripe else {
            continue;
        };
        for (i, price) in stripe.prices.iter().enumerate() {
            match first.get(price.as_str()) {
                Some(&(first_product, first_index)) => clashes.push(PriceClash {
                    product: n,
                    index: i,
                    price,
                    first_product,
                    first_index,
                }),
                None => {
                    first.insert(price, (n, i));
                }
            }
        }
    }
    clashes
}

fn check_automation(automation: &Automation, problems: &mut Vec<Problem>) {
    if automation.then.is_empty() {
        problems.push(Problem::new(
            vec![Seg::Key("then")],
            "an automation needs at least one action (add_tag, remove_tag, tag_customer or notify)",
        ));
    }
    match &automation.when {
        Trigger::Milestone(m) => {
            let path = vec![
                Seg::Key("when"),
                Seg::Key("milestone"),
                Seg::Key("at_least"),
            ];
            if m.at_least.is_zero() {
                problems.push(Problem::new(path, "at_least must be more than 0"));
            } else if m.metric != Metric::Revenue && m.at_least.whole().is_none() {
                let metric = m.metric.as_str();
                problems.push(
                    Problem::new(
                        path,
                        format!(
                            "{metric} are counted in whole numbers, found {}",
                            m.at_least
                        ),
                    )
                    .depending_on(vec![
                        Seg::Key("when"),
                        Seg::Key("milestone"),
                        Seg::Key("metric"),
                    ]),
                );
            }
        }
        Trigger::Sale(s) => {
            if s.kinds.as_ref().is_some_and(Vec::is_empty) {
                problems.push(Problem::new(
                    vec![Seg::Key("when"), Seg::Key("sale"), Seg::Key("kinds")],
                    "kinds must list at least one of one_time, recurring, manual (or be left out for all)",
                ));
            }
            if automation.backfill {
                problems.push(
                    Problem::new(
                        vec![Seg::Key("backfill")],
                        "backfill does not apply to `sale`, which fires on each new transaction",
                    )
                    .depending_on(vec![Seg::Key("when")]),
                );
            }
        }
        _ => {}
    }
    for (i, action) in automation.then.iter().enumerate() {
        if matches!(action, super::Action::TagCustomer(_))
            && !matches!(automation.when, Trigger::Sale(_) | Trigger::FirstSale)
        {
            problems.push(
                Problem::new(
                    vec![Seg::Key("then"), Seg::Index(i), Seg::Key("tag_customer")],
                    "tag_customer needs a sale: use it with `sale` or `first_sale`",
                )
                .depending_on(vec![Seg::Key("when")]),
            );
        } else if matches!(action, super::Action::TagCustomer(_))
            && automation.backfill
            && matches!(automation.when, Trigger::FirstSale)
        {
            problems.push(Problem::new(
                vec![Seg::Key("then"), Seg::Index(i), Seg::Key("tag_customer")],
                "a backfill fires without a sale, so tag_customer would tag no one: drop `backfill: true` or this action",
            ));
        }
    }
}

fn check_trigger(trigger: &CommissionTrigger, problems: &mut Vec<Problem>) {
    if let Commission::Flat(amount) = trigger.commission
        && let Some(problem) = super::money::amount_problem(amount)
    {
        problems.push(Problem::new(
            vec![Seg::Key("commission"), Seg::Key("flat")],
            problem,
        ));
    }
    if let Commission::Flat(amount) = trigger.commission
        && amount.is_negative()
    {
        problems.push(Problem::new(
            vec![Seg::Key("commission"), Seg::Key("flat")],
            "a commission must not be negative",
        ));
    }
    if let Some(drip) = trigger.drip
        && !(1..=120).contains(&drip.installments)
    {
        problems.push(Problem::new(
            vec![Seg::Key("drip"), Seg::Key("installments")],
            format!(
                "installments must be from 1 to 120, found {}",
                drip.installments
            ),
        ));
    }
    for (i, rule) in trigger.rules.iter().enumerate() {
        let path = |op: &'static str| {
            vec![
                Seg::Key("rules"),
                Seg::Index(i),
                Seg::Key(rule.subject()),
                Seg::Key(op),
            ]
        };
        let empty = |op| Problem::new(path(op), format!("{op} needs at least one value"));
        match rule {
            Rule::ProductKey(op) | Rule::ProductName(op) if op.values().is_empty() => {
                problems.push(empty(op.operator()));
            }
            Rule::ProductStatus(op) if op.values().is_empty() => {
                problems.push(empty(op.operator()))
            }
            Rule::PartnerGroup(op) | Rule::PartnerTag(op) if op.values().is_empty() => {
                problems.push(empty(op.operator()));
            }
            Rule::TransactionKind(op) if op.values().is_empty() => problems.push(empty("any_of")),
            Rule::TransactionAmount(c) => check_compare(c, i, rule.subject(), problems),
            Rule::CustomerAgeDays(c) => check_compare(c, i, rule.subject(), problems),
            _ => {}
        }
    }
}

fn check_compare<T: PartialOrd + Copy>(
    compare: &Compare<T>,
    index: usize,
    subject: &'static str,
    problems: &mut Vec<Problem>,
) {
    if compare.is_empty() {
        problems.push(Problem::new(
            vec![Seg::Key("rules"), Seg::Index(index), Seg::Key(subject)],
            format!("{subject} needs at least one of gt, gte, lt, lte"),
        ));
    }
}

/// What a config declares, for checking references.
#[derive(Debug, Default)]
pub struct Declared<'a> {
    pub groups: HashSet<&'a str>,
    pub tags: HashSet<&'a str>,
    pub products: HashSet<&'a str>,
    pub product_names: HashSet<&'a str>,
    pub webhooks: HashSet<&'a str>,
    /// What some of the config that could not be read may declare (`tag`,
    /// `group`, `product`, `product name`, `webhook`): a reference to one is not
    /// reported as undeclared.
    pub unread: HashSet<&'static str>,
    /// Work spent on did-you-means so far: each suggestion compares against
    /// every key of its kind, so thousands of bad references against
    /// thousands of (long) keys stop getting suggestions after a while.
    pub suggesting: std::cell::Cell<usize>,
    /// The program's currency and its decimals, once a valid one is declared.
    pub currency: Option<(&'a str, u8)>,
}

/// Work for did-you-means in one check (character pairs compared): about a
/// second.
const MAX_SUGGESTING: usize = 500_000_000;

impl<'a> Declared<'a> {
    pub fn add(&mut self, resource: &'a Resource) {
        match resource {
            Resource::Group(g) => {
                self.groups.insert(&g.key);
            }
            Resource::Tag(t) => {
                self.tags.insert(&t.key);
            }
            Resource::Product(p) => {
                self.products.insert(&p.key);
                self.product_names.insert(&p.name);
            }
            Resource::Program(p) => {
                self.currency = super::money::currency_exponent(&p.currency)
                    .map(|exp| (p.currency.as_str(), exp));
            }
            Resource::Webhook(w) => {
                self.webhooks.insert(&w.key);
            }
            _ => {}
        }
    }
}

/// Amounts with more decimals than the program's currency has: 100.55 yen.
pub fn check_amounts(resource: &Resource, declared: &Declared) -> Vec<Problem> {
    let Some((code, exp)) = declared.currency else {
        return Vec::new();
    };
    let mut resource = resource.clone();
    resource
        .amounts_mut()
        .into_iter()
        .filter(|(_, m)| m.in_minor_units(exp).is_none())
        .map(|(path, m)| {
            let decimals = match exp {
                0 => "no decimals".to_owned(),
                1 => "one decimal".to_owned(),
                n => format!("{n} decimals"),
            };
            Problem::new(
                path,
                format!("`{m}` has more decimals than {code}, which has {decimals}"),
            )
        })
        .collect()
}

/// Checks that every tag, group and product a resource names is declared.
pub fn check_references(resource: &Resource, declared: &Declared) -> Vec<Problem> {
    let mut problems = check_amounts(resource, declared);
    let mut require =
        |set: &HashSet<&str>, what: &str, section: &str, value: &str, path: Vec<Seg>| {
            if !set.contains(value) && !declared.unread.contains(what) {
                let mut p = Problem::new(
                    path,
                    format!("{what} `{value}` is not declared; add it under `{section}:`"),
                );
                let mut budget = MAX_SUGGESTING.saturating_sub(declared.suggesting.get());
                let before = budget;
                p.help = did_you_mean_within(value, set.iter().copied(), &mut budget)
                    .map(|s| format!("did you mean `{s}`?"));
                declared
                    .suggesting
                    .set(declared.suggesting.get() + (before - budget));
                problems.push(p);
            }
        };
    match resource {
        Resource::Automation(a) => {
            for (i, action) in a.then.iter().enumerate() {
                let path = vec![Seg::Key("then"), Seg::Index(i), Seg::Key(action.name())];
                if let Some(tag) = action.tag() {
                    require(&declared.tags, "tag", "tags", tag, path);
                } else if let Some(endpoint) = action.endpoint() {
                    require(&declared.webhooks, "webhook", "webhooks", endpoint, path);
                }
            }
        }
        Resource::CommissionTrigger(t) => {
            for (i, rule) in t.rules.iter().enumerate() {
                let (set, what, section, op, values): (_, _, _, _, &[String]) = match rule {
                    Rule::ProductKey(op) => (
                        &declared.products,
                        "product",
                        "products",
                        op.operator(),
                        op.values(),
                    ),
                    Rule::ProductName(op) => (
                        &declared.product_names,
                        "product name",
                        "products",
                        op.operator(),
                        op.values(),
                    ),
                    Rule::PartnerGroup(op) => (
                        &declared.groups,
                        "group",
                        "groups",
                        op.operator(),
                        op.values(),
                    ),
                    Rule::PartnerTag(op) => {
                        (&declared.tags, "tag", "tags", op.operator(), op.values())
                    }
                    _ => continue,
                };
                for (j, value) in values.iter().enumerate() {
                    let path = vec![
                        Seg::Key("rules"),
                        Seg::Index(i),
                        Seg::Key(rule.subject()),
                        Seg::Key(op),
                        Seg::Index(j),
                    ];
                    require(set, what, section, value, path);
                }
            }
        }
        _ => {}
    }
    problems
}
