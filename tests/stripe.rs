//! The Stripe source end to end: Stripe-shaped webhook deliveries, signed as
//! Stripe signs them, to a real server on loopback; and replays of Stripe's
//! event list from the CLI, on the embedded engine and over HTTP.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use partnerops::client::{Embedded, Reader, Writer};
use partnerops::engine::Engine;
use partnerops::engine::event::BatchFormat;
use partnerops::plan;
use partnerops::sources::stripe::fixtures::{self as f, Item, Line, Shape};
use partnerops::sources::stripe::signature;
use partnerops::spec::Money;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::TestServer;

const PROGRAM: &str = "saas";
const SECRET: &str = "whsec_8b1dYk0u3Q4u5cGm2f9NfTzL0pRk7wXa";

const CONFIG: &str = "\
program: { key: saas, name: SaaS, currency: USD, timezone: UTC }
products:
  - { key: inbox, name: Inbox, stripe: { prices: [price_inbox, inbox-monthly] } }
  - { key: live-chat, name: Live Chat, stripe: { prices: [price_chat] } }
commission_triggers:
  - key: inbox-20
    name: 20% of Inbox
    on: transaction_created
    commission: { percent: 20 }
    rules:
      - { product.key: { any_of: [inbox] } }
";

/// A time well before now (events ahead of the engine's clock are refused).
fn t0() -> i64 {
    (chrono::Utc::now() - chrono::Duration::days(60)).timestamp() / 86_400 * 86_400
}

async fn engine_with_program(dir: &std::path::Path) -> Engine {
    let engine = Engine::open(&dir.join("engine.db")).await.unwrap();
    configure(&engine, dir).await;
    engine
}

async fn configure(engine: &Engine, dir: &std::path::Path) {
    let config_dir = dir.join("config");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(config_dir.join("saas.yaml"), CONFIG).unwrap();
    let config = partnerops::config::load(&config_dir).unwrap();
    let client = Embedded::new(engine.clone());
    let live = client.snapshot(PROGRAM).await.unwrap();
    client
        .apply(
            PROGRAM,
            &plan::diff(&config, &live).changeset("stripe-test".into(), None, None),
        )
        .await
        .unwrap();
    let join = json!({"id": "join-alice", "type": "partner.joined",
        "at": chrono::DateTime::from_timestamp(t0() - 86_400, 0).unwrap().to_rfc3339(),
        "partner": {"key": "alice-agency"}});
    let report = engine
        .ingest(PROGRAM, &join.to_string(), BatchFormat::Ndjson)
        .await
        .unwrap();
    assert_eq!(report.accepted, 1, "{report:?}");
}

/// A server whose program takes Stripe deliveries signed with [`SECRET`].
struct Rig {
    server: TestServer,
    http: reqwest::Client,
}

impl Rig {
    async fn new() -> Rig {
        let server = TestServer::start().await;
        configure(&server.engine, server.db.parent().unwrap()).await;
        Embedded::new(server.engine.clone())
            .set_stripe_secret(PROGRAM, SECRET)
            .await
            .unwrap();
        Rig {
            server,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self) -> String {
        format!("{}/v1/programs/{PROGRAM}/sources/stripe", self.server.url)
    }

    /// Posts a body with a header as Stripe would.
    async fn post(&self, body: &str, header: Option<String>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(self.url())
            .header("content-type", "application/json; charset=utf-8")
            .header(
                "user-agent",
                "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            )
            .body(body.to_owned());
        if let Some(h) = header {
            request = request.header("Stripe-Signature", h);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let value: Value = response.json().await.unwrap();
        if !status.is_success() {
            assert_eq!(content_type.as_deref(), Some("application/problem+json"));
        }
        (status, value)
    }

    /// Delivers an event signed now; it must be answered 200.
    async fn deliver(&self, event: &Value) -> Value {
        let body = serde_json::to_string_pretty(event).unwrap();
        let header = signature::sign(SECRET, chrono::Utc::now().timestamp(), body.as_bytes());
        let (status, answer) = self.post(&body, Some(header)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }

    async fn stats(&self) -> (u64, u64, Money) {
        let p = self
            .server
            .engine
            .partner(PROGRAM, "alice-agency")
            .await
            .unwrap();
        let s = p.partner.stats;
        (s.signups, s.customers, s.revenue)
    }

    async fn commissions(&self) -> Vec<(String, Money)> {
        self.server
            .engine
            .commissions(PROGRAM, None)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.transaction, c.amount))
            .collect()
    }

    async fn products(&self, customer: &str) -> Vec<(String, String, String)> {
        self.server
            .engine
            .customer(PROGRAM, customer)
            .await
            .unwrap()
            .products
            .into_iter()
            .map(|p| {
                (
                    p.external_subscription_key,
                    p.product,
                    p.status.as_str().to_owned(),
                )
            })
            .collect()
    }
}

fn results(answer: &Value) -> Vec<(String, String)> {
    answer["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn signup_event(id: &str, t: i64, customer: &str) -> Value {
    f::event(
        id,
        "customer.created",
        t,
        Shape::Basil,
        f::customer(customer, t, Some("alice-agency")),
    )
}

fn checkout_event(id: &str, t: i64, customer: &str) -> Value {
    let session = f::checkout_session(
        &format!("cs_test_{id}"),
        t,
        Some(customer),
        Some("alice-agency"),
        None,
        Some("sub_1"),
    );
    f::event(
        id,
        "checkout.session.completed",
        t + 40,
        Shape::Basil,
        session,
    )
}

const INBOX: Item = Item {
    id: "si_inbox",
    price: "price_1PgafmB7WZ01zgkW6dKueIc5",
    lookup_key: Some("inbox-monthly"),
    unit_amount: 4900,
};

fn subscription_event(id: &str, kind: &str, t: i64, status: &str) -> Value {
    f::event(
        id,
        kind,
        t,
        Shape::Basil,
        f::subscription("sub_1", "cus_1", status, t, &[INBOX]),
    )
}

fn invoice_event(id: &str, invoice: &str, t: i64, shape: Shape, reason: &str) -> Value {
    let lines = [Line {
        id: "il_1",
        amount: 4900,
        subscription_item: Some("si_inbox"),
        price: INBOX.price,
        discount: 0,
    }];
    let object = f::invoice(
        invoice,
        "cus_1",
        "usd",
        reason,
        t,
        Some("sub_1"),
        Some(("ch_1", "pi_1")),
        shape,
        &lines,
    );
    f::event(id, "invoice.paid", t + 1, shape, object)
}

fn refund_event(id: &str, t: i64, refunded: i64) -> Value {
    let charge = f::charge(
        "ch_1",
        "pi_1",
        "cus_1",
        4900,
        refunded,
        "usd",
        t,
        Some("in_1"),
        Shape::Acacia,
    );
    f::event(id, "charge.refunded", t, Shape::Acacia, charge)
}

#[tokio::test]
async fn a_referral_its_subscription_and_invoices_pay_the_partner() {
    let rig = Rig::new().await;
    let t = t0();
    let answer = rig.deliver(&signup_event("evt_c1", t, "cus_1")).await;
    assert_eq!(answer["status"], "processed");
    assert_eq!(
        results(&answer),
        [("stripe:cus_1:signed_up".to_owned(), "accepted".to_owned())]
    );
    // Checkout says the same referral again: the engine takes it once.
    let answer = rig.deliver(&checkout_event("evt_cs1", t, "cus_1")).await;
    assert_eq!(answer["status"], "processed");
    assert_eq!(
        results(&answer),
        [("stripe:cus_1:signed_up".to_owned(), "duplicate".to_owned())]
    );
    let answer = rig
        .deliver(&subscription_event(
            "evt_s1",
            "customer.subscription.created",
            t + 60,
            "trialing",
        ))
        .await;
    assert_eq!(
        results(&answer),
        [("stripe:evt_s1:si_inbox".to_owned(), "accepted".to_owned())]
    );
    assert_eq!(
        rig.products("cus_1").await,
        [("si_inbox".into(), "inbox".into(), "trial".into())]
    );
    rig.deliver(&subscription_event(
        "evt_s2",
        "customer.subscription.updated",
        t + 120,
        "active",
    ))
    .await;
    assert_eq!(
        rig.products("cus_1").await,
        [("si_inbox".into(), "inbox".into(), "active".into())]
    );
    let answer = rig
        .deliver(&invoice_event(
            "evt_i1",
            "in_1",
            t + 180,
            Shape::Basil,
            "subscription_create",
        ))
        .await;
    assert_eq!(
        results(&answer),
        [("stripe:in_1:il_1".to_owned(), "accepted".to_owned())]
    );
    rig.deliver(&invoice_event(
        "evt_i2",
        "in_2",
        t + 86_400 * 30,
        Shape::Acacia,
        "subscription_cycle",
    ))
    .await;
    assert_eq!(rig.stats().await, (1, 1, Money::from_cents(9800)));
    assert_eq!(
        rig.commissions().await,
        [
            ("in_1:il_1".to_owned(), Money::from_cents(980)),
            ("in_2:il_1".to_owned(), Money::from_cents(980))
        ]
    );
    let explained = rig
        .server
        .engine
        .explain_transaction(PROGRAM, "in_2:il_1")
        .await
        .unwrap();
    let text = serde_json::to_string(&explained).unwrap();
    assert!(text.contains("recurring"), "{text}");
    // Deleted: the product churns.
    rig.deliver(&subscription_event(
        "evt_s3",
        "customer.subscription.deleted",
        t + 86_400 * 40,
        "canceled",
    ))
    .await;
    assert_eq!(
        rig.products("cus_1").await,
        [("si_inbox".into(), "inbox".into(), "churned".into())]
    );
}

#[tokio::test]
async fn a_stripe_event_delivered_again_changes_nothing() {
    let rig = Rig::new().await;
    let t = t0();
    rig.deliver(&signup_event("evt_c1", t, "cus_1")).await;
    let invoice = invoice_event(
        "evt_i1",
        "in_1",
        t + 60,
        Shape::Acacia,
        "subscription_create",
    );
    let first = rig.deliver(&invoice).await;
    assert_eq!(first["status"], "processed");
    let before = (rig.stats().await, rig.commissions().await);
    for _ in 0..2 {
        let again = rig.deliver(&invoice).await;
        assert_eq!(again["status"], "duplicate");
        assert_eq!(
            results(&again),
            [("stripe:in_1:il_1".to_owned(), "duplicate".to_owned())]
        );
    }
    assert_eq!((rig.stats().await, rig.commissions().await), before);
    assert_eq!(before.0, (1, 1, Money::from_cents(4900)));

    // Delivered twice at once: taken once.
    let customer = signup_event("evt_c2", t, "cus_2");
    let (a, b) = tokio::join!(rig.deliver(&customer), rig.deliver(&customer));
    let mut statuses = [a["status"].clone(), b["status"].clone()];
    statuses.sort_by_key(ToString::to_string);
    assert_eq!(statuses, [json!("duplicate"), json!("processed")]);
    assert_eq!(rig.stats().await.0, 2);
}

#[tokio::test]
async fn a_bad_or_missing_signature_is_400_and_records_nothing() {
    let rig = Rig::new().await;
    let event = signup_event("evt_c1", t0(), "cus_1");
    let body = serde_json::to_string(&event).unwrap();
    let now = chrono::Utc::now().timestamp();
    let good = signature::sign(SECRET, now, body.as_bytes());
    let tampered = body.replace("cus_1", "cus_6");
    let cases = [
        (tampered.clone(), Some(good.clone()), "no v1 signature"),
        (
            body.clone(),
            Some(signature::sign(
                "whsec_someoneelse123",
                now,
                body.as_bytes(),
            )),
            "no v1 signature",
        ),
        (body.clone(), None, "header is missing"),
        (
            body.clone(),
            Some("t=1,v0=abc".to_owned()),
            "no `t=` timestamp and `v1=`",
        ),
        (
            body.clone(),
            Some(signature::sign(SECRET, now - 301, body.as_bytes())),
            "more than the 300 s allowed",
        ),
    ];
    for (body, header, says) in cases {
        let (status, problem) = rig.post(&body, header).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{problem}"
        );
    }
    assert_eq!(rig.stats().await.0, 0);
    // Nothing was recorded: the genuine delivery is the first.
    let answer = rig.deliver(&event).await;
    assert_eq!(answer["status"], "processed");
    assert_eq!(rig.stats().await.0, 1);
    // A program without a secret takes nothing, and says why.
    let other = format!("{}/v1/programs/other/sources/stripe", rig.server.url);
    let response = rig
        .http
        .post(other)
        .header("Stripe-Signature", good)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let problem: Value = response.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("no Stripe signing secret"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_stale_timestamp_is_refused_even_when_signed() {
    let rig = Rig::new().await;
    let event = signup_event("evt_c1", t0(), "cus_1");
    let body = serde_json::to_string(&event).unwrap();
    let header = signature::sign(
        SECRET,
        chrono::Utc::now().timestamp() - 3600,
        body.as_bytes(),
    );
    let (status, problem) = rig.post(&body, Some(header)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        problem["detail"].as_str().unwrap().contains("s old"),
        "{problem}"
    );
    assert_eq!(rig.stats().await.0, 0);
}

#[tokio::test]
async fn an_unknown_type_is_answered_and_ignored() {
    let rig = Rig::new().await;
    let event = f::event(
        "evt_pi",
        "payment_intent.created",
        t0(),
        Shape::Basil,
        json!({"id": "pi_1", "object": "payment_intent", "amount": 4900, "currency": "usd"}),
    );
    for _ in 0..2 {
        let answer = rig.deliver(&event).await;
        assert_eq!(answer["status"], "ignored");
        assert!(
            answer["notes"][0]
                .as_str()
                .unwrap()
                .contains("does not use `payment_intent.created`")
        );
    }
    // A used type that is not a Stripe object of that type: 400, nothing taken.
    let broken = f::event(
        "evt_x",
        "invoice.paid",
        t0(),
        Shape::Basil,
        json!({"id": "in_9"}),
    );
    let body = broken.to_string();
    let header = signature::sign(SECRET, chrono::Utc::now().timestamp(), body.as_bytes());
    let (status, problem) = rig.post(&body, Some(header)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        problem["detail"].as_str().unwrap().contains("data.object"),
        "{problem}"
    );
}

#[tokio::test]
async fn another_currency_is_ignored_with_its_reason() {
    let rig = Rig::new().await;
    let lines = [Line {
        id: "il_1",
        amount: 4900,
        subscription_item: None,
        price: "price_x",
        discount: 0,
    }];
    let invoice = f::invoice(
        "in_eur",
        "cus_1",
        "eur",
        "manual",
        t0(),
        None,
        None,
        Shape::Basil,
        &lines,
    );
    let answer = rig
        .deliver(&f::event(
            "evt_eur",
            "invoice.paid",
            t0(),
            Shape::Basil,
            invoice,
        ))
        .await;
    assert_eq!(answer["status"], "ignored");
    assert!(
        answer["notes"][0]
            .as_str()
            .unwrap()
            .contains("in EUR, the program's currency is USD"),
        "{answer}"
    );
    assert_eq!(rig.stats().await.2, Money::from_cents(0));
}

#[tokio::test]
async fn an_invoice_before_its_subscription_is_taken_and_the_product_recorded() {
    let rig = Rig::new().await;
    let t = t0();
    rig.deliver(&signup_event("evt_c1", t, "cus_1")).await;
    let answer = rig
        .deliver(&invoice_event(
            "evt_i1",
            "in_1",
            t + 180,
            Shape::Basil,
            "subscription_create",
        ))
        .await;
    assert_eq!(
        results(&answer),
        [("stripe:in_1:il_1".to_owned(), "accepted".to_owned())]
    );
    let answer = rig
        .deliver(&subscription_event(
            "evt_s1",
            "customer.subscription.created",
            t + 60,
            "active",
        ))
        .await;
    assert_eq!(
        results(&answer),
        [("stripe:evt_s1:si_inbox".to_owned(), "accepted".to_owned())]
    );
    // What holds whatever the order: the sale counts, the product is held.
    assert_eq!(rig.stats().await, (1, 1, Money::from_cents(4900)));
    assert_eq!(
        rig.products("cus_1").await,
        [("si_inbox".into(), "inbox".into(), "active".into())]
    );
}

#[tokio::test]
async fn an_invoice_before_its_subscription_still_pays_the_product_commission() {
    let rig = Rig::new().await;
    let t = t0();
    rig.deliver(&signup_event("evt_c1", t, "cus_1")).await;
    rig.deliver(&invoice_event(
        "evt_i1",
        "in_1",
        t + 180,
        Shape::Basil,
        "subscription_create",
    ))
    .await;
    rig.deliver(&subscription_event(
        "evt_s1",
        "customer.subscription.created",
        t + 60,
        "active",
    ))
    .await;
    assert_eq!(
        rig.commissions().await,
        [("in_1:il_1".to_owned(), Money::from_cents(980))]
    );
}

/// Net commission per transaction.
async fn net(rig: &Rig) -> Vec<(String, Money)> {
    let mut sums: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for (tx, amount) in rig.commissions().await {
        *sums.entry(tx).or_default() += amount.minor();
    }
    sums.into_iter()
        .map(|(k, v)| (k, Money::from_cents(v)))
        .collect()
}

#[tokio::test]
async fn a_partial_then_a_full_refund() {
    let rig = Rig::new().await;
    let t = t0();
    rig.deliver(&signup_event("evt_c1", t, "cus_1")).await;
    rig.deliver(&subscription_event(
        "evt_s1",
        "customer.subscription.created",
        t + 60,
        "active",
    ))
    .await;
    rig.deliver(&invoice_event(
        "evt_i1",
        "in_1",
        t + 180,
        Shape::Acacia,
        "subscription_create",
    ))
    .await;
    let answer = rig.deliver(&refund_event("evt_r1", t + 86_400, 1900)).await;
    assert_eq!(
        results(&answer),
        [("stripe:ch_1:1900:il_1".to_owned(), "accepted".to_owned())]
    );
    assert_eq!(rig.stats().await.2, Money::from_cents(3000));
    // 20% of 49.00 is 9.80; after 19.00 of 49.00 back, 9.80 × 30/49 = 6.00.
    assert_eq!(
        net(&rig).await,
        [("in_1:il_1".to_owned(), Money::from_cents(600))]
    );
    let answer = rig
        .deliver(&refund_event("evt_r2", t + 86_400 * 2, 4900))
        .await;
    assert_eq!(
        results(&answer),
        [("stripe:ch_1:4900:il_1".to_owned(), "accepted".to_owned())]
    );
    assert_eq!(rig.stats().await.2, Money::from_cents(0));
    assert_eq!(
        net(&rig).await,
        [("in_1:il_1".to_owned(), Money::from_cents(0))]
    );
    // The partial one again, late: nothing more.
    let answer = rig.deliver(&refund_event("evt_r1", t + 86_400, 1900)).await;
    assert_eq!(answer["status"], "duplicate");
    assert_eq!(rig.stats().await.2, Money::from_cents(0));
}

#[tokio::test]
async fn a_refund_before_its_invoice_is_held_until_the_invoice_comes() {
    let rig = Rig::new().await;
    let t = t0();
    rig.deliver(&signup_event("evt_c1", t, "cus_1")).await;
    let answer = rig.deliver(&refund_event("evt_r1", t + 86_400, 4900)).await;
    assert_eq!(answer["status"], "ignored");
    assert!(
        answer["notes"][0]
            .as_str()
            .unwrap()
            .contains("its invoice has not arrived"),
        "{answer}"
    );
    let answer = rig
        .deliver(&invoice_event(
            "evt_i1",
            "in_1",
            t + 180,
            Shape::Acacia,
            "subscription_create",
        ))
        .await;
    // The invoice brings its transaction and the refund that waited for it.
    let ids: Vec<String> = results(&answer).into_iter().map(|r| r.0).collect();
    assert_eq!(ids, ["stripe:in_1:il_1", "stripe:ch_1:4900:il_1"]);
}

#[tokio::test]
async fn a_refund_before_its_invoice_nets_the_sale_out() {
    let rig = Rig::new().await;
    let t = t0();
    rig.deliver(&signup_event("evt_c1", t, "cus_1")).await;
    rig.deliver(&refund_event("evt_r1", t + 86_400, 4900)).await;
    let answer = rig
        .deliver(&invoice_event(
            "evt_i1",
            "in_1",
            t + 180,
            Shape::Acacia,
            "subscription_create",
        ))
        .await;
    assert!(
        results(&answer).iter().all(|r| r.1 == "accepted"),
        "{answer}"
    );
    assert_eq!(rig.stats().await.2, Money::from_cents(0));
}

#[tokio::test]
async fn many_deliveries_at_once_are_each_answered() {
    let rig = Rig::new().await;
    let t = t0();
    let events: Vec<Value> = (0..200)
        .map(|i| signup_event(&format!("evt_c{i}"), t + i, &format!("cus_{i}")))
        .collect();
    let answers = futures_join(&rig, &events).await;
    assert!(answers.iter().all(|a| a["status"] == "processed"));
    for (a, e) in answers.iter().zip(&events) {
        assert_eq!(a["id"], e["id"]);
    }
    assert_eq!(rig.stats().await.0, 200);
}

async fn futures_join(rig: &Rig, events: &[Value]) -> Vec<Value> {
    let mut set = tokio::task::JoinSet::new();
    for (i, event) in events.iter().enumerate() {
        let body = event.to_string();
        let url = rig.url();
        let http = rig.http.clone();
        set.spawn(async move {
            let header = signature::sign(SECRET, chrono::Utc::now().timestamp(), body.as_bytes());
            let response = http
                .post(url)
                .header("Stripe-Signature", header)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            (i, response.json::<Value>().await.unwrap())
        });
    }
    let mut answers = vec![Value::Null; events.len()];
    while let Some(done) = set.join_next().await {
        let (i, answer) = done.unwrap();
        answers[i] = answer;
    }
    answers
}

// ---------------------------------------------------------------------------
// The CLI: set-secret from stdin, import of Stripe's event list.

fn partnerops(
    dir: &std::path::Path,
    engine: &Target,
    args: &[&str],
    stdin: &str,
) -> std::process::Output {
    let mut cmd = Command::cargo_bin("partnerops").unwrap();
    cmd.current_dir(dir)
        .env_remove("PARTNEROPS_ENGINE")
        .env_remove("PARTNEROPS_TOKEN")
        .env_remove("PARTNEROPS_DB")
        .env_remove("PARTNEROPS_PROGRAM")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match engine {
        Target::Embedded(db) => {
            cmd.arg("--db").arg(db);
        }
        Target::Http { url, token } => {
            cmd.args(["--engine", url]).env("PARTNEROPS_TOKEN", token);
        }
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

enum Target {
    Embedded(std::path::PathBuf),
    Http { url: String, token: String },
}

/// What `stripe events list` prints: newest first.
fn event_list(t: i64) -> String {
    let mut data = vec![
        signup_event("evt_c1", t, "cus_1"),
        subscription_event("evt_s1", "customer.subscription.created", t + 60, "active"),
        invoice_event(
            "evt_i1",
            "in_1",
            t + 180,
            Shape::Acacia,
            "subscription_create",
        ),
        f::event(
            "evt_pi",
            "payment_intent.succeeded",
            t + 181,
            Shape::Acacia,
            json!({"id": "pi_1", "object": "payment_intent"}),
        ),
        invoice_event(
            "evt_i2",
            "in_2",
            t + 86_400 * 30,
            Shape::Acacia,
            "subscription_cycle",
        ),
    ];
    data.reverse();
    serde_json::to_string_pretty(&json!({
        "object": "list",
        "data": data,
        "has_more": false,
        "url": "/v1/events",
    }))
    .unwrap()
}

async fn cli_session(target: Target, engine: &Engine, dir: &std::path::Path) {
    let t = t0();
    // The secret comes from stdin and is never printed.
    let out = partnerops(
        dir,
        &target,
        &["sources", "stripe", "set-secret"],
        &format!("{SECRET}\n"),
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stdout.contains(SECRET) && !stderr.contains(SECRET),
        "{stdout}{stderr}"
    );
    assert!(
        stderr.contains("signing secret of program saas is set"),
        "{stderr}"
    );
    assert_eq!(
        engine
            .stripe_store()
            .stripe_secret(PROGRAM)
            .await
            .unwrap()
            .as_deref(),
        Some(SECRET)
    );
    let out = partnerops(
        dir,
        &target,
        &["sources", "stripe", "set-secret"],
        "not-a-secret\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("starts with `whsec_`"));

    std::fs::write(dir.join("events.json"), event_list(t)).unwrap();
    let out = partnerops(
        dir,
        &target,
        &["sources", "stripe", "import", "events.json"],
        "",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("5 Stripe events to program saas: 4 processed, 0 duplicates, 1 ignored, 0 unreadable; partnerops events: 4 accepted, 0 duplicates, 0 rejected."),
        "{stderr}"
    );
    let p = engine
        .partner(PROGRAM, "alice-agency")
        .await
        .unwrap()
        .partner
        .stats;
    assert_eq!(
        (p.signups, p.customers, p.revenue),
        (1, 1, Money::from_cents(9800))
    );
    // Oldest first: the subscription was there for the first invoice.
    assert_eq!(engine.commissions(PROGRAM, None).await.unwrap().len(), 2);
    // Again: nothing new.
    let out = partnerops(
        dir,
        &target,
        &[
            "sources",
            "stripe",
            "import",
            "events.json",
            "--format",
            "json",
        ],
        "",
    );
    assert!(out.status.success());
    let outcomes: Value = serde_json::from_slice(&out.stdout).unwrap();
    let statuses: Vec<&str> = outcomes
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "duplicate",
            "duplicate",
            "duplicate",
            "ignored",
            "duplicate"
        ]
    );
    // NDJSON with a line that is not an event: reported by line, the rest taken.
    let ndjson = format!("{}\nnot json\n", signup_event("evt_c9", t, "cus_9"));
    std::fs::write(dir.join("more.ndjson"), ndjson).unwrap();
    let out = partnerops(
        dir,
        &target,
        &["sources", "stripe", "import", "more.ndjson"],
        "",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("line 2: unreadable: not a Stripe event"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 processed, 0 duplicates, 0 ignored, 1 unreadable"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_cli_sets_the_secret_and_imports_the_event_list_on_the_embedded_engine() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_program(dir.path()).await;
    let db = dir.path().join("engine.db");
    cli_session(Target::Embedded(db), &engine, dir.path()).await;
}

// The CLI runs as a child process this test waits for: the server needs
// threads of its own meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_sets_the_secret_and_imports_the_event_list_over_http() {
    let server = TestServer::start().await;
    configure(&server.engine, server.db.parent().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let target = Target::Http {
        url: server.url.clone(),
        token: server.admin.clone(),
    };
    cli_session(target, &server.engine, dir.path()).await;
    // Setting the secret needs an admin token; importing, events:write.
    let token = server.token(&["events:write"]).await;
    let target = Target::Http {
        url: server.url.clone(),
        token,
    };
    let out = partnerops(
        dir.path(),
        &target,
        &["sources", "stripe", "set-secret"],
        &format!("{SECRET}\n"),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("lacks the `admin` scope"));
}

#[tokio::test]
async fn a_webhook_delivery_and_an_import_of_the_same_event_count_once() {
    let rig = Rig::new().await;
    let event = signup_event("evt_c1", t0(), "cus_1");
    rig.deliver(&event).await;
    let outcomes = Embedded::new(rig.server.engine.clone())
        .import_stripe_events(PROGRAM, &[&event.to_string()])
        .await
        .unwrap();
    assert_eq!(
        outcomes[0].status,
        partnerops::sources::stripe::Status::Duplicate
    );
    assert_eq!(rig.stats().await.0, 1);
}

#[test]
fn stripe_prices_are_planned_applied_and_exported() {
    let session = support::cli::Session::embedded();
    let dir = session.path("config");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("saas.yaml"), CONFIG).unwrap();
    let out = session.run(&["apply", dir.to_str().unwrap(), "--yes"]);
    assert!(out.status.success(), "{}", support::cli::stderr(&out));
    std::fs::write(
        dir.join("saas.yaml"),
        CONFIG.replace("[price_chat]", "[price_chat, chat-yearly]"),
    )
    .unwrap();
    let out = session.run(&["plan", dir.to_str().unwrap(), "--format", "json"]);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 1, "delete": 0})
    );
    assert_eq!(plan["changes"][0]["key"], "live-chat");
    assert_eq!(
        plan["changes"][0]["after"]["stripe"],
        json!({"prices": ["price_chat", "chat-yearly"]})
    );
    let out = session.run(&["plan", dir.to_str().unwrap()]);
    let text = support::cli::stdout(&out);
    assert!(text.contains("+   - chat-yearly"), "{text}");
    let out = session.run(&["apply", dir.to_str().unwrap(), "--yes"]);
    assert!(out.status.success());
    // Export writes them back, and plans to nothing.
    let exported = session.path("exported");
    let out = session.run(&["export", "--out", exported.to_str().unwrap()]);
    assert!(out.status.success(), "{}", support::cli::stderr(&out));
    let products = std::fs::read_to_string(exported.join("products.yaml")).unwrap();
    assert!(products.contains("chat-yearly"), "{products}");
    let out = session.run(&["plan", exported.to_str().unwrap(), "--exit-code"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::cli::stdout(&out));
}

#[tokio::test]
async fn the_engine_refuses_a_price_on_two_products() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_program(dir.path()).await;
    let mut config = partnerops::config::load(&dir.path().join("config")).unwrap();
    config.products[1]
        .stripe
        .as_mut()
        .unwrap()
        .prices
        .push("price_inbox".into());
    let client = Embedded::new(engine.clone());
    let live = client.snapshot(PROGRAM).await.unwrap();
    let err = client
        .apply(
            PROGRAM,
            &plan::diff(&config, &live).changeset("t".into(), None, None),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Stripe price `price_inbox` is already listed on product `inbox`"),
        "{err}"
    );
}
