//! The engine over HTTP, driven with the real client against the real server on
//! loopback, and embedded: snapshots, atomic changesets, stale plans, history,
//! tokens and scopes, garbage input, concurrency, retries, graceful shutdown.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use partnerops::client::{Embedded, HttpReader, HttpWriter, Reader, Writer};
use partnerops::engine::changeset::{Change, Changeset};
use partnerops::engine::{Engine, Error};
use partnerops::spec::{Config, Kind, Resource, Tag};
use support::server::TestServer;

fn creates(config: &Config) -> Vec<Change> {
    config
        .resources()
        .map(|resource| Change::Create { resource })
        .collect()
}

fn changeset(base_revision: u64, changes: Vec<Change>) -> Changeset {
    Changeset {
        base_revision,
        changes,
        author: "tester".to_owned(),
        message: Some("test change".to_owned()),
        git_commit: Some("0123abcd".to_owned()),
    }
}

fn gigakick() -> Config {
    partnerops::config::load(std::path::Path::new("examples/gigakick")).unwrap()
}

fn tag(key: &str) -> Resource {
    Resource::Tag(Tag {
        key: key.to_owned(),
        name: None,
        description: None,
        previously: Vec::new(),
    })
}

#[tokio::test]
async fn snapshot_changeset_history_over_http() {
    let mut server = TestServer::start().await;
    let client = HttpWriter::new(&server.url, Some(server.admin.clone())).unwrap();

    let empty = client.snapshot("gigakick").await.unwrap();
    assert_eq!((empty.revision, empty.resources.len()), (0, 0));

    let config = gigakick();
    let record = client
        .apply("gigakick", &changeset(0, creates(&config)))
        .await
        .unwrap();
    assert_eq!((record.revision, record.base_revision), (1, 0));
    assert_eq!(record.summary.create, config.len());

    let snapshot = client.snapshot("gigakick").await.unwrap();
    assert_eq!(snapshot.revision, 1);
    assert_eq!(snapshot.config().unwrap(), config);

    // Update one tag, delete another, in one changeset.
    let changes = vec![
        Change::Update {
            key: "dormant".into(),
            resource: Resource::Tag(Tag {
                key: "dormant".into(),
                name: Some("Dormant".into()),
                description: None,
                previously: Vec::new(),
            }),
        },
        Change::Delete {
            kind: Kind::Automation,
            key: "affiliate-customers".into(),
        },
        Change::Delete {
            kind: Kind::Tag,
            key: "affiliate-customer".into(),
        },
    ];
    let second = client
        .apply("gigakick", &changeset(1, changes))
        .await
        .unwrap();
    assert_eq!(second.revision, 2);

    let history = client.history("gigakick").await.unwrap();
    assert_eq!(
        history.iter().map(|r| r.revision).collect::<Vec<_>>(),
        [2, 1]
    );
    assert_eq!(history[0].author, "tester");
    assert_eq!(history[0].message.as_deref(), Some("test change"));
    assert_eq!(history[0].git_commit.as_deref(), Some("0123abcd"));
    assert_eq!(
        (history[0].summary.update, history[0].summary.delete),
        (1, 2)
    );
    assert!(
        history[0].changes.is_empty(),
        "listings leave the changes out"
    );

    let full = client.changeset("gigakick", 2).await.unwrap();
    assert_eq!(full.changes.len(), 3);
    assert!(matches!(
        client.changeset("gigakick", 9).await,
        Err(Error::NotFound(_))
    ));

    let programs = client.programs().await.unwrap();
    assert_eq!(programs.len(), 1);
    assert_eq!(
        (programs[0].key.as_str(), programs[0].revision),
        ("gigakick", 2)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_stale_changeset_is_refused_with_409_and_changes_nothing() {
    let mut server = TestServer::start().await;
    let client = HttpWriter::new(&server.url, Some(server.admin.clone())).unwrap();
    client
        .apply("gigakick", &changeset(0, creates(&gigakick())))
        .await
        .unwrap();

    let late = changeset(
        0,
        vec![Change::Create {
            resource: tag("late"),
        }],
    );
    match client.apply("gigakick", &late).await {
        Err(Error::Stale {
            base: 0,
            current: 1,
        }) => {}
        other => panic!("expected a stale refusal, got {other:?}"),
    }
    let raw = reqwest::Client::new()
        .post(format!("{}/v1/programs/gigakick/changesets", server.url))
        .bearer_auth(&server.admin)
        .json(&late)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 409);
    let snapshot = client.snapshot("gigakick").await.unwrap();
    assert_eq!(snapshot.revision, 1);
    assert!(!snapshot.resources.iter().any(|r| r.key() == "late"));
    server.stop().await;
}

#[tokio::test]
async fn a_changeset_that_would_break_the_config_is_refused_whole() {
    let engine = Engine::open(&tempfile::tempdir().unwrap().keep().join("e.db"))
        .await
        .unwrap();
    let client = Embedded::new(engine);
    client
        .apply("gigakick", &changeset(0, creates(&gigakick())))
        .await
        .unwrap();

    // A good create next to a delete that leaves an automation pointing nowhere.
    let bad = changeset(
        1,
        vec![
            Change::Create {
                resource: tag("fine"),
            },
            Change::Delete {
                kind: Kind::Tag,
                key: "gold".into(),
            },
            Change::Delete {
                kind: Kind::Tag,
                key: "no-such-tag".into(),
            },
        ],
    );
    let Err(Error::Invalid(errors)) = client.apply("gigakick", &bad).await else {
        panic!("expected the changeset to be refused");
    };
    assert!(
        errors
            .iter()
            .any(|e| e.contains("tag `gold` is not declared")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("no-such-tag")),
        "{errors:?}"
    );
    let snapshot = client.snapshot("gigakick").await.unwrap();
    assert_eq!(snapshot.revision, 1);
    assert!(!snapshot.resources.iter().any(|r| r.key() == "fine"));
}

/// The refusal's reasons, or a panic saying what happened instead.
fn refusal(outcome: Result<impl std::fmt::Debug, Error>) -> Vec<String> {
    match outcome {
        Err(Error::Invalid(errors)) => errors,
        other => panic!("expected a 422 refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_changeset_needs_a_good_program_key_its_program_and_a_commit_id() {
    let mut server = TestServer::start().await;
    let http = reqwest::Client::new();
    let client = HttpWriter::new(&server.url, Some(server.admin.clone())).unwrap();
    let empty = serde_json::json!({"base_revision": 0, "changes": [], "author": "a"});

    // A key no config could declare, from the path: refused, and no program row.
    let response = http
        .post(format!(
            "{}/v1/programs/has%20space%2F..%0A/changesets",
            server.url
        ))
        .bearer_auth(&server.admin)
        .json(&empty)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let problem: serde_json::Value = response.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("program: invalid key `has%20space%2F..%0A`"),
        "{detail}"
    );
    // The engine itself refuses it too, whoever calls it.
    let errors = refusal(
        Embedded::new(server.engine.clone())
            .apply("has space", &serde_json::from_value(empty.clone()).unwrap())
            .await,
    );
    assert!(
        errors[0].contains("the program key in the path: invalid key `has space`"),
        "{errors:?}"
    );
    // An empty changeset for a good key makes no program either.
    let errors = refusal(
        client
            .apply("fresh", &serde_json::from_value(empty).unwrap())
            .await,
    );
    assert!(
        errors[0].contains("program `fresh` has no config yet"),
        "{errors:?}"
    );
    assert_eq!(client.programs().await.unwrap(), []);
    // The program resource must be the path's program, on create and update.
    let errors = refusal(
        client
            .apply("other", &changeset(0, creates(&gigakick())))
            .await,
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("create program `gigakick` in the changeset of program `other`")),
        "{errors:?}"
    );
    assert_eq!(client.programs().await.unwrap(), []);

    // The commit id: 7 to 64 hex digits.
    for bad in ["0123ab", "not-a-commit", &"a".repeat(65), "0123abc\n"] {
        let mut cs = changeset(0, creates(&gigakick()));
        cs.git_commit = Some(bad.to_owned());
        let errors = refusal(client.apply("gigakick", &cs).await);
        assert!(
            errors[0].contains("is not a commit id: expected 7 to 64 hex digits"),
            "{bad:?}: {errors:?}"
        );
    }
    let mut cs = changeset(0, creates(&gigakick()));
    cs.git_commit = Some("0123abc".to_owned());
    client.apply("gigakick", &cs).await.unwrap();

    let program = gigakick()
        .resources()
        .find(|r| r.kind() == Kind::Program)
        .unwrap();
    let Resource::Program(mut renamed) = program else {
        unreachable!()
    };
    renamed.key = "gigakick-2".into();
    let errors = refusal(
        client
            .apply(
                "gigakick",
                &changeset(
                    1,
                    vec![Change::Update {
                        key: "gigakick".into(),
                        resource: Resource::Program(renamed),
                    }],
                ),
            )
            .await,
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("update program `gigakick-2`")),
        "{errors:?}"
    );
    let errors = refusal(
        client
            .apply(
                "gigakick",
                &changeset(
                    1,
                    vec![Change::Delete {
                        kind: Kind::Program,
                        key: "gigakick".into(),
                    }],
                ),
            )
            .await,
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("leaves program `gigakick` without its program resource")),
        "{errors:?}"
    );
    let programs = client.programs().await.unwrap();
    assert_eq!(
        programs
            .iter()
            .map(|p| (p.key.as_str(), p.revision))
            .collect::<Vec<_>>(),
        [("gigakick", 1)]
    );
    // Nor does an empty changeset move a program that exists.
    let record = client.snapshot("gigakick").await.unwrap();
    let nothing =
        serde_json::json!({"base_revision": record.revision, "changes": [], "author": "a"});
    let errors = refusal(
        client
            .apply("gigakick", &serde_json::from_value(nothing).unwrap())
            .await,
    );
    assert!(errors[0].contains("changes nothing"), "{errors:?}");
    // Nor an update to what a resource already is.
    let same = record.resources[0].clone();
    let errors = refusal(
        client
            .apply(
                "gigakick",
                &changeset(
                    record.revision,
                    vec![Change::Update {
                        key: same.key().to_owned(),
                        resource: same,
                    }],
                ),
            )
            .await,
    );
    assert!(errors[0].contains("changes nothing"), "{errors:?}");
    assert_eq!(
        client.snapshot("gigakick").await.unwrap().revision,
        record.revision
    );

    server.stop().await;
}

#[tokio::test]
async fn renames_apply_as_updates_even_in_chains() {
    let engine = Engine::open(&tempfile::tempdir().unwrap().keep().join("e.db"))
        .await
        .unwrap();
    let client = Embedded::new(engine);
    client
        .apply("gigakick", &changeset(0, creates(&gigakick())))
        .await
        .unwrap();
    // converter → proven while earning → converter: only works if removals go first.
    let mut earning = tag("converter");
    if let Resource::Tag(t) = &mut earning {
        t.previously = vec!["earning".into()];
    }
    let rename = changeset(
        1,
        vec![
            Change::Update {
                key: "converter".into(),
                resource: tag("proven"),
            },
            Change::Update {
                key: "earning".into(),
                resource: earning,
            },
            Change::Update {
                key: "first-sale".into(),
                resource: {
                    let mut a = gigakick()
                        .automations
                        .into_iter()
                        .find(|a| a.key == "first-sale")
                        .unwrap();
                    a.then = vec![partnerops::spec::Action::AddTag("proven".into())];
                    Resource::Automation(a)
                },
            },
            Change::Update {
                key: "first-earnings".into(),
                resource: {
                    let mut a = gigakick()
                        .automations
                        .into_iter()
                        .find(|a| a.key == "first-earnings")
                        .unwrap();
                    a.then = vec![partnerops::spec::Action::AddTag("converter".into())];
                    Resource::Automation(a)
                },
            },
        ],
    );
    client.apply("gigakick", &rename).await.unwrap();
    let keys: Vec<String> = client
        .snapshot("gigakick")
        .await
        .unwrap()
        .resources
        .iter()
        .filter(|r| r.kind() == Kind::Tag)
        .map(|r| r.key().to_owned())
        .collect();
    assert!(keys.contains(&"proven".to_owned()) && keys.contains(&"converter".to_owned()));
    assert!(!keys.contains(&"earning".to_owned()));
}

#[tokio::test]
async fn tokens_and_scopes_answer_401_and_403() {
    let mut server = TestServer::start().await;
    let read = server.token(&["config:read"]).await;
    let events = server.token(&["events:write"]).await;
    let write = server.token(&["config:write"]).await;
    let http = reqwest::Client::new();
    let get = |token: Option<&str>, path: &str| {
        let mut r = http.get(format!("{}{path}", server.url));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };

    assert_eq!(get(None, "/healthz").await.unwrap().status(), 200);
    assert_eq!(get(None, "/v1/programs").await.unwrap().status(), 401);
    assert_eq!(get(None, "/openapi.json").await.unwrap().status(), 401);
    assert_eq!(
        get(Some("po_not-a-token"), "/v1/programs")
            .await
            .unwrap()
            .status(),
        401
    );
    let wrong_scheme = http
        .get(format!("{}/v1/programs", server.url))
        .header("Authorization", format!("Basic {read}"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_scheme.status(), 401);
    assert_eq!(
        get(Some(&events), "/v1/programs/x/config")
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        get(Some(&read), "/v1/programs/x/config")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        get(Some(&write), "/v1/programs/x/config")
            .await
            .unwrap()
            .status(),
        200,
        "config:write includes config:read"
    );

    let as_reader = HttpWriter::new(&server.url, Some(read.clone())).unwrap();
    match as_reader
        .apply("gigakick", &changeset(0, creates(&gigakick())))
        .await
    {
        Err(Error::Forbidden(m)) => assert!(m.contains("config:write"), "{m}"),
        other => panic!("expected 403, got {other:?}"),
    }
    match as_reader
        .create_token(&["admin".parse().unwrap()], None)
        .await
    {
        Err(Error::Forbidden(_)) => {}
        other => panic!("only admin makes tokens, got {other:?}"),
    }
    let as_writer = HttpWriter::new(&server.url, Some(write)).unwrap();
    as_writer
        .apply("gigakick", &changeset(0, creates(&gigakick())))
        .await
        .unwrap();

    let nobody = HttpReader::new(&server.url, None).unwrap();
    assert!(matches!(
        nobody.programs().await,
        Err(Error::Unauthorized(_))
    ));

    // An admin makes tokens over HTTP; the new token works and carries its scope.
    let admin = HttpWriter::new(&server.url, Some(server.admin.clone())).unwrap();
    let data = admin
        .create_token(&["data:read".parse().unwrap()], None)
        .await
        .unwrap();
    assert!(data.starts_with("po_"));
    assert_eq!(
        get(Some(&data), "/v1/programs/gigakick/config")
            .await
            .unwrap()
            .status(),
        403
    );
    // Any token may list the programs, to find its own.
    assert_eq!(
        get(Some(&data), "/v1/programs").await.unwrap().status(),
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn garbage_bodies_get_4xx_and_the_server_keeps_serving() {
    let mut server = TestServer::start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/programs/gigakick/changesets", server.url);
    let bodies: Vec<Vec<u8>> = vec![
        b"garbage".to_vec(),
        b"".to_vec(),
        b"{".to_vec(),
        b"[]".to_vec(),
        br#"{"base_revision": -1, "changes": [], "author": "x"}"#.to_vec(),
        br#"{"base_revision": 0, "changes": [{"action": "explode"}], "author": "x"}"#.to_vec(),
        br#"{"base_revision": 0, "changes": [{"action": "create", "resource": {"kind": "tag"}}], "author": "x"}"#.to_vec(),
        br#"{"base_revision": 0, "changes": [], "author": "x", "extra": 1}"#.to_vec(),
        vec![0xff, 0xfe, 0x00, 0x01],
        "\"\u{0}\"".as_bytes().to_vec(),
    ];
    for body in bodies {
        let response = http
            .post(&url)
            .bearer_auth(&server.admin)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status.is_client_error(),
            "{status} for {:?}",
            String::from_utf8_lossy(&body)
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["status"], status.as_u16());
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    // Too large: 64 MiB + 1 byte.
    let huge = vec![b' '; partnerops::server::BODY_LIMIT + 1];
    let response = http
        .post(&url)
        .bearer_auth(&server.admin)
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    // Unknown routes are problem details too.
    let response = http
        .get(format!("{}/v2/nothing", server.url))
        .bearer_auth(&server.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    assert_eq!(
        http.get(format!("{}/healthz", server.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let client = HttpWriter::new(&server.url, Some(server.admin.clone())).unwrap();
    client
        .apply("gigakick", &changeset(0, creates(&gigakick())))
        .await
        .unwrap();
    assert_eq!(client.snapshot("gigakick").await.unwrap().revision, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changesets_on_one_revision_exactly_one_wins() {
    let mut server = TestServer::start().await;
    let http_a = HttpWriter::new(&server.url, Some(server.admin.clone())).unwrap();
    let http_b = HttpWriter::new(&server.url, Some(server.admin.clone())).unwrap();
    let embedded = Embedded::new(server.engine.clone());
    http_a
        .apply("gigakick", &changeset(0, creates(&gigakick())))
        .await
        .unwrap();

    for round in 0..10u64 {
        let base = 1 + round;
        let a = changeset(
            base,
            vec![Change::Create {
                resource: tag(&format!("a-{round}")),
            }],
        );
        let b = changeset(
            base,
            vec![Change::Create {
                resource: tag(&format!("b-{round}")),
            }],
        );
        // Alternate: HTTP against HTTP, and HTTP against the embedded engine on
        // the same file (another process's view of the same store).
        let (ra, rb) = if round % 2 == 0 {
            tokio::join!(http_a.apply("gigakick", &a), http_b.apply("gigakick", &b))
        } else {
            tokio::join!(http_a.apply("gigakick", &a), embedded.apply("gigakick", &b))
        };
        let outcomes = [ra, rb];
        let won = outcomes.iter().filter(|r| r.is_ok()).count();
        let stale = outcomes
            .iter()
            .filter(|r| matches!(r, Err(Error::Stale { base: b, current: c }) if *b == base && *c == base + 1))
            .count();
        assert_eq!((won, stale), (1, 1), "round {round}: {outcomes:?}");
    }
    let snapshot = http_a.snapshot("gigakick").await.unwrap();
    assert_eq!(snapshot.revision, 11);
    assert_eq!(
        snapshot
            .resources
            .iter()
            .filter(|r| r.key().starts_with("a-") || r.key().starts_with("b-"))
            .count(),
        10
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_engines_on_one_file_race_and_exactly_one_wins() {
    use partnerops::engine::changeset::resolve;
    use partnerops::store::sqlite::SqliteStore;
    use partnerops::store::{Commit, Store};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("engine.db");
    // Two connection pools on one file, as two processes would have.
    let first = Engine::open(&db).await.unwrap();
    let second = Engine::open(&db).await.unwrap();
    first
        .apply("gigakick", &changeset(0, creates(&gigakick())))
        .await
        .unwrap();

    let one_tag = |base: u64, key: String| {
        changeset(
            base,
            vec![Change::Create {
                resource: tag(&key),
            }],
        )
    };
    let stale_at = |outcome: &Result<_, Error>, base: u64| matches!(outcome, Err(Error::Stale { base: b, current: c }) if *b == base && *c == base + 1);
    let mut base = 1;
    for round in 0..10 {
        let (a, b) = (first.clone(), second.clone());
        let (ca, cb) = (
            one_tag(base, format!("a-{round}")),
            one_tag(base, format!("b-{round}")),
        );
        let ta = tokio::spawn(async move { a.apply("gigakick", &ca).await });
        let tb = tokio::spawn(async move { b.apply("gigakick", &cb).await });
        let outcomes = [ta.await.unwrap(), tb.await.unwrap()];
        let won = outcomes.iter().filter(|r| r.is_ok()).count();
        let stale = outcomes.iter().filter(|r| stale_at(r, base)).count();
        assert_eq!((won, stale), (1, 1), "round {round}: {outcomes:?}");
        base += 1;
    }

    // The engine may find the loser stale before it writes; two stores given
    // changesets already checked against the same revision race to the one
    // place that must refuse: the store's own transaction.
    let stores = [
        Arc::new(SqliteStore::open(&db).await.unwrap()),
        Arc::new(SqliteStore::open(&db).await.unwrap()),
    ];
    for round in 0..5 {
        let current = stores[0].snapshot("gigakick").await.unwrap();
        let tasks = stores.iter().cloned().enumerate().map(|(i, store)| {
            let cs = one_tag(base, format!("s-{round}-{i}"));
            let delta = resolve("gigakick", &current.resources, &cs.changes).unwrap();
            tokio::spawn(async move {
                store
                    .commit(Commit {
                        program: "gigakick",
                        changeset: &cs,
                        delta: &delta,
                        minor_units: None,
                        daily_checks_changed: false,
                        backfill: false,
                        token: None,
                    })
                    .await
            })
        });
        let mut outcomes = Vec::new();
        for task in tasks.collect::<Vec<_>>() {
            outcomes.push(task.await.unwrap());
        }
        let won = outcomes.iter().filter(|r| r.is_ok()).count();
        let stale = outcomes.iter().filter(|r| stale_at(r, base)).count();
        assert_eq!((won, stale), (1, 1), "store round {round}: {outcomes:?}");
        base += 1;
    }

    let (a, b) = (
        first.snapshot("gigakick").await.unwrap(),
        second.snapshot("gigakick").await.unwrap(),
    );
    assert_eq!(a, b);
    assert_eq!(a.revision, base);
    assert_eq!(
        a.resources
            .iter()
            .filter(|r| ["a-", "b-", "s-"].iter().any(|p| r.key().starts_with(p)))
            .count(),
        15
    );
}

/// A stand-in engine that fails the first `failures` requests with 503.
async fn flaky_server(failures: usize) -> (String, Arc<AtomicUsize>) {
    use axum::http::StatusCode;
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let handler = move || {
        let counter = counter.clone();
        async move {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            if n < failures {
                (StatusCode::SERVICE_UNAVAILABLE, "busy".to_owned())
            } else {
                (StatusCode::OK, r#"{"items":[]}"#.to_owned())
            }
        }
    };
    let app = axum::Router::new()
        .route("/v1/programs", axum::routing::get(handler.clone()))
        .route("/v1/tokens", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

#[tokio::test]
async fn reads_are_retried_on_5xx_and_writes_are_not() {
    let (url, hits) = flaky_server(2).await;
    let reader = HttpReader::new(&url, Some("t".into())).unwrap();
    assert_eq!(reader.programs().await.unwrap(), []);
    assert_eq!(hits.load(Ordering::SeqCst), 3, "two 503s, then success");

    let (url, hits) = flaky_server(10).await;
    let reader = HttpReader::new(&url, Some("t".into())).unwrap();
    assert!(matches!(reader.programs().await, Err(Error::Internal(_))));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        4,
        "gives up after four attempts"
    );

    let (url, hits) = flaky_server(1).await;
    let writer = HttpWriter::new(&url, Some("t".into())).unwrap();
    assert!(
        writer
            .create_token(&["admin".parse().unwrap()], None)
            .await
            .is_err()
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1, "a write is sent once");

    // Nothing listening: reported as unreachable, after the retries.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let reader = HttpReader::new(&format!("http://{closed}"), None).unwrap();
    assert!(matches!(
        reader.programs().await,
        Err(Error::Unreachable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut server = TestServer::start().await;
    let body =
        serde_json::to_vec(&changeset(0, creates(&partnerops::sample::config(2_000)))).unwrap();
    let head = format!(
        "POST /v1/programs/sample/changesets HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr,
        server.admin,
        body.len()
    );
    // The request is in flight: headers and half the body are sent, the handler
    // is waiting for the rest.
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    stream.write_all(first).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let stopping = server.begin_stop();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // Stopping: no new connections are served...
    assert!(matches!(
        HttpReader::new(&server.url, None).unwrap().programs().await,
        Err(Error::Unreachable(_))
    ));
    // ...but the request in flight completes.
    stream.write_all(rest).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "{}",
        &response[..response.len().min(300)]
    );
    stopping.await.unwrap().unwrap();
    assert_eq!(server.engine.snapshot("sample").await.unwrap().revision, 1);
}

#[tokio::test]
async fn the_openapi_document_describes_the_wire_format() {
    let mut server = TestServer::start().await;
    let http = reqwest::Client::new();
    let doc: serde_json::Value = http
        .get(format!("{}/openapi.json", server.url))
        .bearer_auth(&server.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v1/programs",
        "/v1/programs/{program}/config",
        "/v1/programs/{program}/changesets",
        "/v1/programs/{program}/changesets/{revision}",
        "/v1/tokens",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
    // Every $ref points at a component.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling $ref {name}"
        );
    }
    // Real requests and responses conform to their component schemas.
    let component = |name: &str| {
        let mut schema = doc["components"]["schemas"][name].clone();
        schema["components"] = doc["components"].clone();
        jsonschema::validator_for(&schema).unwrap()
    };
    let request = serde_json::to_value(changeset(0, creates(&gigakick()))).unwrap();
    assert!(component("Changeset").is_valid(&request));
    let record = HttpWriter::new(&server.url, Some(server.admin.clone()))
        .unwrap()
        .apply("gigakick", &serde_json::from_value(request).unwrap())
        .await
        .unwrap();
    assert!(component("ChangesetRecord").is_valid(&serde_json::to_value(&record).unwrap()));
    let snapshot: serde_json::Value = http
        .get(format!("{}/v1/programs/gigakick/config", server.url))
        .bearer_auth(&server.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(component("Snapshot").is_valid(&snapshot));
    let problem: serde_json::Value = http
        .get(format!("{}/v1/programs", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(component("Problem").is_valid(&problem));
    server.stop().await;
}
