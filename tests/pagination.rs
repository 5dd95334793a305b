//! Every list a page at a time: `cursor` and `next_cursor`, `limit` from 1 to
//! 1000; the CLI walks every page.

mod support;

use support::cli::{Engine, Session, code, stderr, stdout};
use support::server::TestServer;

async fn get(server: &TestServer, path: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", server.url))
        .bearer_auth(&server.admin)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Every page of `path` (which has a `?`) with `limit`, and the keys under
/// `field` in order.
async fn walk(server: &TestServer, path: &str, limit: usize, field: &str) -> (usize, Vec<String>) {
    let mut cursor: Option<String> = None;
    let (mut pages, mut keys) = (0, Vec::new());
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&limit={limit}&cursor={c}"),
            None => format!("{path}&limit={limit}"),
        };
        let (status, page) = get(server, &url).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        keys.extend(items.iter().map(|i| i[field].to_string()));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (pages, keys),
        }
    }
}

fn joins(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"id\":\"j{i}\",\"type\":\"partner.joined\",\"at\":\"2026-01-01T00:00:00Z\",\"partner\":{{\"key\":\"p{i:05}\"}}}}\n"
            )
        })
        .collect()
}

/// `n` referral signups for partner p00000: the first moves its tags.
fn signups(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"id\":\"s{i}\",\"type\":\"customer.signed_up\",\"at\":\"2026-01-02T00:00:{:02}Z\",\"customer\":{{\"key\":\"c{i}\"}},\"partner\":{{\"key\":\"p00000\"}}}}\n",
                i % 60
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_page_with_cursors_and_refuse_bad_ones() {
    let server = TestServer::start().await;
    let session = Session::http(&server);
    let config = session.config("examples/gigakick");
    assert_eq!(
        code(&session.run(&["apply", config.to_str().unwrap(), "--yes"])),
        0
    );
    std::fs::write(session.path("joins.ndjson"), joins(25)).unwrap();
    let sent = session.run(&["events", "send", "joins.ndjson"]);
    assert_eq!(code(&sent), 0, "{}", stderr(&sent));

    let (pages, keys) = walk(&server, "/v1/programs/gigakick/partners?", 7, "key").await;
    assert_eq!(pages, 4);
    let expected: Vec<String> = (0..25).map(|i| format!("\"p{i:05}\"")).collect();
    assert_eq!(keys, expected);
    // A tag filter pages the same way (every partner got `new-partner`).
    let (pages, tagged) = walk(
        &server,
        "/v1/programs/gigakick/partners?tag=new-partner",
        10,
        "key",
    )
    .await;
    assert_eq!((pages, tagged.len()), (3, 25));

    // Changesets, newest first.
    for i in 0..4 {
        let extra = session.path(&format!("config/extra{i}.yaml"));
        std::fs::write(extra, format!("tags:\n  - {{ key: extra-{i} }}\n")).unwrap();
        assert_eq!(
            code(&session.run(&["apply", config.to_str().unwrap(), "--yes"])),
            0
        );
    }
    let (pages, revisions) =
        walk(&server, "/v1/programs/gigakick/changesets?", 2, "revision").await;
    assert_eq!(pages, 3);
    assert_eq!(revisions, ["5", "4", "3", "2", "1"]);
    let (_, programs) = walk(&server, "/v1/programs?", 1, "key").await;
    assert_eq!(programs, ["\"gigakick\""]);

    // Bad limits and cursors are 400 problems.
    for path in [
        "/v1/programs/gigakick/partners?limit=0",
        "/v1/programs/gigakick/partners?limit=1001",
        "/v1/programs/gigakick/partners?cursor=nothex",
        "/v1/programs/gigakick/changesets?cursor=00",
        "/v1/tokens?limit=-1",
    ] {
        let (status, problem) = get(&server, path).await;
        assert_eq!(status, 400, "{path}: {problem}");
    }
    let (_, first) = get(&server, "/v1/programs/gigakick/partners?limit=1").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (status, problem) = get(
        &server,
        &format!("/v1/programs/gigakick/changesets?cursor={cursor}"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not one this list gave out")
    );
    let (status, _) = get(
        &server,
        &format!("/v1/programs/gigakick/partners?tag=new-partner&cursor={cursor}"),
    )
    .await;
    assert_eq!(
        status, 400,
        "a cursor of all partners is not one of a tag's"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tag_histories_page_in_the_detail_and_on_their_own() {
    let server = TestServer::start().await;
    let session = Session::http(&server);
    let config = session.config("examples/gigakick");
    assert_eq!(
        code(&session.run(&["apply", config.to_str().unwrap(), "--yes"])),
        0
    );
    // Joining tags the partner, the first signup moves tags: a short
    // history, paged one change at a time.
    std::fs::write(session.path("events.ndjson"), joins(1) + &signups(3)).unwrap();
    assert_eq!(code(&session.run(&["events", "send", "events.ndjson"])), 0);
    let (_, detail) = get(&server, "/v1/programs/gigakick/partners/p00000").await;
    let all = detail["tag_history"].as_array().unwrap().len();
    assert!(all >= 2, "{detail}");
    assert!(detail.get("tag_history_next_cursor").is_none(), "{detail}");
    let (pages, changes) = walk(
        &server,
        "/v1/programs/gigakick/partners/p00000/tag-history?",
        1,
        "tag",
    )
    .await;
    assert_eq!((pages, changes.len()), (all, all));
    let expected: Vec<String> = detail["tag_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["tag"].to_string())
        .collect();
    assert_eq!(changes, expected);
    let (status, _) = get(&server, "/v1/programs/gigakick/partners/nobody/tag-history").await;
    assert_eq!(status, 404);
    let (status, page) = get(&server, "/v1/programs/gigakick/customers/c0/tag-history").await;
    assert_eq!(status, 200, "{page}");
}

/// 2,500 partners are three of the CLI's pages: it prints all of them, in
/// order, as text and as one JSON array, embedded and over HTTP.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_walks_every_page() {
    let server = TestServer::start().await;
    for session in [Session::embedded(), Session::http(&server)] {
        let config = session.config("examples/gigakick");
        assert_eq!(
            code(&session.run(&["apply", config.to_str().unwrap(), "--yes"])),
            0
        );
        std::fs::write(session.path("joins.ndjson"), joins(2_500)).unwrap();
        let sent = session.run(&["events", "send", "joins.ndjson"]);
        assert_eq!(code(&sent), 0, "{}", stderr(&sent));
        let text = session.run(&["partners"]);
        assert_eq!(code(&text), 0, "{}", stderr(&text));
        let printed = stdout(&text);
        let lines: Vec<&str> = printed.lines().skip(1).collect();
        assert_eq!(lines.len(), 2_500);
        assert!(lines[0].starts_with("p00000 ") && lines[2_499].starts_with("p02499 "));
        assert!(stderr(&text).contains("2500 partners"), "{}", stderr(&text));
        let json = session.run(&["partners", "--format", "json", "--tag", "new-partner"]);
        let all: Vec<serde_json::Value> = serde_json::from_str(&stdout(&json)).unwrap();
        assert_eq!(all.len(), 2_500);
        assert_eq!(all[1_000]["key"], "p01000");
        if let Engine::Http { .. } = session.engine {
            let log = server.requests.lock().unwrap();
            let pages = log.iter().filter(|(_, p)| p.ends_with("/partners")).count();
            assert!(pages >= 6, "two listings of three pages: {pages}");
        }
    }
}

/// What schemathesis found the document and the server disagreeing on.
#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_says_what_the_server_does() {
    let doc = partnerops::server::openapi::document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        for p in get["parameters"].as_array().into_iter().flatten() {
            if p["name"] == "limit" {
                assert_eq!(p["schema"]["minimum"], 1, "{path}");
                assert_eq!(p["schema"]["maximum"], 1000, "{path}");
            }
        }
    }
    let events = &doc["paths"]["/v1/programs/{program}/events"]["post"]["requestBody"]["content"];
    assert!(events["application/json"].is_object() && events["application/x-ndjson"].is_object());
    for path in [
        "/v1/programs/{program}/partners",
        "/v1/programs/{program}/commissions",
    ] {
        assert!(
            doc["paths"][path]["get"]["responses"]["404"].is_object(),
            "{path}"
        );
    }
    assert!(
        doc["paths"]["/v1/programs"]["get"]["responses"]["429"]["headers"]["Retry-After"]
            .is_object()
    );

    let server = TestServer::start().await;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/sweep?program=../etc", server.url))
        .bearer_auth(&server.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}
