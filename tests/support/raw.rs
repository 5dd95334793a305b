//! HTTP/1.1 by hand, for what reqwest will not do: send headers that promise a
//! body and then withhold it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct RawResponse {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `head` (the request line and headers, without the blank line) and
/// `body`, then reads one response: headers, and a body of its Content-Length.
/// Panics when no whole response comes within `wait`.
pub async fn exchange(addr: SocketAddr, head: &str, body: &[u8], wait: Duration) -> RawResponse {
    try_exchange(addr, head, body, wait)
        .await
        .unwrap_or_else(|| panic!("no response within {wait:?} to {head:?}"))
}

/// [`exchange`], with `None` when no whole response comes within `wait`.
pub async fn try_exchange(
    addr: SocketAddr,
    head: &str,
    body: &[u8],
    wait: Duration,
) -> Option<RawResponse> {
    tokio::time::timeout(wait, async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(format!("{head}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        stream.write_all(body).await.unwrap();
        read_response(&mut stream).await
    })
    .await
    .ok()
}

async fn read_response(stream: &mut TcpStream) -> RawResponse {
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed before the response headers");
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(data[..end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = data[end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed inside the response body");
        body.extend_from_slice(&chunk[..n]);
    }
    RawResponse {
        status: status.parse().unwrap(),
        headers,
        body,
    }
}
