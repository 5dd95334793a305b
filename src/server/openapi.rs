//! The OpenAPI document: paths from the handlers' `utoipa::path` annotations,
//! schemas from the same schemars derivations that make the config JSON Schema,
//! so the wire format has one definition.

use std::borrow::Cow;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa::openapi::{RefOr, schema::Schema};

use super::{config, ledger, runtime, stripe, webhooks};
use crate::engine::access::{IssuedToken, TokenRecord, TokenRequest};
use crate::engine::changeset::{Changeset, ChangesetRecord};
use crate::engine::customer::CustomerDetail;
use crate::engine::event::Event;
use crate::engine::event::IngestReport;
use crate::engine::explain::Explanation;
use crate::engine::ledger::listing::{LedgerPage, TransactionPage};
use crate::engine::ledger::payouts::{PayoutDetail, PayoutPlan};
use crate::engine::ledger::report::ProductReport;
use crate::engine::outbox::WebhookSecret;
use crate::engine::page::Page;
use crate::engine::partner::Partner;
use crate::engine::runtime::state::TagChange;
use crate::engine::view::PartnerView;
use crate::engine::{Impact, ImpactQuery, PartnerDetail, ProgramSummary, Snapshot, SweepReport};
use crate::problem::Problem;
use crate::sources::stripe::Outcome;
use crate::sources::stripe::StripeSecret;
use crate::store::record::Payout;

/// Pages of each list, by name: utoipa reads a generic type in a path
/// annotation as one to compose, which these are not (schemars makes them).
pub type ProgramPage = Page<ProgramSummary>;
pub type ChangesetPage = Page<ChangesetRecord>;
pub type PartnerPage = Page<Partner>;
pub type TagChangePage = Page<TagChange>;
pub type TokenPage = Page<TokenRecord>;
use crate::store::outbox::Delivery;

/// utoipa needs `ToSchema` to reference a body type; the schema itself is filled
/// in from schemars by [`document`].
macro_rules! schema_from_schemars {
    ($($ty:ty),* $(,)?) => {
        $(
            impl utoipa::PartialSchema for $ty {
                fn schema() -> RefOr<Schema> {
                    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(<$ty as JsonSchema>::schema_name()))
                }
            }
            impl utoipa::ToSchema for $ty {
                fn name() -> Cow<'static, str> {
                    <$ty as JsonSchema>::schema_name()
                }
            }
        )*

        fn components() -> serde_json::Map<String, Value> {
            let mut generator = SchemaSettings::draft2020_12()
                .with(|s| s.definitions_path = "/components/schemas".into())
                .into_generator();
            $( generator.subschema_for::<$ty>(); )*
            generator.take_definitions(true)
        }
    };
}

schema_from_schemars!(
    Snapshot,
    Changeset,
    ChangesetRecord,
    ProgramSummary,
    Problem,
    TokenRequest,
    IssuedToken,
    Impact,
    ImpactQuery,
    crate::engine::whatif::WhatIf,
    crate::engine::whatif::WhatIfQuery,
    IngestReport,
    SweepReport,
    Partner,
    PartnerDetail,
    CustomerDetail,
    LedgerPage,
    TransactionPage,
    PayoutPlan,
    PayoutDetail,
    Payout,
    ProductReport,
    Explanation,
    PartnerView,
    Outcome,
    StripeSecret,
    TokenRecord,
    crate::engine::erasure::Erasure,
    Event,
    TagChange,
    ProgramPage,
    ChangesetPage,
    PartnerPage,
    TagChangePage,
    TokenPage,
    Delivery,
    WebhookSecret,
);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "partnerops engine",
        description = "Partner-program config (snapshots and atomic changesets) and the engine that runs it. Every route but /healthz, /readyz and the Stripe source (signed by Stripe instead) needs `Authorization: Bearer TOKEN`."
    ),
    paths(
        config::programs,
        config::snapshot,
        config::apply,
        config::history,
        config::changeset,
        config::create_token,
        config::tokens,
        config::revoke_token,
        config::impact,
        config::what_if,
        runtime::events,
        runtime::sweep,
        runtime::partners,
        runtime::partner,
        runtime::customer,
        runtime::partner_tag_history,
        runtime::erase_partner,
        runtime::customer_tag_history,
        ledger::commissions,
        ledger::transactions,
        ledger::payout_plan,
        ledger::create_payout,
        ledger::payouts,
        ledger::payout,
        ledger::product_report,
        ledger::explain,
        ledger::partner_view,
        ledger::me,
        stripe::webhook,
        stripe::set_secret,
        stripe::import,
        webhooks::deliveries,
        webhooks::redeliver,
        webhooks::secret,
        webhooks::rotate_secret,
    ),
    tags(
        (name = "config", description = "Config state, plan and apply"),
        (name = "runtime", description = "Events, the daily checks, partners"),
        (name = "commissions", description = "The ledger, waiting transactions, reports, explanations, the partner view"),
        (name = "payouts", description = "Payouts to partners"),
        (name = "webhooks", description = "Webhooks out: deliveries, redelivery, signing secrets"),
        (name = "access", description = "Tokens"),
        (name = "sources", description = "Event sources: Stripe's webhooks")
    )
)]
struct ApiDoc;

/// The whole document, as served at /openapi.json.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document is JSON");
    doc["openapi"] = json!("3.1.0");
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    let components = doc
        .as_object_mut()
        .expect("a document is an object")
        .entry("components")
        .or_insert_with(|| json!({}));
    components["schemas"] = Value::Object(self::components());
    components["securitySchemes"] = json!({ "bearer": { "type": "http", "scheme": "bearer" } });
    add_common_responses(&mut doc);
    // Signed by Stripe, not by a token: no security requirement at all.
    doc["paths"]["/v1/programs/{program}/sources/stripe"]["post"]["security"] = json!([]);
    doc["paths"]["/healthz"] = json!({ "get": {
        "tags": ["access"],
        "summary": "Liveness: answers `ok` without a token.",
        "operationId": "healthz",
        "security": [],
        "responses": { "200": {
            "description": "the engine is serving",
            "content": { "text/plain": { "schema": { "type": "string" } } }
        } }
    } });
    doc["paths"]["/readyz"] = json!({ "get": {
        "tags": ["access"],
        "summary": "Readiness: the store answers and is migrated; needs no token.",
        "operationId": "readyz",
        "security": [],
        "responses": {
            "200": {
                "description": "the engine can serve requests",
                "content": { "text/plain": { "schema": { "type": "string" } } }
            },
            "503": problem("the store does not answer or is not migrated (`urn:partnerops:problem:not_ready`)")
        }
    } });
    doc["paths"]["/metrics"] = json!({ "get": {
        "tags": ["access"],
        "summary": "Counters and timings in Prometheus' text format: events by type and outcome, applies and their duration, sweep duration, webhook deliveries by outcome, HTTP requests by route template and status.",
        "operationId": "metrics",
        "security": [{ "bearer": [] }],
        "responses": {
            "200": { "description": "the metrics (text exposition format 0.0.4)",
                     "content": { "text/plain": { "schema": { "type": "string" } } } },
            "401": problem("no or bad token"),
            "403": problem("the token lacks data:read"),
            "429": problem("a rate limit (the problem's `limit` names it)"),
            "503": problem("too many requests at once")
        }
    } });
    doc["paths"]["/openapi.json"] = json!({ "get": {
        "tags": ["access"],
        "summary": "This document.",
        "operationId": "openapi",
        "security": [{ "bearer": [] }],
        "responses": {
            "200": { "description": "the OpenAPI document",
                     "content": { "application/json": { "schema": { "type": "object" } } } },
            "401": problem("no or bad token")
        }
    } });
    doc
}

fn retry_after() -> Value {
    json!({ "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": { "type": "integer", "minimum": 0 }
    } })
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": {
            "schema": { "$ref": "#/components/schemas/Problem" }
        } }
    })
}

/// Answers every route can give, whatever its handler: a path or query
/// parameter that does not parse (400) and the request time limit (503). And
/// problems go out as `application/problem+json`, which utoipa cannot say.
fn add_common_responses(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for operation in item.values_mut() {
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for response in responses.values_mut() {
                let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
                else {
                    continue;
                };
                let is_problem = content
                    .get("application/json")
                    .is_some_and(|c| c["schema"]["$ref"] == "#/components/schemas/Problem");
                if is_problem && let Some(c) = content.remove("application/json") {
                    content.insert("application/problem+json".to_owned(), c);
                }
            }
            responses
                .entry("400")
                .or_insert_with(|| problem("a path or query parameter is not valid"));
            responses
                .entry("401")
                .or_insert_with(|| problem("no or bad token"));
            let mut limited = problem(
                "a rate limit refused the request (per token, per address, or failed authentications per address): the problem's `limit` names it; try again after `Retry-After` seconds",
            );
            limited["headers"] = retry_after();
            responses.entry("429").or_insert(limited);
            let mut busy = problem(
                "the request took longer than the server's time limit (120 s), or a concurrency or connection limit refused it (then with `Retry-After` and the problem's `limit`)",
            );
            busy["headers"] = retry_after();
            responses.insert("503".to_owned(), busy);
        }
    }
}
