//! `/readyz`: whether the engine behind a server can serve, for load balancers
//! and the Docker health check. No token, like `/healthz`.

mod support;

use support::server::TestServer;

#[tokio::test]
async fn ready_when_the_store_answers_and_is_migrated_else_503() {
    let mut server = TestServer::start().await;
    let url = format!("{}/readyz", server.url);
    let ready = reqwest::get(&url).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready\n");

    // A migration the store no longer has on record: not ready.
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", server.db.display()))
        .await
        .unwrap();
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&db)
    .await
    .unwrap();
    let missing = reqwest::get(&url).await.unwrap();
    assert_eq!(missing.status(), 503);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(problem["type"], "urn:partnerops:problem:not_ready");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("is not applied"),
        "{problem}"
    );

    // A store whose schema is gone does not answer.
    sqlx::query("DROP TABLE _sqlx_migrations")
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 503);
    db.close().await;
    server.stop().await;
}

#[test]
fn readyz_is_in_the_openapi_document_without_security() {
    let doc = partnerops::server::openapi::document();
    let get = &doc["paths"]["/readyz"]["get"];
    assert_eq!(get["security"], serde_json::json!([]));
    assert!(get["responses"]["503"].is_object());
}
