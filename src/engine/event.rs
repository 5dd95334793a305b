//! Partner events as senders write them, and reading a batch of them: a JSON
//! array or NDJSON, every event checked on its own, each bad one reported with
//! its line and reason while the rest go on.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::spec::{Money, ProductStatus, TransactionKind};

/// Events dated further ahead than this are refused: a clock that is off, or a
/// sender that made the date up.
pub const MAX_FUTURE: Duration = Duration::minutes(5);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerInfo {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A group the config declares; `null` in `partner.updated` takes the
    /// partner out of their group, absent leaves it as it is.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub group: Option<Option<String>>,
}

/// Tells a field given as `null` (Some(None)) from one left out (None).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A reference to a partner or customer: `{key: K}`, or just `K`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRef {
    pub key: String,
}

impl JsonSchema for KeyRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KeyRef".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A key, or an object holding it: `K` or `{\"key\": K}`.",
            "anyOf": [
                { "type": "string" },
                {
                    "type": "object",
                    "properties": { "key": { "type": "string" } },
                    "required": ["key"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for KeyRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KeyRef, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Object {
            key: String,
        }
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "a key, or an object `{key: ...}`")]
        enum Either {
            Key(String),
            Object(Object),
        }
        Ok(match Either::deserialize(d)? {
            Either::Key(key) | Either::Object(Object { key }) => KeyRef { key },
        })
    }
}

/// The key of a `K` or `{key: K}` reference.
fn key_of<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    KeyRef::deserialize(d).map(|k| k.key)
}

/// A partner in `partner.joined` / `partner.updated`: `{key, name?, email?,
/// group?}`, or just the key.
fn partner_info<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PartnerInfo, D::Error> {
    #[derive(Deserialize)]
    #[serde(
        untagged,
        expecting = "a partner key, or an object `{key, name?, email?, group?}`"
    )]
    enum Either {
        Key(String),
        Info(PartnerInfo),
    }
    Ok(match Either::deserialize(d)? {
        Either::Key(key) => PartnerInfo {
            key,
            name: None,
            email: None,
            group: None,
        },
        Either::Info(info) => info,
    })
}

/// Money given back on an earlier transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundInfo {
    /// Unique per program: the refund's own key.
    pub key: String,
    /// The transaction's key.
    pub transaction: String,
    /// Positive; at most what remains of the transaction.
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionInfo {
    pub key: String,
    /// The customer's key (or `{key: K}`).
    #[serde(deserialize_with = "key_of")]
    #[schemars(with = "KeyRef")]
    pub customer: String,
    pub amount: Money,
    /// Matched exactly (case matters) to a customer product's external_subscription_key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_key: Option<String>,
    /// one_time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TransactionKind>,
}

/// One event. `id` is unique per program: an id seen before is a duplicate and
/// has no effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Event {
    /// Creates the partner.
    #[serde(rename = "partner.joined")]
    PartnerJoined {
        id: String,
        at: DateTime<Utc>,
        #[serde(deserialize_with = "partner_info")]
        partner: PartnerInfo,
    },
    #[serde(rename = "partner.updated")]
    PartnerUpdated {
        id: String,
        at: DateTime<Utc>,
        #[serde(deserialize_with = "partner_info")]
        partner: PartnerInfo,
    },
    /// A login or other activity.
    #[serde(rename = "partner.active")]
    PartnerActive {
        id: String,
        at: DateTime<Utc>,
        partner: KeyRef,
    },
    /// A referral signup (lead) attributed to the partner.
    #[serde(rename = "customer.signed_up")]
    CustomerSignedUp {
        id: String,
        at: DateTime<Utc>,
        customer: KeyRef,
        partner: KeyRef,
    },
    /// Links a product to a customer, or updates that link (status).
    #[serde(rename = "customer_product.upserted")]
    CustomerProductUpserted {
        id: String,
        at: DateTime<Utc>,
        customer: KeyRef,
        product: String,
        status: ProductStatus,
        external_subscription_key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partner: Option<KeyRef>,
    },
    /// A purchase: attributed to a partner, it runs the commission triggers.
    #[serde(rename = "transaction.created")]
    TransactionCreated {
        id: String,
        at: DateTime<Utc>,
        transaction: TransactionInfo,
    },
    /// Money given back on an earlier transaction: reverses its commissions
    /// in proportion, and lowers revenue.
    #[serde(rename = "transaction.refunded")]
    TransactionRefunded {
        id: String,
        at: DateTime<Utc>,
        refund: RefundInfo,
    },
}

impl Event {
    pub fn id(&self) -> &str {
        match self {
            Event::PartnerJoined { id, .. }
            | Event::PartnerUpdated { id, .. }
            | Event::PartnerActive { id, .. }
            | Event::CustomerSignedUp { id, .. }
            | Event::CustomerProductUpserted { id, .. }
            | Event::TransactionCreated { id, .. }
            | Event::TransactionRefunded { id, .. } => id,
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Event::PartnerJoined { at, .. }
            | Event::PartnerUpdated { at, .. }
            | Event::PartnerActive { at, .. }
            | Event::CustomerSignedUp { at, .. }
            | Event::CustomerProductUpserted { at, .. }
            | Event::TransactionCreated { at, .. }
            | Event::TransactionRefunded { at, .. } => *at,
        }
    }

    /// Cuts `at` to the microsecond the store keeps, so an event orders the
    /// same in its batch as after it was stored.
    fn truncate_to_stored_precision(&mut self) {
        let (Event::PartnerJoined { at, .. }
        | Event::PartnerUpdated { at, .. }
        | Event::PartnerActive { at, .. }
        | Event::CustomerSignedUp { at, .. }
        | Event::CustomerProductUpserted { at, .. }
        | Event::TransactionCreated { at, .. }
        | Event::TransactionRefunded { at, .. }) = self;
        *at = at.trunc_subsecs(6);
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Event::PartnerJoined { .. } => "partner.joined",
            Event::PartnerUpdated { .. } => "partner.updated",
            Event::PartnerActive { .. } => "partner.active",
            Event::CustomerSignedUp { .. } => "customer.signed_up",
            Event::CustomerProductUpserted { .. } => "customer_product.upserted",
            Event::TransactionCreated { .. } => "transaction.created",
            Event::TransactionRefunded { .. } => "transaction.refunded",
        }
    }

    /// Where the event goes among events at the same instant.
    pub fn rank(&self) -> u8 {
        use crate::store::record as r;
        match self {
            Event::PartnerJoined { .. } => r::RANK_JOINED,
            Event::PartnerUpdated { .. } => r::RANK_UPDATED,
            Event::PartnerActive { .. } => r::RANK_ACTIVE,
            Event::CustomerSignedUp { .. } => r::RANK_SIGNUP,
            Event::CustomerProductUpserted { .. } => r::RANK_PRODUCT,
            Event::TransactionCreated { .. } => r::RANK_TRANSACTION,
            Event::TransactionRefunded { .. } => r::RANK_REFUND,
        }
    }

    /// Where the event stands in the order events take effect.
    pub fn mark(&self) -> crate::store::record::Mark {
        crate::store::record::Mark::new(self.at(), self.rank(), self.id())
    }

    /// Brings its amounts to a currency of `exp` decimals (`currency` names
    /// it in the message when an amount has more decimals than that).
    pub fn to_minor_units(&mut self, exp: u8, currency: &str) -> Result<(), String> {
        let (field, amount) = match self {
            Event::TransactionCreated { transaction, .. } => {
                ("transaction.amount", &mut transaction.amount)
            }
            Event::TransactionRefunded { refund, .. } => ("refund.amount", &mut refund.amount),
            _ => return Ok(()),
        };
        *amount = amount.in_minor_units(exp).ok_or_else(|| {
            format!("`{field}` {amount} has more decimals than {currency} has ({exp})")
        })?;
        Ok(())
    }

    /// Problems no engine state is needed to see.
    fn check(&self, now: DateTime<Utc>) -> Result<(), String> {
        if self.id().trim().is_empty() {
            return Err("`id` must not be empty".to_owned());
        }
        if let Some(problem) = crate::spec::text::id_problem(self.id()) {
            return Err(problem);
        }
        if let Event::PartnerJoined { partner, .. } | Event::PartnerUpdated { partner, .. } = self
            && let Some(problem) = crate::spec::text::person_problem(
                "partner",
                partner.name.as_deref(),
                partner.email.as_deref(),
            )
        {
            return Err(problem);
        }
        if self.at() > now + MAX_FUTURE {
            return Err(format!(
                "`at` {} is more than 5 minutes in the future",
                self.at().to_rfc3339()
            ));
        }
        if self.at() < DateTime::UNIX_EPOCH {
            return Err(format!(
                "`at` {} is before 1970: a clock that is off, or a date made up",
                self.at().to_rfc3339()
            ));
        }
        let keys: Vec<(&str, &str)> = match self {
            Event::PartnerJoined { partner, .. } | Event::PartnerUpdated { partner, .. } => {
                vec![("partner.key", &partner.key)]
            }
            Event::PartnerActive { partner, .. } => vec![("partner.key", &partner.key)],
            Event::CustomerSignedUp {
                customer, partner, ..
            } => {
                vec![
                    ("customer.key", &customer.key),
                    ("partner.key", &partner.key),
                ]
            }
            Event::CustomerProductUpserted {
                customer,
                product,
                external_subscription_key,
                partner,
                ..
            } => {
                let mut k = vec![
                    ("customer.key", customer.key.as_str()),
                    ("product", product.as_str()),
                    (
                        "external_subscription_key",
                        external_subscription_key.as_str(),
                    ),
                ];
                if let Some(p) = partner {
                    k.push(("partner.key", &p.key));
                }
                k
            }
            Event::TransactionCreated { transaction, .. } => {
                if let Some(problem) = crate::spec::money::amount_problem(transaction.amount) {
                    return Err(format!("`transaction.amount`: {problem}"));
                }
                if transaction.amount.is_negative() {
                    return Err(format!(
                        "`transaction.amount` {} is negative: send money given back as a `transaction.refunded` event naming transaction `{}`",
                        transaction.amount, transaction.key
                    ));
                }
                let mut k = vec![
                    ("transaction.key", transaction.key.as_str()),
                    ("transaction.customer", transaction.customer.as_str()),
                ];
                if let Some(s) = &transaction.subscription_key {
                    k.push(("transaction.subscription_key", s));
                }
                k
            }
            Event::TransactionRefunded { refund, .. } => {
                if let Some(problem) = crate::spec::money::amount_problem(refund.amount) {
                    return Err(format!("`refund.amount`: {problem}"));
                }
                if !refund.amount.is_positive() {
                    return Err(format!(
                        "`refund.amount` must be more than 0, found {}",
                        refund.amount
                    ));
                }
                vec![
                    ("refund.key", refund.key.as_str()),
                    ("refund.transaction", refund.transaction.as_str()),
                ]
            }
        };
        for (field, value) in keys {
            if value.trim().is_empty() {
                return Err(format!("`{field}` must not be empty"));
            }
            if let Some(problem) = crate::spec::text::external_key_problem(field, value) {
                return Err(problem);
            }
            // Partner keys name partners in URLs and tokens (`partner:KEY`).
            if field == "partner.key"
                && let Some(problem) = crate::spec::check::key_problem(value)
            {
                return Err(format!("`{field}`: {problem}"));
            }
        }
        Ok(())
    }
}

/// An event of a batch that read and checked cleanly.
#[derive(Debug, Clone)]
pub struct Received {
    /// 1-based line in the request body where the event starts.
    pub line: usize,
    pub event: Event,
    /// The event as sent, kept with it.
    pub raw: String,
}

/// What happened to an event that was not simply accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EventNote {
    /// 1-based line where the event starts.
    pub line: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The answer to a batch of events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IngestReport {
    /// Events accepted: durable before this answer was sent.
    pub accepted: usize,
    /// Events whose id was seen before; they had no effect.
    pub duplicates: Vec<EventNote>,
    /// Events refused, each with its reason; they had no effect.
    pub rejected: Vec<EventNote>,
    /// What of the accepted events waits for something still to come.
    #[serde(default)]
    pub waiting: Waiting,
    /// Partners whose history was replayed because an event came late.
    #[serde(default)]
    pub replayed: usize,
}

/// Accepted events that wait for another event: they take effect when it
/// arrives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Waiting {
    /// Transactions with no partner yet: no referral signup at or before them.
    pub signup: usize,
    /// Transactions whose subscription key matched no product record.
    pub product: usize,
    /// Events of partners who have not joined.
    pub partner: usize,
    /// Refunds of transactions not recorded yet.
    pub transaction: usize,
}

impl Waiting {
    pub fn is_empty(self) -> bool {
        self == Waiting::default()
    }
}

impl IngestReport {
    pub fn merge(&mut self, other: IngestReport) {
        self.accepted += other.accepted;
        self.duplicates.extend(other.duplicates);
        self.rejected.extend(other.rejected);
        self.waiting.signup += other.waiting.signup;
        self.waiting.product += other.waiting.product;
        self.waiting.partner += other.waiting.partner;
        self.waiting.transaction += other.waiting.transaction;
        self.replayed += other.replayed;
    }
}

fn line_of(body: &str, offset: usize) -> usize {
    body.as_bytes()[..offset.min(body.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn parse_one(text: &str, line: usize, now: DateTime<Utc>) -> Result<Received, EventNote> {
    let id = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_owned))
        // An id too long or unfit to print is not echoed back.
        .filter(|id| crate::spec::text::id_problem(id).is_none());
    let reject = |reason: String| EventNote {
        line,
        id: id.clone(),
        reason: Some(reason),
    };
    let mut event: Event = serde_json::from_str(text).map_err(|e| reject(describe(&e)))?;
    event.truncate_to_stored_precision();
    event.check(now).map_err(reject)?;
    Ok(Received {
        line,
        event,
        raw: text.to_owned(),
    })
}

/// serde_json's message without its "at line 1 column 40" (the line is the
/// event's; the column means little to a sender).
fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// How a batch is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFormat {
    /// One JSON array of events.
    Array,
    /// One event per line.
    Ndjson,
    /// An array when the body starts with `[`, else NDJSON: for senders that
    /// do not say (a request without a JSON or NDJSON content type).
    Sniff,
}

impl BatchFormat {
    /// The format a request's `Content-Type` names.
    pub fn from_content_type(content_type: Option<&str>) -> BatchFormat {
        let essence = content_type
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase());
        match essence.as_deref() {
            Some("application/json") => BatchFormat::Array,
            Some("application/x-ndjson" | "application/ndjson" | "application/jsonl") => {
                BatchFormat::Ndjson
            }
            _ => BatchFormat::Sniff,
        }
    }
}

/// The most events one batch may hold: the answer lists every refused one,
/// so a body of millions of tiny bad lines would cost the engine gigabytes.
pub const MAX_BATCH: usize = 100_000;

const TOO_MANY: &str = "partnerops: too many events";

/// A JSON array of at most [`MAX_BATCH`] raw elements, read without holding
/// more: a body of millions of `0,` stops at the first element too many.
struct BoundedArray;

impl<'de> serde::de::DeserializeSeed<'de> for BoundedArray {
    type Value = Vec<&'de RawValue>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for BoundedArray {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of events")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            if items.len() == MAX_BATCH {
                return Err(serde::de::Error::custom(TOO_MANY));
            }
            items.push(item);
        }
        Ok(items)
    }
}

/// Reads a batch: a JSON array of events, or NDJSON (one event per line; blank
/// lines are skipped). Returns the good events and the refused ones, or why
/// the batch as a whole is refused (more than [`MAX_BATCH`] events).
pub fn parse_batch(
    body: &str,
    format: BatchFormat,
    now: DateTime<Utc>,
) -> Result<(Vec<Received>, Vec<EventNote>), String> {
    let too_many =
        |n: usize| format!("the batch holds {n} events; send at most {MAX_BATCH} in one request");
    let mut good = Vec::new();
    let mut bad = Vec::new();
    // Editors on Windows start a UTF-8 file with a byte order mark.
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    let array = match format {
        BatchFormat::Array => true,
        BatchFormat::Ndjson => false,
        BatchFormat::Sniff => body.trim_start().starts_with('['),
    };
    if array {
        let mut deserializer = serde_json::Deserializer::from_str(body);
        let items = serde::de::DeserializeSeed::deserialize(BoundedArray, &mut deserializer)
            .and_then(|items| deserializer.end().map(|()| items));
        match items {
            Err(e) if e.to_string().starts_with(TOO_MANY) => {
                return Err(format!(
                    "the batch holds more than {MAX_BATCH} events; send at most {MAX_BATCH} in one request"
                ));
            }
            Ok(items) => {
                // Elements come in order: count lines on from the previous
                // one, one pass over the body.
                let (mut line, mut counted) = (1, 0);
                for raw in items {
                    let offset = raw.get().as_ptr() as usize - body.as_ptr() as usize;
                    line += line_of(&body[counted..offset], offset - counted) - 1;
                    counted = offset;
                    match parse_one(raw.get(), line, now) {
                        Ok(r) => good.push(r),
                        Err(n) => bad.push(n),
                    }
                }
            }
            Err(e) => bad.push(EventNote {
                line: e.line(),
                id: None,
                reason: Some(format!(
                    "the body is not a JSON array of events: {}",
                    describe(&e)
                )),
            }),
        }
        return Ok((good, bad));
    }
    let events = body.lines().filter(|l| !l.trim().is_empty()).count();
    if events > MAX_BATCH {
        return Err(too_many(events));
    }
    for (i, text) in body.lines().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        match parse_one(text, i + 1, now) {
            Ok(r) => good.push(r),
            Err(n) => bad.push(n),
        }
    }
    Ok((good, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ndjson_and_arrays_with_lines() {
        let now = Utc::now();
        let ndjson = "{\"id\":\"a\",\"type\":\"partner.joined\",\"at\":\"2026-01-01T00:00:00Z\",\"partner\":{\"key\":\"p\"}}\n\n{\"id\":\"b\",\"type\":\"partner.jumped\",\"at\":\"2026-01-01T00:00:00Z\"}\nnot json\n";
        let (good, bad) = parse_batch(ndjson, BatchFormat::Sniff, now).unwrap();
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].line, 1);
        assert_eq!(bad.len(), 2);
        assert_eq!((bad[0].line, bad[0].id.as_deref()), (3, Some("b")));
        assert!(
            bad[0]
                .reason
                .as_deref()
                .unwrap()
                .contains("unknown variant `partner.jumped`")
        );
        assert_eq!(bad[1].line, 4);

        let array = "[\n  {\"id\":\"a\",\"type\":\"partner.active\",\"at\":\"2026-01-01T00:00:00Z\",\"partner\":{\"key\":\"p\"}},\n  {\"id\":\"c\",\"type\":\"partner.active\",\"at\":\"2026-01-01T00:00:00Z\",\"partner\":{\"key\":\"p\"},\"extra\":1}\n]";
        let (good, bad) = parse_batch(array, BatchFormat::Sniff, now).unwrap();
        assert_eq!((good.len(), good[0].line), (1, 2));
        assert_eq!(bad[0].line, 3);
        assert!(
            bad[0]
                .reason
                .as_deref()
                .unwrap()
                .contains("unknown field `extra`"),
            "{bad:?}"
        );
    }

    #[test]
    fn a_batch_of_more_than_the_limit_is_refused_whole() {
        let body = "x\n".repeat(MAX_BATCH + 1);
        let err = parse_batch(&body, BatchFormat::Ndjson, Utc::now()).unwrap_err();
        assert!(err.contains("send at most 100000"), "{err}");
        let body = "x\n".repeat(MAX_BATCH);
        let (_, bad) = parse_batch(&body, BatchFormat::Ndjson, Utc::now()).unwrap();
        assert_eq!(bad.len(), MAX_BATCH);
        // An array stops reading at the first element too many.
        let body = format!("[{}0]", "0,\n".repeat(MAX_BATCH));
        let err = parse_batch(&body, BatchFormat::Array, Utc::now()).unwrap_err();
        assert!(err.contains("more than 100000"), "{err}");
        let body = format!("[{}0]", "0,\n".repeat(MAX_BATCH - 1));
        let (_, bad) = parse_batch(&body, BatchFormat::Array, Utc::now()).unwrap();
        assert_eq!((bad.len(), bad[MAX_BATCH - 1].line), (MAX_BATCH, MAX_BATCH));
    }

    #[test]
    fn ndjson_said_so_is_never_read_as_an_array() {
        let now = Utc::now();
        let join = |id: &str| {
            format!(
                r#"{{"id":"{id}","type":"partner.joined","at":"2026-01-01T00:00:00Z","partner":{{"key":"{id}"}}}}"#
            )
        };
        let body = format!(
            "\u{feff}[2026-01-01 log noise]\n{}\n{}\n",
            join("a"),
            join("b")
        );
        let (good, bad) = parse_batch(&body, BatchFormat::Ndjson, now).unwrap();
        assert_eq!(good.len(), 2);
        assert_eq!((bad.len(), bad[0].line), (1, 1));
        let (good, _) =
            parse_batch(&format!("\u{feff}{}", join("c")), BatchFormat::Sniff, now).unwrap();
        assert_eq!(good.len(), 1, "a byte order mark is not part of the event");
        assert_eq!(
            BatchFormat::from_content_type(Some("application/x-ndjson; charset=utf-8")),
            BatchFormat::Ndjson
        );
        assert_eq!(
            BatchFormat::from_content_type(Some("Application/JSON")),
            BatchFormat::Array
        );
        assert_eq!(BatchFormat::from_content_type(None), BatchFormat::Sniff);
    }

    #[test]
    fn refuses_the_future_and_empty_keys_and_bad_money() {
        let now: DateTime<Utc> = "2026-06-01T12:00:00Z".parse().unwrap();
        let body = [
            r#"{"id":"f","type":"partner.active","at":"2026-06-01T12:06:00Z","partner":{"key":"p"}}"#,
            r#"{"id":"ok","type":"partner.active","at":"2026-06-01T12:04:00Z","partner":{"key":"p"}}"#,
            r#"{"id":"e","type":"partner.active","at":"2026-06-01T12:00:00Z","partner":{"key":" "}}"#,
            r#"{"id":"m","type":"transaction.created","at":"2026-06-01T12:00:00Z","transaction":{"key":"t","customer":"c","amount":"1.23456"}}"#,
            r#"{"id":"old","type":"partner.active","at":"-0001-12-31T23:59:59Z","partner":{"key":"p"}}"#,
            r#"{"id":"sp","type":"partner.joined","at":"2026-06-01T12:00:00Z","partner":{"key":"x y"}}"#,
        ]
        .join("\n");
        let (good, bad) = parse_batch(&body, BatchFormat::Ndjson, now).unwrap();
        assert_eq!(good.len(), 1);
        let reasons: Vec<&str> = bad.iter().map(|n| n.reason.as_deref().unwrap()).collect();
        assert!(reasons[0].contains("future"), "{reasons:?}");
        assert!(
            reasons[1].contains("`partner.key` must not be empty"),
            "{reasons:?}"
        );
        assert!(reasons[2].contains("more than 4 decimals"), "{reasons:?}");
        assert!(reasons[3].contains("before 1970"), "{reasons:?}");
        assert!(
            reasons[4].contains("`partner.key`: invalid key `x y`"),
            "{reasons:?}"
        );
    }
}
