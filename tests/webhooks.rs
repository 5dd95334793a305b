//! Webhooks out, end to end on the real engine: the outbox is written with
//! the changes that cause its messages, the dispatcher sends them in order
//! per endpoint with retries (an hour of receiver downtime runs on a manual
//! clock), a misbehaving receiver holds up no other endpoint, two
//! dispatchers on one database send each message once, and the CLI and HTTP
//! routes list, redeliver and rotate.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use partnerops::client::{Embedded, Reader, Writer};
use partnerops::engine::Engine;
use partnerops::engine::event::BatchFormat;
use partnerops::engine::outbox::dispatch::{
    Clock, DispatchOptions, Dispatcher, ManualClock, SystemClock,
};
use partnerops::engine::outbox::signature;
use partnerops::store::Store;
use partnerops::store::outbox::{DeliveryQuery, DeliveryStatus, OutboxMessage, OutboxStore};
use support::cli::{Session, code, stderr, stdout};
use support::hooks::{PER_PARTNER, config_yaml, partner_events};
use support::receiver::{Mode, Receiver};
use support::server::TestServer;

async fn apply(engine: &Engine, dir: &std::path::Path, yaml: &str) {
    let cfg = dir.join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("program.yaml"), yaml).unwrap();
    let config = partnerops::config::load(&cfg).unwrap();
    let embedded = Embedded::new(engine.clone());
    let plan = partnerops::plan::diff(&config, &embedded.snapshot("acme").await.unwrap());
    embedded
        .apply("acme", &plan.changeset("test".into(), None, None))
        .await
        .unwrap();
}

async fn send(engine: &Engine, body: &str) {
    let report = engine
        .ingest("acme", body, BatchFormat::Ndjson)
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

async fn all(engine: &Engine, endpoint: &str) -> Vec<partnerops::store::outbox::Delivery> {
    let mut list = engine
        .deliveries(
            "acme",
            &DeliveryQuery {
                endpoint: Some(endpoint.to_owned()),
                limit: 100_000,
                with_body: true,
                ..DeliveryQuery::default()
            },
        )
        .await
        .unwrap();
    list.reverse();
    list
}

fn dispatcher(engine: &Engine, clock: Arc<dyn Clock>) -> Dispatcher {
    Dispatcher::with_clock(
        engine.clone(),
        DispatchOptions {
            allow_private: true,
            ..DispatchOptions::default()
        },
        clock,
    )
    .unwrap()
}

#[tokio::test]
async fn messages_are_what_changed_signed_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("e.db")).await.unwrap();
    let receiver = Receiver::start(Mode::Up).await;
    apply(&engine, dir.path(), &config_yaml(&[&receiver.url])).await;
    let start: chrono::DateTime<Utc> = "2026-03-01T10:00:00Z".parse().unwrap();
    send(&engine, &partner_events("ann", start)).await;

    let queued = all(&engine, "hook-0").await;
    let types: Vec<&str> = queued.iter().map(|d| d.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "partner.joined",
            "partner.tag_added",
            "commission.created",
            "partner.tag_added",
            "partner.tag_removed",
            "automation.fired"
        ]
    );
    let fired = queued[5].body.as_ref().unwrap();
    assert_eq!(fired["data"]["automation"]["key"], "gold");
    assert_eq!(fired["data"]["partner"]["email"], "ann@example.com");
    assert_eq!(fired["data"]["event_id"], "ann-t");
    let commission = &queued[2].body.as_ref().unwrap()["data"]["commission"];
    assert_eq!(commission["amount"], "30.00");
    assert_eq!(commission["currency"], "USD");
    assert_eq!(
        queued[0].body.as_ref().unwrap()["timestamp"],
        "2026-03-01T10:00:00Z"
    );

    // Without --allow-private-webhooks a loopback receiver is refused.
    let strict = Dispatcher::new(engine.clone(), DispatchOptions::default()).unwrap();
    let report = strict.pass().await.unwrap();
    assert_eq!((report.delivered, report.retrying), (0, 1));
    assert!(receiver.requests().is_empty());
    let head = &all(&engine, "hook-0").await[0];
    assert!(
        head.last_error
            .as_deref()
            .unwrap()
            .contains("loopback or private"),
        "{head:?}"
    );

    // Allowed, and due (the clock past the 5 s retry): all in order.
    let later = Arc::new(ManualClock::new(Utc::now() + chrono::Duration::minutes(1)));
    let report = dispatcher(&engine, later).pass().await.unwrap();
    assert_eq!(report.delivered, 6);
    let got = receiver.delivered();
    let ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    let expected: Vec<&str> = queued.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, expected);
    let secret = engine
        .webhook_secret("acme", "hook-0")
        .await
        .unwrap()
        .secret;
    for r in &got {
        let ts: i64 = r.timestamp.parse().unwrap();
        assert_eq!(
            r.signature,
            signature::sign(&secret, &r.id, ts, &r.body).unwrap()
        );
        assert_eq!(r.path, "/hook");
    }
    assert!(
        all(&engine, "hook-0")
            .await
            .iter()
            .all(|d| d.status == DeliveryStatus::Delivered)
    );

    // Redelivery: the same id and body again.
    let again = engine.redeliver("acme", &got[3].id).await.unwrap();
    assert_eq!(again.status, DeliveryStatus::Pending);
    dispatcher(&engine, Arc::new(SystemClock))
        .pass()
        .await
        .unwrap();
    let now = receiver.delivered();
    assert_eq!(now.len(), 7);
    assert_eq!(
        (now[6].id.as_str(), now[6].body.as_str()),
        (got[3].id.as_str(), got[3].body.as_str())
    );
}

#[tokio::test]
async fn a_receiver_down_for_an_hour_gets_every_message_in_order_once_up() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("e.db")).await.unwrap();
    let receiver = Receiver::start(Mode::Status(503)).await;
    apply(&engine, dir.path(), &config_yaml(&[&receiver.url])).await;
    let clock = Arc::new(ManualClock::new(Utc::now() + chrono::Duration::seconds(1)));
    let dispatch = dispatcher(&engine, clock.clone());
    let start: chrono::DateTime<Utc> = "2026-03-01T10:00:00Z".parse().unwrap();

    // An hour down, a minute at a time; a partner's events every 10 minutes.
    for minute in 0..60 {
        if minute % 10 == 0 {
            let p = format!("p{minute:02}");
            send(
                &engine,
                &partner_events(&p, start + chrono::Duration::minutes(minute)),
            )
            .await;
        }
        dispatch.pass().await.unwrap();
        clock.advance(chrono::Duration::minutes(1));
    }
    let queued = all(&engine, "hook-0").await;
    assert_eq!(queued.len(), 6 * (PER_PARTNER + 1));
    let tried = receiver.requests();
    // While down only the first message was tried: 0 s, ~5 s, ~5 min, ~30 min.
    assert!((3..=4).contains(&tried.len()), "{} attempts", tried.len());
    assert!(tried.iter().all(|r| r.id == queued[0].id));

    receiver.set(Mode::Up);
    let mut waited = 0;
    while receiver.delivered().len() < queued.len() {
        clock.advance(chrono::Duration::minutes(1));
        dispatch.pass().await.unwrap();
        waited += 1;
        assert!(waited < 6 * 60, "not all delivered after 6 more hours");
    }
    // The next retry after an hour's outage is the 2 h one.
    assert!(waited > 60, "delivered {waited} min after coming up");
    let got: Vec<String> = receiver.delivered().into_iter().map(|r| r.id).collect();
    let expected: Vec<String> = queued.iter().map(|d| d.id.clone()).collect();
    assert_eq!(got, expected, "every message, in order, once");
    let after = all(&engine, "hook-0").await;
    assert!(after.iter().all(|d| d.status == DeliveryStatus::Delivered));
    assert_eq!(after[0].attempts, 5);
}

#[tokio::test]
async fn a_message_fails_for_good_after_eight_attempts_and_the_queue_moves_on() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("e.db")).await.unwrap();
    let receiver = Receiver::start(Mode::Status(500)).await;
    apply(&engine, dir.path(), &config_yaml(&[&receiver.url])).await;
    let clock = Arc::new(ManualClock::new(Utc::now() + chrono::Duration::seconds(1)));
    let dispatch = dispatcher(&engine, clock.clone());
    send(
        &engine,
        &partner_events("ann", "2026-03-01T10:00:00Z".parse().unwrap()),
    )
    .await;
    // Every wait of the schedule is at most 12 h with jitter: 8 attempts
    // fit in 8 steps of 12 h.
    for _ in 0..8 {
        dispatch.pass().await.unwrap();
        clock.advance(chrono::Duration::hours(12));
    }
    let list = all(&engine, "hook-0").await;
    assert_eq!(list[0].status, DeliveryStatus::Failed);
    assert_eq!(list[0].attempts, 8);
    assert_eq!(list[0].last_status, Some(500));
    // The next message is being tried now.
    assert_eq!(list[1].status, DeliveryStatus::Pending);
    assert!(list[1].attempts >= 1);
    let failed = engine
        .deliveries(
            "acme",
            &DeliveryQuery {
                status: Some(DeliveryStatus::Failed),
                limit: 10,
                ..DeliveryQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
}

#[tokio::test]
async fn a_receiver_that_hangs_fails_or_hangs_up_holds_up_no_other_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("e.db")).await.unwrap();
    let hang = Receiver::start(Mode::Hang).await;
    let fail = Receiver::start(Mode::Status(500)).await;
    let drop = Receiver::start(Mode::Drop).await;
    let up = Receiver::start(Mode::Up).await;
    apply(
        &engine,
        dir.path(),
        &config_yaml(&[&hang.url, &fail.url, &drop.url, &up.url]),
    )
    .await;
    for p in ["a", "b", "c"] {
        send(
            &engine,
            &partner_events(p, "2026-03-01T10:00:00Z".parse().unwrap()),
        )
        .await;
    }
    let started = Instant::now();
    let pass = tokio::spawn({
        let d = dispatcher(&engine, Arc::new(SystemClock));
        async move { d.pass().await.unwrap() }
    });
    let got = up.wait_for(3 * PER_PARTNER, Duration::from_secs(5)).await;
    let fast = got.last().unwrap().at - started;
    assert!(fast < Duration::from_secs(5), "{fast:?}");
    let report = pass.await.unwrap();
    // The hanging receiver was given its 10 s.
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.delivered, 3 * PER_PARTNER as u64);
    assert_eq!(report.retrying, 3);
    for (key, what) in [("hook-0", "within 10 s"), ("hook-1", "500"), ("hook-2", "")] {
        let head = &all(&engine, key).await[0];
        assert_eq!(head.attempts, 1, "{key}");
        assert!(
            head.last_error.as_deref().unwrap().contains(what),
            "{key}: {head:?}"
        );
    }
    // Each of them saw its first message only.
    assert_eq!(hang.requests().len(), 1);
    assert_eq!(fail.requests().len(), 1);
    assert_eq!(drop.requests().len(), 1);
}

#[tokio::test]
async fn two_dispatchers_on_one_database_send_each_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let engine = Engine::open(&db).await.unwrap();
    let receivers = [
        Receiver::start(Mode::Up).await,
        Receiver::start(Mode::Up).await,
        Receiver::start(Mode::Up).await,
    ];
    let urls: Vec<&str> = receivers.iter().map(|r| r.url.as_str()).collect();
    apply(&engine, dir.path(), &config_yaml(&urls)).await;
    for i in 0..20 {
        send(
            &engine,
            &partner_events(&format!("p{i}"), "2026-03-01T10:00:00Z".parse().unwrap()),
        )
        .await;
    }
    // A second engine on the same file: another replica.
    let other = Engine::open(&db).await.unwrap();
    let (a, b) = (
        dispatcher(&engine, Arc::new(SystemClock)),
        dispatcher(&other, Arc::new(SystemClock)),
    );
    for _ in 0..5 {
        let (ra, rb) = tokio::join!(a.pass(), b.pass());
        ra.unwrap();
        rb.unwrap();
    }
    for (i, r) in receivers.iter().enumerate() {
        let expected = all(&engine, &format!("hook-{i}")).await;
        let got: Vec<String> = r.requests().into_iter().map(|r| r.id).collect();
        let ids: Vec<String> = expected.iter().map(|d| d.id.clone()).collect();
        assert_eq!(got, ids, "hook-{i}: each message once, in order");
    }
}

#[tokio::test]
async fn a_message_of_a_change_that_rolled_back_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let store = partnerops::store::sqlite::SqliteStore::open(&dir.path().join("e.db"))
        .await
        .unwrap();
    let message = |id: &str| OutboxMessage {
        id: id.to_owned(),
        endpoint: "crm".to_owned(),
        event_type: partnerops::spec::EventType::PartnerJoined,
        body: "{}".to_owned(),
        created_at: Utc::now(),
    };
    let mut writes = partnerops::store::Writes::default();
    writes.outbox = vec![message("msg_rolled_back")];
    let mut tx = store.runtime("acme").await.unwrap();
    tx.write(&writes).await.unwrap();
    drop(tx);
    writes.outbox = vec![message("msg_committed")];
    let mut tx = store.runtime("acme").await.unwrap();
    tx.write(&writes).await.unwrap();
    tx.commit().await.unwrap();
    let listed = store
        .deliveries(
            "acme",
            &DeliveryQuery {
                limit: 10,
                ..DeliveryQuery::default()
            },
        )
        .await
        .unwrap();
    let ids: Vec<&str> = listed.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["msg_committed"]);
}

#[tokio::test]
async fn leases_let_one_owner_in_until_they_run_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = partnerops::store::sqlite::SqliteStore::open(&dir.path().join("e.db"))
        .await
        .unwrap();
    let now = Utc::now();
    let until = now + chrono::Duration::seconds(30);
    assert!(
        store
            .lease_endpoint("acme", "crm", "a", now, until)
            .await
            .unwrap()
    );
    assert!(
        !store
            .lease_endpoint("acme", "crm", "b", now, until)
            .await
            .unwrap()
    );
    assert!(
        store
            .lease_endpoint("acme", "crm", "a", now, until)
            .await
            .unwrap()
    );
    assert!(
        store
            .lease_endpoint("acme", "other", "b", now, until)
            .await
            .unwrap()
    );
    let later = now + chrono::Duration::seconds(31);
    assert!(
        store
            .lease_endpoint(
                "acme",
                "crm",
                "b",
                later,
                later + chrono::Duration::seconds(30)
            )
            .await
            .unwrap()
    );
    // The old owner has lost it: what it recorded is refused.
    assert!(
        !store
            .record_attempts("acme", "crm", "a", &[], later)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_for_24_hours() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("e.db")).await.unwrap();
    let receiver = Receiver::start(Mode::Up).await;
    apply(&engine, dir.path(), &config_yaml(&[&receiver.url])).await;
    let old = engine.webhook_secret("acme", "hook-0").await.unwrap();
    assert!(old.previous_signs_until.is_none());
    let new = engine
        .rotate_webhook_secret("acme", "hook-0")
        .await
        .unwrap();
    assert_ne!(old.secret, new.secret);
    let until = new.previous_signs_until.unwrap();
    assert!(until > Utc::now() + chrono::Duration::hours(23));

    send(
        &engine,
        &partner_events("ann", "2026-03-01T10:00:00Z".parse().unwrap()),
    )
    .await;
    dispatcher(&engine, Arc::new(SystemClock))
        .pass()
        .await
        .unwrap();
    let r = &receiver.delivered()[0];
    let ts: i64 = r.timestamp.parse().unwrap();
    let sign = |s: &str| signature::sign(s, &r.id, ts, &r.body).unwrap();
    assert_eq!(
        r.signature,
        format!("{} {}", sign(&new.secret), sign(&old.secret))
    );

    // A day later the old one no longer signs.
    send(
        &engine,
        &partner_events("bob", "2026-03-01T11:00:00Z".parse().unwrap()),
    )
    .await;
    let day_later = Arc::new(ManualClock::new(Utc::now() + chrono::Duration::hours(25)));
    dispatcher(&engine, day_later).pass().await.unwrap();
    let r = receiver
        .delivered()
        .into_iter()
        .find(|r| r.body.contains("\"bob\""))
        .unwrap();
    let ts: i64 = r.timestamp.parse().unwrap();
    assert_eq!(
        r.signature,
        signature::sign(&new.secret, &r.id, ts, &r.body).unwrap()
    );
}

#[tokio::test]
async fn renaming_an_endpoint_keeps_its_secret_and_deleting_it_fails_what_waits() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("e.db")).await.unwrap();
    let receiver = Receiver::start(Mode::Up).await;
    let yaml = config_yaml(&[&receiver.url]);
    apply(&engine, dir.path(), &yaml).await;
    let secret = engine
        .webhook_secret("acme", "hook-0")
        .await
        .unwrap()
        .secret;
    send(
        &engine,
        &partner_events("ann", "2026-03-01T10:00:00Z".parse().unwrap()),
    )
    .await;
    let renamed = yaml
        .replace("key: hook-0,", "key: crm, previously: [hook-0],")
        .replace("notify: hook-0", "notify: crm");
    apply(&engine, dir.path(), &renamed).await;
    assert_eq!(
        engine.webhook_secret("acme", "crm").await.unwrap().secret,
        secret
    );
    assert_eq!(all(&engine, "crm").await.len(), PER_PARTNER + 1);

    let without = renamed
        .replace(&format!("  - {{ key: crm, previously: [hook-0], url: \"{}\", events: [partner.joined, partner.tag_added, partner.tag_removed, commission.created] }}\n", receiver.url), "")
        .replace(", {{ notify: crm }}", "")
        .replace(", { notify: crm }", "");
    assert!(!without.contains("key: crm"), "{without}");
    apply(&engine, dir.path(), &without).await;
    let list = engine
        .deliveries(
            "acme",
            &DeliveryQuery {
                limit: 100,
                ..DeliveryQuery::default()
            },
        )
        .await
        .unwrap();
    assert!(list.iter().all(|d| d.status == DeliveryStatus::Failed));
    assert!(
        list[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("deleted in revision 3")
    );
    assert!(engine.webhook_secret("acme", "crm").await.is_err());
}

#[test]
fn the_cli_lists_redelivers_and_rotates_and_never_prints_a_secret_elsewhere() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = rt.block_on(Receiver::start(Mode::Up));
    let s = Session::embedded();
    let cfg = s.path("config");
    std::fs::create_dir_all(&cfg).unwrap();
    let yaml = config_yaml(&[&receiver.url]);
    std::fs::write(cfg.join("program.yaml"), &yaml).unwrap();
    assert_eq!(code(&s.run(&["apply", "config", "--yes"])), 0);
    std::fs::write(
        s.path("events.ndjson"),
        partner_events("ann", "2026-03-01T10:00:00Z".parse().unwrap()),
    )
    .unwrap();
    assert_eq!(code(&s.run(&["events", "send", "events.ndjson"])), 0);

    let secret = s.run(&["webhooks", "secret", "hook-0"]);
    assert_eq!(code(&secret), 0, "{}", stderr(&secret));
    let secret = stdout(&secret).trim().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");

    let out = s.run(&["webhooks", "dispatch"]);
    assert_eq!(
        stdout(&out).trim(),
        "0 delivered, 1 to retry, 0 failed (1 endpoints)"
    );
    let out = s.run(&["webhooks", "deliveries", "--endpoint", "hook-0"]);
    assert!(
        stdout(&out).contains("loopback or private"),
        "{}",
        stdout(&out)
    );
    std::thread::sleep(Duration::from_millis(6500));
    let out = s.run(&["webhooks", "dispatch", "--allow-private-webhooks"]);
    assert_eq!(
        stdout(&out).trim(),
        "6 delivered, 0 to retry, 0 failed (1 endpoints)",
        "{}",
        stderr(&out)
    );

    let out = s.run(&["webhooks", "deliveries", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 6);
    assert_eq!(list[0]["status"], "delivered");
    assert_eq!(list[0]["type"], "automation.fired");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let out = s.run(&["webhooks", "deliveries", "--failed"]);
    assert_eq!(stdout(&out).trim(), "no messages");

    let out = s.run(&["webhooks", "redeliver", &id]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = s.run(&["webhooks", "dispatch", "--allow-private-webhooks"]);
    assert_eq!(
        stdout(&out).trim(),
        "1 delivered, 0 to retry, 0 failed (1 endpoints)"
    );
    assert_eq!(receiver.delivered().last().unwrap().id, id);
    let out = s.run(&["webhooks", "redeliver", "msg_nope"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("no webhook message `msg_nope`"),
        "{}",
        stderr(&out)
    );

    let out = s.run(&["webhooks", "rotate-secret", "hook-0"]);
    let rotated = stdout(&out).trim().to_owned();
    assert!(rotated.starts_with("whsec_") && rotated != secret);
    assert!(
        stderr(&out).contains("the old one signs too until"),
        "{}",
        stderr(&out)
    );
    let out = s.run(&["webhooks", "secret", "hook-1"]);
    assert!(
        stderr(&out).contains("no webhook `hook-1` (did you mean `hook-0`?)"),
        "{}",
        stderr(&out)
    );

    // Plans, exports and history show the endpoint, never its secret.
    std::fs::write(
        cfg.join("program.yaml"),
        yaml.replace("/hook\"", "/hook2\""),
    )
    .unwrap();
    let plan = s.run(&["plan", "config"]);
    let text = stdout(&plan);
    assert!(text.contains("~ webhook hook-0"), "{text}");
    assert!(text.contains("/hook2"), "{text}");
    let json = stdout(&s.run(&["plan", "config", "--format", "json"]));
    let export = s.run(&["export", "--out", "exported"]);
    assert_eq!(code(&export), 0, "{}", stderr(&export));
    let exported = std::fs::read_to_string(s.path("exported/webhooks.yaml")).unwrap();
    assert!(exported.contains(&receiver.url), "{exported}");
    let history = stdout(&s.run(&["history", "--format", "json"]));
    for shown in [&text, &json, &exported, &history] {
        assert!(!shown.contains(&secret) && !shown.contains(&rotated));
        assert!(!shown.contains("whsec_"));
    }
    let again = s.run(&["plan", "exported", "--exit-code"]);
    assert_eq!(code(&again), 0, "{}", stdout(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_deliveries_need_data_read_and_secrets_need_admin() {
    let server = TestServer::start().await;
    let receiver = Receiver::start(Mode::Up).await;
    let dir = tempfile::tempdir().unwrap();
    apply(&server.engine, dir.path(), &config_yaml(&[&receiver.url])).await;
    send(
        &server.engine,
        &partner_events("ann", "2026-03-01T10:00:00Z".parse().unwrap()),
    )
    .await;
    let http = reqwest::Client::new();
    let get = |path: &str, token: &str| {
        http.get(format!("{}/v1/programs/acme{path}", server.url))
            .bearer_auth(token)
            .send()
    };
    let reader = server.token(&["data:read"]).await;
    let answer = get(
        "/webhooks/deliveries?endpoint=hook-0&limit=2&body=true",
        &reader,
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 200);
    let list: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(list[0]["body"]["data"].is_object());
    let answer = get("/webhooks/deliveries?status=lost", &reader)
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let answer = get("/webhooks/endpoints/hook-0/secret", &reader)
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    let writer = server.token(&["config:write", "events:write"]).await;
    let answer = http
        .post(format!(
            "{}/v1/programs/acme/webhooks/endpoints/hook-0/rotate-secret",
            server.url
        ))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);

    // The CLI over HTTP with an admin token.
    let s = Session::http(&server);
    let out = s.run(&["webhooks", "secret", "hook-0"]);
    assert_eq!(
        stdout(&out).trim(),
        server
            .engine
            .webhook_secret("acme", "hook-0")
            .await
            .unwrap()
            .secret
    );
    let out = s.run(&["webhooks", "rotate-secret", "hook-0"]);
    assert_eq!(
        stdout(&out).trim(),
        server
            .engine
            .webhook_secret("acme", "hook-0")
            .await
            .unwrap()
            .secret
    );
    let out = s.run(&["webhooks", "deliveries", "--format", "json", "--limit", "3"]);
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    let id = list[2]["id"].as_str().unwrap();
    let out = s.run(&["webhooks", "redeliver", id]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = s.run(&["webhooks", "dispatch"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("dispatches its webhooks itself"),
        "{}",
        stderr(&out)
    );

    let doc = partnerops::server::openapi::document();
    for path in [
        "/v1/programs/{program}/webhooks/deliveries",
        "/v1/programs/{program}/webhooks/deliveries/{id}/redeliver",
        "/v1/programs/{program}/webhooks/endpoints/{endpoint}/secret",
        "/v1/programs/{program}/webhooks/endpoints/{endpoint}/rotate-secret",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
}
