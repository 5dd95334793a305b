//! Tokens over their life, as DESIGN.md "Access" says: made with an expiry,
//! listed without their secrets, noted when used, revoked; expired and
//! revoked tokens get 401; history names the token that applied a changeset.

mod support;

use std::time::Duration;

use partnerops::engine::access::TokenRequest;
use support::cli::{Session, code, stderr, stdout};
use support::server::TestServer;

async fn status(server: &TestServer, token: &str, path: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", server.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_listed_revoked_and_expire_over_the_cli() {
    let server = TestServer::start().await;
    let session = Session::http(&server);
    let config = session.config("examples/gigakick");
    let applied = session.run(&["apply", config.to_str().unwrap(), "--yes"]);
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));

    let made = session.run(&[
        "token",
        "create",
        "--scope",
        "data:read",
        "--expires-in",
        "90d",
    ]);
    assert_eq!(code(&made), 0, "{}", stderr(&made));
    let reader = stdout(&made).trim().to_owned();
    assert!(reader.starts_with("po_"));
    assert_eq!(
        status(&server, &reader, "/v1/programs/gigakick/partners")
            .await
            .0,
        200
    );

    // The list names every token, never a secret, and when each was used.
    let mut listed = serde_json::Value::Null;
    for _ in 0..50 {
        let list = session.run(&["token", "list", "--format", "json"]);
        assert_eq!(code(&list), 0, "{}", stderr(&list));
        assert!(!stdout(&list).contains("po_"), "{}", stdout(&list));
        listed = serde_json::from_str(&stdout(&list)).unwrap();
        let used = listed
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["last_used_at"].is_string());
        if used {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let tokens = listed.as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{listed:#}");
    let entry = tokens
        .iter()
        .find(|t| t["scopes"] == serde_json::json!(["data:read"]))
        .unwrap();
    let id = entry["id"].as_str().unwrap().to_owned();
    let expires: chrono::DateTime<chrono::Utc> =
        entry["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((89.9..=90.0).contains(&days), "{days}");
    assert!(entry["last_used_at"].is_string(), "{listed:#}");
    let text = session.run(&["token", "list"]);
    assert!(stdout(&text).contains(&id), "{}", stdout(&text));
    assert!(stdout(&text).contains("LAST USED"), "{}", stdout(&text));

    // Revoked: 401 from then on, and the list says when.
    let revoked = session.run(&["token", "revoke", &id]);
    assert_eq!(code(&revoked), 0, "{}", stderr(&revoked));
    let (code401, problem) = status(&server, &reader, "/v1/programs/gigakick/partners").await;
    assert_eq!(code401, 401);
    assert!(
        problem["detail"].as_str().unwrap().contains("revoked"),
        "{problem}"
    );
    let list = session.run(&["token", "list", "--format", "json"]);
    assert!(stdout(&list).contains("revoked_at"), "{}", stdout(&list));
    let unknown = session.run(&["token", "revoke", "nosuchtoken0"]);
    assert_eq!(code(&unknown), 1);
    assert!(
        stderr(&unknown).contains("no token has id"),
        "{}",
        stderr(&unknown)
    );

    // Expired: 401.
    let short = server
        .engine
        .issue_token(TokenRequest {
            scopes: vec!["data:read".parse().unwrap()],
            program: None,
            expires_at: Some(chrono::Utc::now() + chrono::Duration::milliseconds(1200)),
        })
        .await
        .unwrap();
    assert_eq!(status(&server, &short, "/v1/programs").await.0, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (code401, problem) = status(&server, &short, "/v1/programs").await;
    assert_eq!(code401, 401);
    assert!(
        problem["detail"].as_str().unwrap().contains("expired"),
        "{problem}"
    );
    let past = session.run(&["token", "create", "--scope", "admin", "--expires-in", "0d"]);
    assert_eq!(code(&past), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_token_needs_a_program_that_exists() {
    let server = TestServer::start().await;
    let session = Session::http(&server);
    let out = session.run(&[
        "token",
        "create",
        "--scope",
        "partner:alice",
        "--program",
        "nosuch",
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("holds no program `nosuch`"),
        "{}",
        stderr(&out)
    );
    // A config token may be made before the first apply creates the program.
    let out = session.run(&[
        "token",
        "create",
        "--scope",
        "config:write",
        "--program",
        "nosuch",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let embedded = Session::embedded();
    let out = embedded.run(&[
        "token",
        "create",
        "--scope",
        "partner:alice",
        "--program",
        "nosuch",
    ]);
    assert_eq!(code(&out), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn history_names_the_token_that_applied_each_changeset() {
    let server = TestServer::start().await;
    let writer = server.token(&["config:write"]).await;
    let session = Session::http(&server);
    let config = session.config("examples/gigakick");
    let applied = session.run_env(
        &[("PARTNEROPS_AUTHOR", "Someone Else <x@y>")],
        &[
            "apply",
            config.to_str().unwrap(),
            "--yes",
            "--token",
            &writer,
        ],
    );
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    let id = server
        .engine
        .tokens_page(None, None, 10)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|t| t.scopes == vec!["config:write".parse().unwrap()])
        .unwrap()
        .id;
    let history = session.run(&["history", "--format", "json"]);
    let records: serde_json::Value = serde_json::from_str(&stdout(&history)).unwrap();
    assert_eq!(records[0]["author"], "Someone Else <x@y>");
    assert_eq!(records[0]["token"], id.as_str());
    let text = session.run(&["history"]);
    assert!(stdout(&text).contains("TOKEN"), "{}", stdout(&text));
    assert!(stdout(&text).contains(&id), "{}", stdout(&text));

    // On the embedded engine there is no token to name.
    let embedded = Session::embedded();
    let config = embedded.config("examples/gigakick");
    embedded.run(&["apply", config.to_str().unwrap(), "--yes"]);
    let history = embedded.run(&["history", "--format", "json"]);
    let records: serde_json::Value = serde_json::from_str(&stdout(&history)).unwrap();
    assert!(records[0].get("token").is_none(), "{records}");
}
