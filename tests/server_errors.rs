//! Every error the server sends is an RFC 9457 problem (`application/problem+json`)
//! whose detail says what went wrong: bad path and query parameters, unknown
//! routes, wrong methods, requests over the time limit. And a token's scope is
//! checked before the request body is read, let alone parsed.

mod support;

use std::time::Duration;

use partnerops::problem::Problem;
use support::raw::{self, RawResponse};
use support::server::TestServer;

fn parse_problem(status: u16, content_type: Option<&str>, body: &[u8], detail: &str) -> Problem {
    assert_eq!(
        content_type,
        Some("application/problem+json"),
        "{status}: {}",
        String::from_utf8_lossy(body)
    );
    let problem: Problem = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not a problem ({e}): {}", String::from_utf8_lossy(body)));
    assert_eq!(problem.status, status);
    assert!(
        problem.kind.starts_with("urn:partnerops:problem:"),
        "{problem:?}"
    );
    assert!(
        problem.detail.contains(detail),
        "expected {detail:?} in the detail {:?}",
        problem.detail
    );
    problem
}

async fn assert_problem(response: reqwest::Response, status: u16, detail: &str) -> Problem {
    assert_eq!(response.status().as_u16(), status, "{}", response.url());
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.bytes().await.unwrap();
    parse_problem(status, content_type.as_deref(), &body, detail)
}

fn assert_raw_problem(response: &RawResponse, status: u16, detail: &str) -> Problem {
    assert_eq!(
        response.status,
        status,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    parse_problem(
        status,
        response.header("content-type"),
        &response.body,
        detail,
    )
}

#[tokio::test]
async fn bad_parameters_unknown_routes_and_wrong_methods_are_problems() {
    let mut server = TestServer::start().await;
    let http = reqwest::Client::new();
    let cases: [(&str, &str, u16, &str); 13] = [
        (
            "GET",
            "/v1/programs/x/changesets/abc",
            400,
            "the revision in the path must be a whole number, not `abc`",
        ),
        (
            "GET",
            "/v1/programs/x/changesets/-1",
            400,
            "must be a whole number, not `-1`",
        ),
        (
            "GET",
            "/v1/programs/x/partners?limit=abc",
            400,
            "invalid query string: limit",
        ),
        (
            "GET",
            "/v1/programs/x/commissions?partner=a&partner=b",
            400,
            "invalid query string: duplicate field `partner`",
        ),
        (
            "GET",
            "/v1/programs/%FF/config",
            400,
            "program: invalid key `%FF`",
        ),
        (
            "GET",
            "/v1/programs/BAD%20KEY!/changesets",
            400,
            "program: invalid key `BAD%20KEY!`",
        ),
        (
            "GET",
            "/v1/programs//config",
            400,
            "program: key must not be empty",
        ),
        ("GET", "/v1/programs/x/partners/%FF", 400, "UTF-8"),
        (
            "DELETE",
            "/v1/programs",
            405,
            "DELETE is not allowed on /v1/programs",
        ),
        (
            "PUT",
            "/v1/programs/x/changesets",
            405,
            "PUT is not allowed on /v1/programs/x/changesets",
        ),
        ("GET", "/v2/nothing", 404, "no route for GET /v2/nothing"),
        (
            "GET",
            "/v1/programs/x/config/",
            404,
            "no route for GET /v1/programs/x/config/",
        ),
        (
            "POST",
            "/v1/programs/x/partners",
            405,
            "POST is not allowed",
        ),
    ];
    for (method, path, status, detail) in cases {
        let response = http
            .request(method.parse().unwrap(), format!("{}{path}", server.url))
            .bearer_auth(&server.admin)
            .send()
            .await
            .unwrap();
        if status == 405 {
            assert!(
                response.headers().contains_key(reqwest::header::ALLOW),
                "{method} {path}: a 405 says what is allowed"
            );
        }
        assert_problem(response, status, detail).await;
    }
    // Authentication comes first: without a token even a bad path is a 401.
    let response = http
        .get(format!("{}/v1/programs/x/changesets/abc", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers().get(reqwest::header::WWW_AUTHENTICATE),
        Some(&reqwest::header::HeaderValue::from_static("Bearer"))
    );
    assert_problem(response, 401, "bearer token").await;
    // The scheme is case-insensitive.
    let response = http
        .get(format!("{}/v1/programs", server.url))
        .header("authorization", format!("bearer {}", server.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_a_503_problem() {
    let mut server = TestServer::start_with_timeout(Duration::from_millis(300)).await;
    // The body is promised and never sent: the handler waits for it until the
    // time limit stops it.
    let head = format!(
        "POST /v1/programs/x/changesets HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100",
        server.addr, server.admin
    );
    let response = raw::exchange(server.addr, &head, b"", Duration::from_secs(10)).await;
    let problem = assert_raw_problem(
        &response,
        503,
        "the request took longer than 0.3 s and was stopped",
    );
    assert_eq!(problem.kind, "urn:partnerops:problem:timeout");
    // The engine still serves, and nothing was written.
    let snapshot =
        partnerops::client::HttpReader::new(&server.url, Some(server.admin.clone())).unwrap();
    use partnerops::client::Reader;
    assert_eq!(snapshot.programs().await.unwrap(), []);
    server.stop().await;
}

#[tokio::test]
async fn scopes_are_checked_before_the_body_is_read() {
    let mut server = TestServer::start().await;
    let read = server.token(&["config:read"]).await;
    let write = server.token(&["config:write"]).await;
    let data = server.token(&["data:read"]).await;
    let events = server.token(&["events:write"]).await;
    // Every route with a body, and a token without the scope it needs.
    let cases = [
        ("/v1/programs/x/changesets", &read, "config:write"),
        ("/v1/tokens", &write, "admin"),
        ("/v1/programs/x/events", &data, "events:write"),
        ("/v1/programs/x/impact", &events, "config:read"),
        ("/v1/programs/x/what-if", &events, "config:read"),
        ("/v1/sweep", &read, "admin"),
    ];
    let head = |path: &str, token: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 1048576",
            server.addr
        )
    };
    // The server waits for a body that is promised and never sent; a refusal
    // that comes anyway was decided without reading it.
    for (path, token, scope) in cases {
        let response =
            raw::exchange(server.addr, &head(path, token), b"", Duration::from_secs(5)).await;
        assert_raw_problem(
            &response,
            403,
            &format!("this token lacks the `{scope}` scope"),
        );
    }
    // The control: with the scope, the same request waits for its body.
    let waited = raw::try_exchange(
        server.addr,
        &head("/v1/programs/x/changesets", &server.admin),
        b"",
        Duration::from_millis(500),
    )
    .await;
    assert!(
        waited.is_none(),
        "an allowed request answered without its body"
    );

    // A body that is not even JSON: the missing scope is what is reported.
    let response = reqwest::Client::new()
        .post(format!("{}/v1/programs/x/changesets", server.url))
        .bearer_auth(&read)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "config:write").await;
    server.stop().await;
}
