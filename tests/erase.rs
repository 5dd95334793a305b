//! `partnerops partner erase KEY`: a partner's name and email leave the
//! partner and every stored event body; keys, money and tags stay, the
//! stored events replay to the same tags and commissions, and the erasure is
//! recorded and shown. Embedded and over HTTP.

mod support;

use sqlx::Row;
use support::cli::{Session, code, stderr, stdout};
use support::server::TestServer;

fn events_file() -> String {
    format!(
        "{}/examples/gigakick/events.ndjson",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Stored event bodies of `db`, in the order they take effect.
async fn stored_events(db: &std::path::Path) -> Vec<String> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .unwrap();
    let rows = sqlx::query("SELECT body FROM events ORDER BY at, id")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.iter().map(|r| r.get::<String, _>("body")).collect()
}

fn json(session: &Session, args: &[&str]) -> serde_json::Value {
    let out = session.run(args);
    assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

async fn erase_keeps_money_and_tags(session: &Session, db: &std::path::Path) {
    let config = session.config("examples/gigakick");
    assert_eq!(
        code(&session.run(&["apply", config.to_str().unwrap(), "--yes"])),
        0
    );
    let sent = session.run(&["events", "send", &events_file()]);
    assert_eq!(code(&sent), 0, "{}", stderr(&sent));
    let before = json(session, &["partner", "alice-agency", "--format", "json"]);
    assert!(
        before["name"].is_string(),
        "the example names alice: {before}"
    );
    let name = before["name"].as_str().unwrap().to_owned();
    let commissions = json(session, &["commissions", "--format", "json"]);
    let partners = json(session, &["partners", "--format", "json"]);
    assert!(stored_events(db).await.iter().any(|b| b.contains(&name)));

    // Not without --yes.
    let refused = session.run(&["partner", "erase", "alice-agency"]);
    assert_eq!(code(&refused), 3, "{}", stderr(&refused));
    assert!(stored_events(db).await.iter().any(|b| b.contains(&name)));

    let erased = session.run(&["partner", "erase", "alice-agency", "--yes"]);
    assert_eq!(code(&erased), 0, "{}", stderr(&erased));
    assert!(
        stderr(&erased).contains("stored events"),
        "{}",
        stderr(&erased)
    );

    let after = json(session, &["partner", "alice-agency", "--format", "json"]);
    assert!(
        after.get("name").is_none() && after.get("email").is_none(),
        "{after}"
    );
    assert_eq!(after["tags"], before["tags"]);
    assert_eq!(after["stats"], before["stats"]);
    assert_eq!(after["erasures"].as_array().unwrap().len(), 1, "{after}");
    assert!(
        after["erasures"][0]["events"].as_u64().unwrap() >= 1,
        "{after}"
    );
    let text = session.run(&["partner", "alice-agency"]);
    assert!(stdout(&text).contains("erased:"), "{}", stdout(&text));
    assert_eq!(
        json(session, &["commissions", "--format", "json"]),
        commissions
    );
    let others_after = json(session, &["partners", "--format", "json"]);
    for (b, a) in partners
        .as_array()
        .unwrap()
        .iter()
        .zip(others_after.as_array().unwrap())
    {
        if b["key"] != "alice-agency" {
            assert_eq!(a, b, "other partners keep their data");
        }
    }

    // No stored body names alice any more, and every body still reads.
    let bodies = stored_events(db).await;
    for body in &bodies {
        let event: serde_json::Value = serde_json::from_str(body).unwrap();
        if event["partner"]["key"] == "alice-agency" {
            assert!(event["partner"].get("name").is_none(), "{body}");
            assert!(event["partner"].get("email").is_none(), "{body}");
        }
    }
    assert!(!bodies.iter().any(|b| b.contains(&name)));

    // The erased events replay to the same tags and money in a new engine.
    let replay = Session::embedded();
    let config = replay.config("examples/gigakick");
    assert_eq!(
        code(&replay.run(&["apply", config.to_str().unwrap(), "--yes"])),
        0
    );
    std::fs::write(replay.path("stored.ndjson"), bodies.join("\n") + "\n").unwrap();
    let sent = replay.run(&["events", "send", "stored.ndjson"]);
    assert_eq!(code(&sent), 0, "{}", stderr(&sent));
    let replayed = json(&replay, &["partner", "alice-agency", "--format", "json"]);
    assert_eq!(replayed["tags"], before["tags"]);
    assert_eq!(replayed["stats"]["revenue"], before["stats"]["revenue"]);
    let money = |v: &serde_json::Value| -> Vec<(String, String, String)> {
        let mut lines: Vec<_> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["transaction"].to_string(),
                    c["trigger"].to_string(),
                    c["amount"].to_string(),
                )
            })
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        money(&json(&replay, &["commissions", "--format", "json"])),
        money(&commissions)
    );

    let unknown = session.run(&["partner", "erase", "nobody", "--yes"]);
    assert_eq!(code(&unknown), 1);
    assert!(
        stderr(&unknown).contains("no partner `nobody`"),
        "{}",
        stderr(&unknown)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn erase_on_the_embedded_engine() {
    let session = Session::embedded();
    let db = match &session.engine {
        support::cli::Engine::Embedded(db) => db.clone(),
        support::cli::Engine::Http { .. } => unreachable!(),
    };
    erase_keeps_money_and_tags(&session, &db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn erase_over_http_needs_admin() {
    let server = TestServer::start().await;
    let session = Session::http(&server);
    erase_keeps_money_and_tags(&session, &server.db).await;
    let reader = server.token(&["data:read"]).await;
    let r = reqwest::Client::new()
        .post(format!(
            "{}/v1/programs/gigakick/partners/bob-blog/erase",
            server.url
        ))
        .bearer_auth(reader)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
