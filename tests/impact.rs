//! `plan --impact-window`: the money and tags a config change would have
//! moved over the program's recent events, with every amount worked out by
//! hand below, through the embedded engine and over HTTP.

mod support;

use std::path::Path;

use chrono::{Duration, Utc};
use partnerops::engine::Engine;
use serde_json::Value;
use support::cli::{self, Session};
use support::program::{self, joined, refund, sale, signed_up, upsert};
use support::server::TestServer;

const LIVE: &str = r#"
program: { key: shop, name: Shop, currency: USD, timezone: UTC }
tags:
  - { key: gold }
products:
  - { key: inbox, name: Inbox, price: 99 }
  - { key: chat, name: Chat, price: 10 }
automations:
  - key: gold-tier
    when: { milestone: { metric: revenue, at_least: 1000 } }
    then: [ { add_tag: gold } ]
commission_triggers:
  - key: live-chat-10
    name: 10% of every sale
    on: transaction_created
    commission: { percent: 10 }
"#;

fn ago(days: i64) -> String {
    (Utc::now() - Duration::days(days)).to_rfc3339()
}

/// The program's events. In the 30-day window:
/// - alice: t1 100.00 on Inbox (s1), t2 250.00 with no product, 50.00 of
///   t2 refunded; her revenue was already 500.00 (t0, 40 days ago, before
///   the window);
/// - bob: t3 40.00 on Chat (s2);
/// - carol (joined 5 days ago): t4 150.00, then t5 100.00.
///
/// Under the live 10%: alice 10.00 + 10% of (250 − 50) = 20.00 → 30.00;
/// bob 4.00; carol 15.00 + 10.00 = 25.00; total 59.00. t0 is outside the
/// window and not counted.
fn events() -> Vec<String> {
    vec![
        joined(&ago(60), "alice", None),
        signed_up(&ago(50), "c0", "alice"),
        sale(&ago(40), "t0", "c0", "500.00", None),
        signed_up(&ago(59), "c1", "alice"),
        upsert(&ago(10), "c1", "inbox", "active", "s1"),
        sale(&ago(9), "t1", "c1", "100.00", Some("s1")),
        sale(&ago(8), "t2", "c1", "250.00", None),
        refund(&ago(7), "r1", "t2", "50.00"),
        joined(&ago(20), "bob", None),
        signed_up(&ago(19), "c2", "bob"),
        upsert(&ago(18), "c2", "chat", "active", "s2"),
        sale(&ago(17), "t3", "c2", "40.00", Some("s2")),
        joined(&ago(5), "carol", None),
        signed_up(&ago(4), "c3", "carol"),
        sale(&ago(3), "t4", "c3", "150.00", None),
        sale(&ago(2), "t5", "c3", "100.00", None),
    ]
}

/// An engine on a file holding the live config and the events.
async fn seeded() -> (Engine, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("engine.db");
    let engine = Engine::open(&db).await.unwrap();
    program::apply(&engine, LIVE).await;
    program::send(&engine, "shop", &events()).await;
    (engine, db, dir)
}

fn write_config(session: &Session, yaml: &str) -> std::path::PathBuf {
    let dir = session.path("config");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("program.yaml"), yaml).unwrap();
    dir
}

fn plan_json(session: &Session, config: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["plan", config.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    let out = session.run(&args);
    assert_eq!(cli::code(&out), 0, "{}", cli::stderr(&out));
    serde_json::from_str(&cli::stdout(&out)).unwrap()
}

/// The plan's `impact` for `planned`, planned embedded and over HTTP (with a
/// `config:read` token); both must agree.
async fn impact(planned: &str) -> Value {
    let (engine, db, dir) = seeded().await;
    let embedded = Session {
        engine: cli::Engine::Embedded(db.clone()),
        dir: tempfile::tempdir().unwrap(),
    };
    let config = write_config(&embedded, planned);
    let local = plan_json(&embedded, &config, &[]);

    let server = TestServer::start_with(engine, db, dir).await;
    let token = server.token(&["config:read"]).await;
    let http = Session {
        engine: cli::Engine::Http {
            url: server.url.clone(),
            token,
        },
        dir: tempfile::tempdir().unwrap(),
    };
    let config = write_config(&http, planned);
    let remote = plan_json(&http, &config, &[]);
    let served: Vec<_> = server.requests.lock().unwrap().clone();
    assert!(
        served
            .iter()
            .any(|(m, p)| m == "POST" && p == "/v1/programs/shop/what-if"),
        "{served:?}"
    );
    let strip = |v: &Value| {
        let mut i = v["impact"].clone();
        assert!(i.is_object(), "no impact in {v:#}");
        for k in ["since", "until"] {
            i.as_object_mut().unwrap().remove(k);
        }
        i
    };
    assert_eq!(strip(&local), strip(&remote));
    strip(&local)
}

/// The engine's what-if over the last 30 days for the `planned` config.
async fn what_if(engine: &Engine, planned: &str) -> partnerops::engine::whatif::WhatIf {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("p.yaml"), planned).unwrap();
    let planned = partnerops::config::load(d.path()).unwrap();
    let query = partnerops::engine::whatif::WhatIfQuery {
        resources: planned.resources().collect(),
        window_days: 30,
        until: None,
        triggers: vec![],
    };
    engine.what_if("shop", &query).await.unwrap()
}

fn money(before: &str, after: &str, difference: &str) -> Value {
    serde_json::json!({ "before": before, "after": after, "difference": difference })
}

fn row(name_key: &str, name: &str, m: Value) -> Value {
    let mut v = m;
    v[name_key] = Value::from(name);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_change_on_known_sales() {
    let impact = impact(&LIVE.replace("percent: 10", "percent: 12")).await;
    // 12%: alice 12.00 + 24.00 = 36.00; bob 4.80; carol 18.00 + 12.00 = 30.00.
    assert_eq!(impact["window_days"], 30);
    assert_eq!(impact["partners"], 3);
    assert_eq!(
        impact["triggers"],
        serde_json::json!([row(
            "trigger",
            "live-chat-10",
            money("59.00", "70.80", "11.80")
        )])
    );
    assert_eq!(impact["total"], money("59.00", "70.80", "11.80"));
    assert_eq!(
        impact["top_partners"],
        serde_json::json!([
            row("partner", "alice", money("30.00", "36.00", "6.00")),
            row("partner", "carol", money("25.00", "30.00", "5.00")),
            row("partner", "bob", money("4.00", "4.80", "0.80")),
        ])
    );
    assert_eq!(impact["tags"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_milestone_threshold_moved() {
    let impact = impact(&LIVE.replace("at_least: 1000", "at_least: 200")).await;
    // Carol crosses 200.00 with t5 (150 + 100): she gains gold. Alice was
    // past 200 before the window (500.00) and the automation has no
    // backfill: she crosses nothing. Bob has 40.00. Nobody reaches 1000.
    assert_eq!(
        impact["tags"],
        serde_json::json!([{ "tag": "gold", "gain": 1, "lose": 0 }])
    );
    assert_eq!(impact["triggers"], serde_json::json!([]));
    assert_eq!(impact["total"], money("59.00", "59.00", "0.00"));
    assert_eq!(impact["top_partners"], serde_json::json!([]));

    // And the other way: a threshold raised past what carol makes loses her
    // the tag she gets today (live at 200, planned at 1000).
    let (engine, _db, _dir) = seeded().await;
    program::apply(&engine, &LIVE.replace("at_least: 1000", "at_least: 200")).await;
    let w = what_if(&engine, LIVE).await;
    assert_eq!(w.tags.len(), 1);
    assert_eq!(
        (w.tags[0].tag.as_str(), w.tags[0].gain, w.tags[0].lose),
        ("gold", 0, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_trigger_with_product_rules() {
    let planned = format!(
        "{LIVE}  - key: inbox-5
    name: 5% of Inbox sales
    on: transaction_created
    commission: {{ percent: 5 }}
    rules:
      - {{ product.key: {{ any_of: [inbox] }} }}
"
    );
    let impact = impact(&planned).await;
    // Only t1 (100.00) is an Inbox sale: 5.00 to alice. t2 has no product,
    // t3 is Chat, carol's have none.
    assert_eq!(
        impact["triggers"],
        serde_json::json!([row("trigger", "inbox-5", money("0.00", "5.00", "5.00"))])
    );
    assert_eq!(impact["total"], money("59.00", "64.00", "5.00"));
    assert_eq!(
        impact["top_partners"],
        serde_json::json!([row("partner", "alice", money("30.00", "35.00", "5.00"))])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_trigger() {
    let cut = LIVE.find("commission_triggers:").unwrap();
    let impact = impact(&LIVE[..cut]).await;
    assert_eq!(
        impact["triggers"],
        serde_json::json!([row(
            "trigger",
            "live-chat-10",
            money("59.00", "0.00", "-59.00")
        )])
    );
    assert_eq!(impact["total"], money("59.00", "0.00", "-59.00"));
    assert_eq!(
        impact["top_partners"],
        serde_json::json!([
            row("partner", "alice", money("30.00", "0.00", "-30.00")),
            row("partner", "carol", money("25.00", "0.00", "-25.00")),
            row("partner", "bob", money("4.00", "0.00", "-4.00")),
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shorter_window_counts_fewer_sales_and_zero_turns_it_off() {
    let (_engine, db, _dir) = seeded().await;
    let session = Session {
        engine: cli::Engine::Embedded(db),
        dir: tempfile::tempdir().unwrap(),
    };
    let config = write_config(&session, &LIVE.replace("percent: 10", "percent: 12"));
    // 4 days: carol's t4 and t5 only: 25.00 → 30.00.
    let plan = plan_json(&session, &config, &["--impact-window", "4d"]);
    assert_eq!(plan["impact"]["window_days"], 4);
    assert_eq!(plan["impact"]["total"], money("25.00", "30.00", "5.00"));
    let plan = plan_json(&session, &config, &["--impact-window", "0"]);
    assert!(plan.get("impact").is_none(), "{plan:#}");
    let out = session.run(&["plan", config.to_str().unwrap(), "--impact-window", "soon"]);
    assert_eq!(cli::code(&out), 1, "{}", cli::stderr(&out));
    assert!(cli::stderr(&out).contains("not a number of days"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_that_changes_no_trigger_or_automation_runs_no_replay() {
    let (engine, db, dir) = seeded().await;
    let planned = LIVE.replace(
        "  - { key: gold }",
        "  - { key: gold }\n  - { key: silver }",
    );
    let server = TestServer::start_with(engine, db, dir).await;
    let session = Session::http(&server);
    let config = write_config(&session, &planned);
    let plan = plan_json(&session, &config, &[]);
    assert_eq!(plan["summary"]["create"], 1);
    assert!(plan.get("impact").is_none(), "{plan:#}");
    let served: Vec<_> = server.requests.lock().unwrap().clone();
    assert!(
        !served.iter().any(|(_, p)| p.ends_with("/what-if")),
        "the replay ran: {served:?}"
    );
    assert!(
        served
            .iter()
            .any(|(_, p)| p.ends_with("/snapshot") || p.contains("/programs/shop"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_impact_in_text_and_markdown() {
    let (_engine, db, _dir) = seeded().await;
    let session = Session {
        engine: cli::Engine::Embedded(db),
        dir: tempfile::tempdir().unwrap(),
    };
    let config = write_config(&session, &LIVE.replace("percent: 10", "percent: 12"));
    let out = session.run(&["plan", config.to_str().unwrap()]);
    let text = cli::stdout(&out);
    assert!(text.contains("Impact over the last 30 days"), "{text}");
    assert!(
        text.contains("16 events of 3 partners") || text.contains("of 3 partners"),
        "{text}"
    );
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("live-chat-10  "))
        .unwrap();
    assert!(
        line.contains("59.00") && line.contains("70.80") && line.contains("(+11.80)"),
        "{line}"
    );

    let out = session.run(&["plan", config.to_str().unwrap(), "--format", "markdown"]);
    let md = cli::stdout(&out);
    assert!(
        md.contains("| `live-chat-10` | 59.00 | 70.80 | +11.80 |"),
        "{md}"
    );
    assert!(
        md.contains("| **total** | **59.00** | **70.80** | **+11.80** |"),
        "{md}"
    );
    assert!(md.contains("| `alice` | 30.00 | 36.00 | +6.00 |"), "{md}");
    assert!(md.len() < partnerops::plan::render::MARKDOWN_LIMIT);
}

/// The impact's JSON and markdown, on a fixed window so they can be kept.
#[test]
fn impact_snapshots() {
    use partnerops::engine::whatif::{
        MoneyChange, PartnerImpact, TagImpact, TriggerImpact, WhatIf,
    };
    let m = |b: &str, a: &str, d: &str| -> MoneyChange {
        serde_json::from_value(money(b, a, d)).unwrap()
    };
    let impact = WhatIf {
        window_days: 30,
        since: "2026-11-05T00:00:00Z".parse().unwrap(),
        until: "2026-12-05T00:00:00Z".parse().unwrap(),
        partners: 3,
        events: 16,
        triggers: vec![TriggerImpact {
            trigger: "live-chat-10".into(),
            money: m("59.00", "70.80", "11.80"),
        }],
        total: m("59.00", "70.80", "11.80"),
        top_partners: vec![
            PartnerImpact {
                partner: "alice".into(),
                money: m("30.00", "36.00", "6.00"),
            },
            PartnerImpact {
                partner: "bob".into(),
                money: m("4.00", "4.80", "0.80"),
            },
        ],
        tags: vec![TagImpact {
            tag: "gold".into(),
            gain: 1,
            lose: 0,
        }],
    };
    insta::assert_snapshot!(serde_json::to_string_pretty(&impact).unwrap());
    insta::assert_snapshot!(partnerops::plan::impact::markdown(&impact));
    insta::assert_snapshot!(partnerops::plan::impact::text(&impact));
}

/// However many triggers and tags move, the comment stays under its cap.
#[test]
fn a_huge_impact_stays_under_the_comment_cap() {
    use partnerops::engine::whatif::{MoneyChange, TagImpact, TriggerImpact, WhatIf};
    let m: MoneyChange = serde_json::from_value(money("1.00", "2.00", "1.00")).unwrap();
    let impact = WhatIf {
        window_days: 30,
        since: "2026-11-05T00:00:00Z".parse().unwrap(),
        until: "2026-12-05T00:00:00Z".parse().unwrap(),
        partners: 1,
        events: 1,
        triggers: (0..5_000)
            .map(|i| TriggerImpact {
                trigger: format!("trigger-{i:05}-{}", "x".repeat(60)),
                money: m,
            })
            .collect(),
        total: m,
        top_partners: vec![],
        tags: (0..5_000)
            .map(|i| TagImpact {
                tag: format!("tag-{i}-{}", "y".repeat(60)),
                gain: 1,
                lose: 1,
            })
            .collect(),
    };
    let md = partnerops::plan::impact::markdown(&impact);
    assert!(md.len() < 20_000, "{}", md.len());
    assert!(md.contains("| … 4950 more | | | |"));
}

/// The pull-request comment of the example workflow: the Action's own plan
/// command (read from action.yml, with the environment its Plan step sets
/// from the workflow's inputs), over HTTP with a `config:read` token, shows
/// the impact table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workflow_comment_shows_the_impact() {
    let action: Value =
        serde_saphyr::from_str(&std::fs::read_to_string("action.yml").unwrap()).unwrap();
    let workflow: Value =
        serde_saphyr::from_str(&std::fs::read_to_string("examples/ci/partnerops.yml").unwrap())
            .unwrap();
    let plan_step = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "plan")
        .unwrap();
    assert_eq!(
        plan_step["env"]["PARTNEROPS_IMPACT_WINDOW"],
        "${{ inputs.impact-window }}"
    );
    let window = workflow["jobs"]["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|s| s["with"]["impact-window"].as_str())
        .unwrap()
        .to_owned();
    let line = plan_step["run"]
        .as_str()
        .unwrap()
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("partnerops plan "))
        .unwrap();
    let command = &line[..line.find('>').unwrap()];

    let (engine, db, dir) = seeded().await;
    let server = TestServer::start_with(engine, db, dir).await;
    let token = server.token(&["config:read"]).await;
    let session = Session {
        engine: cli::Engine::Http {
            url: server.url.clone(),
            token,
        },
        dir: tempfile::tempdir().unwrap(),
    };
    let config = write_config(&session, &LIVE.replace("percent: 10", "percent: 12"));
    let out_base = session.path("partnerops-plan");
    let args: Vec<String> = command
        .split_whitespace()
        .skip(1)
        .map(|w| {
            w.trim_matches('"')
                .replace("$CONFIG_DIR", config.to_str().unwrap())
                .replace("$out", out_base.to_str().unwrap())
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = session.run_env(&[("PARTNEROPS_IMPACT_WINDOW", window.as_str())], &args);
    assert_eq!(cli::code(&out), 2, "{}", cli::stderr(&out));
    let md = cli::stdout(&out);
    assert!(md.contains("#### Impact over the last 30 days"), "{md}");
    assert!(
        md.contains("| `live-chat-10` | 59.00 | 70.80 | +11.80 |"),
        "{md}"
    );
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(session.path("partnerops-plan.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["impact"]["total"]["difference"], "11.80");
}

/// `simulate`: a new program tried on a file of events, amounts by hand.
#[test]
fn simulate_a_program_before_it_exists() {
    let session = Session::embedded();
    let config = write_config(
        &session,
        r#"
program: { key: shop, name: Shop, currency: USD, timezone: UTC }
tags:
  - { key: gold }
products:
  - { key: inbox, name: Inbox, price: 99 }
automations:
  - key: gold-tier
    when: { milestone: { metric: revenue, at_least: 300 } }
    then: [ { add_tag: gold } ]
commission_triggers:
  - key: all-10
    name: 10% of every sale
    on: transaction_created
    commission: { percent: 10 }
  - key: inbox-5
    name: 5% more on Inbox
    on: transaction_created
    commission: { percent: 5 }
    rules:
      - { product.key: { any_of: [inbox] } }
"#,
    );
    let events = session.path("events.ndjson");
    // The signup comes after the first sale in the file, as webhooks do:
    // the engine orders by `at`.
    let lines = [
        r#"{"id":"e1","type":"partner.joined","at":"2026-01-01T00:00:00Z","partner":{"key":"alice"}}"#,
        r#"{"id":"e4","type":"transaction.created","at":"2026-01-04T00:00:00Z","transaction":{"key":"t1","customer":"c1","amount":"200.00","subscription_key":"s1"}}"#,
        r#"{"id":"e2","type":"customer.signed_up","at":"2026-01-02T00:00:00Z","customer":"c1","partner":"alice"}"#,
        r#"{"id":"e3","type":"customer_product.upserted","at":"2026-01-03T00:00:00Z","customer":"c1","product":"inbox","status":"active","external_subscription_key":"s1"}"#,
        r#"{"id":"e5","type":"transaction.created","at":"2026-01-05T00:00:00Z","transaction":{"key":"t2","customer":"c1","amount":"150.00"}}"#,
        r#"{"id":"e6","type":"transaction.refunded","at":"2026-01-06T00:00:00Z","refund":{"key":"r1","transaction":"t2","amount":"50.00"}}"#,
        r#"{"id":"e7","type":"partner.joined","at":"2026-01-01T00:00:00Z","partner":{"key":"bob"}}"#,
    ];
    std::fs::write(&events, lines.join("\n")).unwrap();
    let out = session.run(&[
        "simulate",
        config.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(cli::code(&out), 0, "{}", cli::stderr(&out));
    let s: Value = serde_json::from_str(&cli::stdout(&out)).unwrap();
    // t1 200.00 on Inbox: 20.00 + 10.00. t2 150.00 less 50.00 refunded:
    // 10% of 100.00 = 10.00. Revenue 300.00 reaches gold.
    assert_eq!(s["accepted"], 7);
    assert_eq!(
        s["triggers"],
        serde_json::json!([
            { "trigger": "all-10", "amount": "30.00" },
            { "trigger": "inbox-5", "amount": "10.00" },
        ])
    );
    assert_eq!(s["total"], "40.00");
    assert_eq!(s["partners"][0]["key"], "alice");
    assert_eq!(s["partners"][0]["tags"], serde_json::json!(["gold"]));
    assert_eq!(s["partners"][1]["key"], "bob");
    assert_eq!(s["partners"][1]["tags"], serde_json::json!([]));
    assert!(s["ledger"].as_array().unwrap().len() >= 3);
    // Nothing of the session's engine was touched.
    assert!(!session.path("state").exists());

    // A bad event is named with its line and reason; exit 1.
    std::fs::write(
        &events,
        format!(
            "{}\n{}\n",
            lines[0],
            r#"{"id":"x","type":"transaction.created","at":"2026-01-07T00:00:00Z","transaction":{"key":"t9","customer":"c9","amount":"-5.00"}}"#
        ),
    )
    .unwrap();
    let out = session.run(&[
        "simulate",
        config.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ]);
    assert_eq!(cli::code(&out), 1);
    assert!(
        cli::stderr(&out).contains(":2 (event x): rejected:"),
        "{}",
        cli::stderr(&out)
    );
    assert!(
        cli::stdout(&out).contains("1 event accepted, 1 rejected"),
        "{}",
        cli::stdout(&out)
    );
}

/// A daily check the planned config adds, due before the live config's
/// next one, fires at its own time in the replay: the window's sale after it
/// sees its tag (the replay once took the live config's next due date for
/// the planned one and priced the sale before the check fired).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_daily_check_due_before_the_live_ones_fires_before_the_next_sale() {
    const QUIET: &str = r#"
program: { key: shop, name: Shop, currency: USD, timezone: UTC }
tags:
  - { key: cold }
  - { key: quiet }
automations:
  - key: cold
    when: { inactive: { days: 40 } }
    then: [ { add_tag: cold } ]
commission_triggers:
  - key: quiet-bonus
    name: 10.00 on a sale by a quiet partner
    on: transaction_created
    commission: { flat: 10 }
    rules:
      - { partner.tag: { any_of: [ quiet ] } }
"#;
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("engine.db")).await.unwrap();
    program::apply(&engine, QUIET).await;
    // dana's last activity is 34 days ago: live, `cold` comes due in 6
    // days; planned, `quiet` came due 27 days ago, before the sale.
    program::send(
        &engine,
        "shop",
        &[
            joined(&ago(35), "dana", None),
            signed_up(&ago(34), "c9", "dana"),
            sale(&ago(20), "t9", "c9", "50.00", None),
        ],
    )
    .await;
    let planned = QUIET.replace(
        "commission_triggers:",
        "  - key: quiet
    when: { inactive: { days: 7 } }
    then: [ { add_tag: quiet } ]
commission_triggers:",
    );
    let w = what_if(&engine, &planned).await;
    assert_eq!(
        serde_json::to_value(&w.total).unwrap(),
        money("0.00", "10.00", "10.00")
    );
    assert_eq!(
        (w.tags[0].tag.as_str(), w.tags[0].gain, w.tags[0].lose),
        ("quiet", 1, 0)
    );
}
