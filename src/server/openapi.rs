//! The OpenAPI document: paths from the handlers' `utoipa::path` annotations,
//! schemas from the same schemars derivations that make the config JSON Schema,
//! so the wire format has one definition.

use std::borrow::Cow;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa::openapi::{RefOr, schema::Schema};

use super::{config, ledger, runtime};
use crate::engine::access::{IssuedToken, TokenRequest};
use crate::engine::changeset::{Changeset, ChangesetRecord};
use crate::engine::customer::CustomerDetail;
use crate::engine::event::IngestReport;
use crate::engine::explain::Explanation;
use crate::engine::partner::Partner;
use crate::engine::runtime::state::CommissionRecord;
use crate::engine::view::PartnerView;
use crate::engine::{Impact, ImpactQuery, PartnerDetail, ProgramSummary, Snapshot, SweepReport};
use crate::problem::Problem;

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
    IngestReport,
    SweepReport,
    Partner,
    PartnerDetail,
    CustomerDetail,
    CommissionRecord,
    Explanation,
    PartnerView,
);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "partnerops engine",
        description = "Partner-program config (snapshots and atomic changesets) and the engine that runs it. Every route but /healthz needs `Authorization: Bearer TOKEN`."
    ),
    paths(
        config::programs,
        config::snapshot,
        config::apply,
        config::history,
        config::changeset,
        config::create_token,
        config::impact,
        runtime::events,
        runtime::sweep,
        runtime::partners,
        runtime::partner,
        runtime::customer,
        ledger::commissions,
        ledger::explain,
        ledger::partner_view,
        ledger::me,
    ),
    tags(
        (name = "config", description = "Config state, plan and apply"),
        (name = "runtime", description = "Events, the daily checks, partners"),
        (name = "commissions", description = "The commission ledger, explanations, the partner view"),
        (name = "access", description = "Tokens")
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
    doc
}
