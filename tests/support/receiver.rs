//! A webhook receiver on 127.0.0.1:0, on raw TCP so a test can make it
//! misbehave: answer 2xx, answer an error, hang, or drop the connection. It
//! keeps every request it read, with the time it arrived.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the receiver does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 204.
    Up,
    /// This status, e.g. 500 or 503.
    Status(u16),
    /// Reads the request and never answers.
    Hang,
    /// Reads the request and closes the connection without a word.
    Drop,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    /// The answer it got.
    pub answered: Mode,
    pub at: Instant,
}

impl Request {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

struct State {
    mode: Mutex<Mode>,
    got: Mutex<Vec<Request>>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<State>,
}

impl Receiver {
    pub async fn start(mode: Mode) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        Receiver::serve(listener, url, mode)
    }

    /// On a listener already bound (a fixed port, to come back up on).
    pub fn serve(listener: TcpListener, url: String, mode: Mode) -> Receiver {
        let state = Arc::new(State {
            mode: Mutex::new(mode),
            got: Mutex::new(Vec::new()),
        });
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = connection(stream, state).await;
                });
            }
        });
        Receiver { url, state }
    }

    pub fn set(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    /// Forgets the requests so far.
    pub fn clear(&self) {
        self.state.got.lock().unwrap().clear();
    }

    /// How many requests arrived so far.
    pub fn count(&self) -> usize {
        self.state.got.lock().unwrap().len()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.got.lock().unwrap().clone()
    }

    /// The requests answered 2xx.
    pub fn delivered(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.answered == Mode::Up)
            .collect()
    }

    /// Waits until `n` requests were answered 2xx (or panics after `limit`).
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Request> {
        let started = Instant::now();
        loop {
            let got = self.delivered();
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < limit,
                "{} of {n} messages arrived within {limit:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn connection(stream: tokio::net::TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut length = 0;
        let (mut id, mut timestamp, mut signature) = (String::new(), String::new(), String::new());
        loop {
            let mut header = String::new();
            read.read_line(&mut header).await?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim().to_owned();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "webhook-id" => id = value,
                "webhook-timestamp" => timestamp = value,
                "webhook-signature" => signature = value,
                _ => {}
            }
        }
        let mut body = vec![0; length];
        read.read_exact(&mut body).await?;
        let mode = *state.mode.lock().unwrap();
        state.got.lock().unwrap().push(Request {
            path,
            id,
            timestamp,
            signature,
            body: String::from_utf8_lossy(&body).into_owned(),
            answered: mode,
            at: Instant::now(),
        });
        match mode {
            Mode::Up => {
                write.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await?;
            }
            Mode::Status(code) => {
                write
                    .write_all(
                        format!("HTTP/1.1 {code} Oops\r\ncontent-length: 4\r\n\r\noops").as_bytes(),
                    )
                    .await?;
            }
            Mode::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return Ok(());
            }
            Mode::Drop => return Ok(()),
        }
    }
}
