//! The HTTP client against engines that misbehave at the socket: one that never
//! answers, one that stalls or hangs up in the middle of a body. Reads give up
//! within their bound and retry failures after the headers; writes go once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use partnerops::client::{HttpReader, HttpWriter, Reader, Writer};
use partnerops::engine::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the stand-in does with a request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// Reads it and never answers.
    Hang,
    /// Sends the headers and half the body, then waits forever.
    StallInBody,
    /// Sends the headers and half the body, then closes the connection.
    HangUpInBody,
    /// Answers 200 `{"items":[]}`.
    Empty,
}

/// An engine on raw TCP that answers its `n`th request (from 0) with
/// `answers(n)`; returns its URL and how many requests arrived.
async fn stand_in(answers: fn(usize) -> Answer) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let counter = counter.clone();
            tokio::spawn(async move {
                serve_one(stream, counter, answers).await;
            });
        }
    });
    (url, hits)
}

async fn serve_one(mut stream: TcpStream, hits: Arc<AtomicUsize>, answers: fn(usize) -> Answer) {
    let mut request = Vec::new();
    let mut chunk = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&chunk[..n]),
        }
    }
    let answer = answers(hits.fetch_add(1, Ordering::SeqCst));
    // A page of no programs.
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n";
    match answer {
        Answer::Hang => std::future::pending::<()>().await,
        Answer::StallInBody | Answer::HangUpInBody => {
            let _ = stream.write_all(format!("{head}{{\"ite").as_bytes()).await;
            let _ = stream.flush().await;
            if matches!(answer, Answer::StallInBody) {
                std::future::pending::<()>().await;
            }
        }
        Answer::Empty => {
            let _ = stream
                .write_all(format!("{head}{{\"items\":[]}}").as_bytes())
                .await;
        }
    }
}

const ATTEMPT: Duration = Duration::from_millis(200);
/// Four attempts of 0.2 s and backoffs of 0.2, 0.4 and 0.8 s.
const READ_BOUND: Duration = Duration::from_millis(4 * 200 + 1400);

#[tokio::test]
async fn a_hung_engine_fails_a_read_within_its_bound_and_gets_a_write_once() {
    let (url, hits) = stand_in(|_| Answer::Hang).await;
    let reader = HttpReader::new(&url, Some("t".into()))
        .unwrap()
        .with_read_timeout(ATTEMPT);
    let started = Instant::now();
    let outcome = reader.programs().await;
    let took = started.elapsed();
    match outcome {
        Err(Error::Unreachable(m)) => assert_eq!(
            m,
            "no complete answer to /v1/programs within 0.2 s (4 attempts)"
        ),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(hits.load(Ordering::SeqCst), 4, "four attempts");
    assert!(
        took >= READ_BOUND && took < READ_BOUND + Duration::from_secs(2),
        "gave up after {took:?}"
    );

    let (url, hits) = stand_in(|_| Answer::Hang).await;
    let writer = HttpWriter::new(&url, Some("t".into()))
        .unwrap()
        .with_timeouts(ATTEMPT, Duration::from_millis(500));
    let started = Instant::now();
    match writer.create_token(&["admin".parse().unwrap()], None).await {
        Err(Error::Unreachable(m)) => assert!(
            m.contains("within 0.5 s: it may or may not have been applied"),
            "{m}"
        ),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    // Longer than a read's retries would take: still the one request.
    tokio::time::sleep(READ_BOUND).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1, "a write is sent once");
}

#[tokio::test]
async fn a_read_that_fails_inside_the_body_is_retried_and_a_write_is_not() {
    let (url, hits) = stand_in(|n| match n {
        0 => Answer::StallInBody,
        1 => Answer::HangUpInBody,
        _ => Answer::Empty,
    })
    .await;
    let reader = HttpReader::new(&url, Some("t".into()))
        .unwrap()
        .with_read_timeout(ATTEMPT);
    assert_eq!(reader.programs().await.unwrap(), []);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "a stalled body, a cut body, then the answer"
    );

    let (url, hits) = stand_in(|_| Answer::HangUpInBody).await;
    let writer = HttpWriter::new(&url, Some("t".into())).unwrap();
    assert!(matches!(
        writer.create_token(&["admin".parse().unwrap()], None).await,
        Err(Error::Unreachable(_))
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1, "a write is sent once");
}
