//! The dashboard's sign-in and access rules, and `/metrics`, against the
//! real server on 127.0.0.1:0 with the gigakick example loaded over HTTP.
//! (The pages in a browser: tests/browser/, run by .ci/run.)

mod support;

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use support::cli::{Session, code, stderr, stdout};
use support::server::TestServer;

const PROGRAM: &str = "gigakick";

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The server with the gigakick example applied and its events sent, over
/// HTTP.
async fn loaded() -> (TestServer, Session) {
    let server = TestServer::start().await;
    let session = Session::http(&server);
    let config = session.config("examples/gigakick");
    let applied = session.run(&["apply", config.to_str().unwrap(), "--yes"]);
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    let events = config.join("events.ndjson");
    let sent = session.run(&["events", "send", events.to_str().unwrap()]);
    assert_eq!(code(&sent), 0, "{}", stderr(&sent));
    (server, session)
}

async fn sign_in(url: &str, token: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = client()
        .post(format!("{url}/login"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("token", token)
                .finish(),
        );
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap()
}

fn set_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// GET as a browser with the session cookie of `token`.
async fn page(url: &str, token: &str, path: &str) -> reqwest::Response {
    client()
        .get(format!("{url}{path}"))
        .header(COOKIE, format!("partnerops_session={token}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_keeps_the_token_in_a_strict_http_only_cookie_never_in_a_url() {
    let server = TestServer::start().await;
    let url = &server.url;

    // Signed out, every page leads to the sign-in form, which posts.
    let home = client().get(format!("{url}/")).send().await.unwrap();
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()[LOCATION], "/login");
    let form = client()
        .get(format!("{url}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains(r#"method="post" action="/login""#), "{form}");
    assert!(form.contains(r#"type="password" name="token""#), "{form}");

    let r = sign_in(url, &server.admin, &[]).await;
    assert_eq!(r.status(), 303);
    let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(location, "/");
    assert!(!location.contains(&server.admin));
    let cookie = set_cookie(&r).expect("a session cookie");
    assert!(cookie.starts_with("partnerops_session="), "{cookie}");
    assert!(cookie.contains("; HttpOnly"), "{cookie}");
    assert!(cookie.contains("; SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("; Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");

    // Behind a TLS-terminating proxy, the cookie is Secure.
    let r = sign_in(url, &server.admin, &[("x-forwarded-proto", "https")]).await;
    assert!(set_cookie(&r).unwrap().contains("; Secure"));

    // A token in the query string signs nobody in.
    let r = client()
        .get(format!("{url}/login?token={}", server.admin))
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&r).is_none());
    let r = client()
        .get(format!("{url}/?token={}", server.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[LOCATION], "/login");

    // A bad token: 401, the form again, no cookie.
    let r = sign_in(url, "po_not-a-token", &[]).await;
    assert_eq!(r.status(), 401);
    assert!(set_cookie(&r).is_none());
    assert!(r.text().await.unwrap().contains("not valid"));

    // A stale cookie is cleared; signing out clears it too.
    let r = page(url, "po_revoked-or-never", "/").await;
    assert_eq!(r.headers()[LOCATION], "/login");
    assert!(set_cookie(&r).unwrap().contains("Max-Age=0"));
    let r = client().post(format!("{url}/logout")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(set_cookie(&r).unwrap().contains("Max-Age=0"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cookie_is_secure_when_served_over_tls() {
    partnerops::client::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let engine = partnerops::engine::Engine::open(&dir.path().join("e.db"))
        .await
        .unwrap();
    let admin = engine
        .create_token(vec![partnerops::engine::access::Scope::Admin], None)
        .await
        .unwrap();
    let options = partnerops::server::Options {
        tls: true,
        ..partnerops::server::Options::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The router as `serve --tls-cert` builds it; spoken to in plain HTTP
    // here, since only the cookie is under test.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(partnerops::server::serve(
        listener,
        partnerops::server::router_with(engine, &options),
        async {
            let _ = stopped.await;
        },
    ));
    let r = sign_in(&format!("http://{addr}"), &admin, &[]).await;
    let cookie = set_cookie(&r).unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("; HttpOnly; SameSite=Strict"), "{cookie}");
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_need_data_read_and_a_partner_token_opens_only_its_portal() {
    let (server, session) = loaded().await;
    let url = &server.url;
    let admin = &server.admin;
    let base = format!("/programs/{PROGRAM}");
    let listed = session.run(&["partners", "--format", "json"]);
    let partners: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let own = partners[0]["key"].as_str().unwrap().to_owned();
    let other = partners[1]["key"].as_str().unwrap().to_owned();

    let r = page(url, admin, "/").await;
    assert_eq!(r.headers()[LOCATION].to_str().unwrap(), base);
    for path in [
        base.clone(),
        format!("{base}/partners?tag=gold&sort=revenue&dir=desc"),
        format!("{base}/partners/{own}"),
        format!("{base}/partners/{own}/portal"),
        format!("{base}/ledger?status=approved"),
        format!("{base}/payouts"),
        format!("{base}/transactions?which=unmatched"),
        format!("{base}/products?by=partner"),
        format!("{base}/history"),
        format!("{base}/history/1"),
        format!("{base}/deliveries"),
    ] {
        let r = page(url, admin, &path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        let html = r.text().await.unwrap();
        assert!(html.contains(r#"<html lang="en">"#), "{path}");
        // Nothing is loaded from elsewhere, and no script at all.
        assert!(!html.contains("<script"), "{path}");
        assert!(
            !html.contains(r#"src="http"#) && !html.contains(r#"href="http"#),
            "{path}: {html}"
        );
    }
    // Bad filters are a 400 page, an unknown partner a 404 page.
    assert_eq!(
        page(url, admin, &format!("{base}/partners?sort=shoe-size"))
            .await
            .status(),
        400
    );
    assert_eq!(
        page(url, admin, &format!("{base}/partners/nobody"))
            .await
            .status(),
        404
    );
    assert_eq!(
        page(url, admin, &format!("{base}/ledger?since=yesterday"))
            .await
            .status(),
        400
    );

    // Lines approved by October paid, so every status has lines.
    let paid = session.run(&[
        "payouts",
        "create",
        "--as-of",
        "2026-10-01T00:00:00Z",
        "--yes",
    ]);
    assert_eq!(code(&paid), 0, "{}", stderr(&paid));
    // The ledger's CSV is `partnerops commissions --format csv`, and the
    // page's totals are the command's, for each status too.
    let csv = page(url, admin, &format!("{base}/ledger.csv")).await;
    assert!(
        csv.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let cli_csv = session.run(&["commissions", "--format", "csv"]);
    assert_eq!(csv.text().await.unwrap(), stdout(&cli_csv));
    let cli_text = stdout(&session.run(&["commissions"]));
    let total = cli_text.lines().last().unwrap();
    let (lines, net) = total
        .strip_suffix(" in all")
        .and_then(|t| t.split_once(" lines, "))
        .unwrap_or_else(|| panic!("{total}"));
    let html = page(url, admin, &format!("{base}/ledger"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!(r#"<dd id="total-lines">{lines}</dd>"#)),
        "{html}"
    );
    assert!(
        html.contains(&format!(r#"<dd id="total-net">{net}</dd>"#)),
        "{html}"
    );
    for status in ["pending", "approved", "paid"] {
        let cli_text = stdout(&session.run(&["commissions", "--status", status]));
        let total = cli_text.lines().last().unwrap();
        let (lines, net) = total
            .strip_suffix(" in all")
            .and_then(|t| t.split_once(" lines, "))
            .unwrap_or_else(|| panic!("{total}"));
        assert_ne!(lines, "0", "{status}: the example has lines of each status");
        let html = page(url, admin, &format!("{base}/ledger?status={status}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains(&format!(r#"<dd id="total-lines">{lines}</dd>"#)),
            "{status}"
        );
        assert!(
            html.contains(&format!(r#"<dd id="total-net">{net}</dd>"#)),
            "{status}"
        );
        assert!(
            html.contains(&format!(r#"<dd id="total-{status}">{net}</dd>"#)),
            "{status}"
        );
    }

    // A data:read token without admin reads the pages too; events:write does not.
    let reader = server.token(&["data:read"]).await;
    assert_eq!(
        page(url, &reader, &format!("{base}/ledger")).await.status(),
        200
    );
    let writer = server.token(&["events:write"]).await;
    assert_eq!(page(url, &writer, &base).await.status(), 403);

    // A partner token: its portal, and nothing else.
    let partner = server.token(&[&format!("partner:{own}")]).await;
    let r = page(url, &partner, "/").await;
    assert_eq!(
        r.headers()[LOCATION].to_str().unwrap(),
        format!("{base}/portal")
    );
    let portal = page(url, &partner, &format!("{base}/portal")).await;
    assert_eq!(portal.status(), 200);
    let portal = portal.text().await.unwrap();
    assert!(portal.contains(&format!("Portal of {own}")));
    assert!(
        !portal.contains(&other),
        "another partner's key on the portal"
    );
    assert_eq!(
        page(url, &partner, &format!("{base}/partners/{own}/portal"))
            .await
            .status(),
        200
    );
    for path in [
        format!("{base}/partners/{other}"),
        format!("{base}/partners/{other}/portal"),
        format!("{base}/partners/{own}"),
        format!("{base}/partners"),
        base.clone(),
        format!("{base}/ledger"),
        format!("{base}/ledger.csv"),
        format!("{base}/payouts"),
        format!("{base}/history/1"),
        format!("{base}/deliveries"),
    ] {
        let r = page(url, &partner, &path).await;
        assert_eq!(r.status(), 403, "{path}");
        let body = r.text().await.unwrap();
        assert!(!body.contains(&other), "{path} leaks {other}");
    }
    // A token bound to another program reaches none of this one's pages.
    let elsewhere = server.token_for(Some("another"), &["data:read"]).await;
    assert_eq!(page(url, &elsewhere, &base).await.status(), 403);
}

/// The value of the series whose line starts with `series` (name and
/// labels as rendered), 0 when absent.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

async fn metrics(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut r = client().get(format!("{url}/metrics"));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_need_data_read_and_count_events_applies_sweeps_and_requests() {
    let (server, session) = loaded().await;
    let url = &server.url;
    assert_eq!(metrics(url, None).await.status(), 401);
    let writer = server.token(&["events:write"]).await;
    assert_eq!(metrics(url, Some(&writer)).await.status(), 403);
    let partner = server.token(&["partner:alice-agency"]).await;
    assert_eq!(metrics(url, Some(&partner)).await.status(), 403);
    let reader = server.token(&["data:read"]).await;

    let before = metrics(url, Some(&reader)).await;
    assert_eq!(before.status(), 200);
    assert!(
        before.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let before = before.text().await.unwrap();

    // One accepted, one duplicate, one rejected, over HTTP.
    let batch = [
        r#"{"id":"metrics-1","type":"partner.joined","at":"2026-06-01T00:00:00Z","partner":{"key":"metrics-partner"}}"#,
        r#"{"id":"metrics-1","type":"partner.joined","at":"2026-06-01T00:00:00Z","partner":{"key":"metrics-partner"}}"#,
        r#"{"id":"metrics-2","type":"transaction.refunded","at":"2026-06-02T00:00:00Z","refund":{"key":"r","transaction":"t","amount":"-5"}}"#,
    ]
    .join("\n");
    let sent = client()
        .post(format!("{url}/v1/programs/{PROGRAM}/events"))
        .bearer_auth(&server.admin)
        .header(CONTENT_TYPE, "application/x-ndjson")
        .body(batch)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let report: serde_json::Value = sent.json().await.unwrap();
    assert_eq!(report["accepted"], 1, "{report}");
    let swept = client()
        .post(format!("{url}/v1/sweep?program={PROGRAM}"))
        .bearer_auth(&server.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(swept.status(), 200);
    let _ = session.run(&["partners"]);

    let after = metrics(url, Some(&reader)).await.text().await.unwrap();
    let grew = |series: &str| metric(&after, series) - metric(&before, series);
    // Other tests in this binary share the process's recorder: at least.
    assert!(
        grew(r#"partnerops_events_total{type="partner.joined",outcome="accepted"}"#) >= 1.0,
        "{after}"
    );
    assert!(
        grew(r#"partnerops_events_total{type="partner.joined",outcome="duplicate"}"#) >= 1.0,
        "{after}"
    );
    let rejected = after
        .lines()
        .filter(|l| {
            l.starts_with("partnerops_events_total{") && l.contains(r#"outcome="rejected""#)
        })
        .count();
    assert!(rejected >= 1, "{after}");
    assert!(
        metric(
            &after,
            "partnerops_apply_duration_seconds_count{outcome=\"applied\"}"
        ) >= 1.0,
        "{after}"
    );
    assert!(
        metric(&after, r#"partnerops_applies_total{outcome="applied"}"#) >= 1.0,
        "{after}"
    );
    assert!(
        grew("partnerops_sweep_duration_seconds_count") >= 1.0,
        "{after}"
    );
    assert!(
        grew(
            r#"partnerops_http_requests_total{method="POST",route="/v1/programs/{program}/events",status="200"}"#
        ) >= 1.0,
        "{after}"
    );
    assert!(
        metric(
            &after,
            r#"partnerops_http_requests_total{method="GET",route="/metrics",status="403"}"#
        ) >= 2.0,
        "{after}"
    );
    // Routes are templates: no key or raw path becomes a label.
    assert!(
        !after.contains(&format!("route=\"/v1/programs/{PROGRAM}")),
        "{after}"
    );
    assert!(
        after.contains("# TYPE partnerops_events_total counter"),
        "{after}"
    );
}

/// Rows of the first table after `caption` in a page.
fn rows_after(html: &str, caption: &str) -> usize {
    let at = html.find(caption).unwrap_or_else(|| panic!("no {caption}"));
    let table = &html[at..];
    let table = &table[..table.find("</table>").unwrap()];
    table.matches("<tr>").count() - 1
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payout_of_many_partners_is_shown_a_page_at_a_time() {
    use partnerops::client::{Embedded, Reader, Writer};
    use partnerops::engine::event::BatchFormat;

    let server = TestServer::start().await;
    // 250 partners, each referring a customer who buys: most of them
    // earn from one of the 100 triggers and are payable.
    let config = partnerops::sample::runtime_config(0, 100, 5);
    let embedded = Embedded::new(server.engine.clone());
    let p = partnerops::plan::diff(&config, &embedded.snapshot("bench").await.unwrap());
    embedded
        .apply("bench", &p.changeset("test".into(), None, None))
        .await
        .unwrap();
    let start = "2026-01-01T00:00:00Z".parse().unwrap();
    let events = partnerops::sample::events(1_000, 250, start);
    let report = server
        .engine
        .ingest("bench", &events.join("\n"), BatchFormat::Ndjson)
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let plan = server
        .engine
        .payout_plan("bench", chrono::Utc::now())
        .await
        .unwrap();
    let payable = plan.partners.len();
    assert!(payable > 200, "{payable} payable");

    let url = &server.url;
    let first = page(url, &server.admin, "/programs/bench/payouts").await;
    assert_eq!(first.status(), 200);
    let first = first.text().await.unwrap();
    assert_eq!(rows_after(&first, "Would be paid"), 100);
    assert!(first.contains(&format!("Would be paid ({payable} partners)")));
    assert!(first.contains("Page 1 of 3"), "{first}");
    assert!(first.contains("/programs/bench/payouts?page=2"));
    // The first page lists the first partners, the last the rest.
    assert!(first.contains(&format!(">{}<", plan.partners[0].partner)));
    assert!(!first.contains(&format!(">{}<", plan.partners[100].partner)));
    let last = page(url, &server.admin, "/programs/bench/payouts?page=3")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(rows_after(&last, "Would be paid"), payable - 200);
    assert!(last.contains("Page 3 of 3"));
    assert!(last.contains(&format!(">{}<", plan.partners[payable - 1].partner)));
    // Past the last page: the last page.
    let past = page(url, &server.admin, "/programs/bench/payouts?page=9")
        .await
        .text()
        .await
        .unwrap();
    assert!(past.contains("Page 3 of 3"));
    let bad = page(url, &server.admin, "/programs/bench/payouts?page=0").await;
    assert_eq!(bad.status(), 400);
}
