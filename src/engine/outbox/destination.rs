//! Where a message may go. A destination on loopback or a private network is
//! refused unless the operator allows it (`--allow-private-webhooks`): every
//! address a host name resolves to is checked, by the resolver the HTTP
//! client connects with, so the address checked is the address used (a name
//! that resolves differently a moment later cannot slip past).

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::spec::address::is_private;

/// Why a destination is refused, as the delivery's error says it.
pub fn refusal(host: &str, ip: IpAddr) -> String {
    let what = if host == ip.to_string() {
        format!("{ip} is")
    } else {
        format!("{host} is {ip},")
    };
    format!(
        "refused: {what} a loopback or private address; `serve --allow-private-webhooks` (or `webhooks dispatch --allow-private-webhooks`) sends there"
    )
}

/// Checks a URL whose host is an address literal, which the HTTP client
/// connects to without asking the resolver.
pub fn check_literal(url: &reqwest::Url, allow_private: bool) -> Result<(), String> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    if !allow_private && is_private(ip) {
        return Err(refusal(&ip.to_string(), ip));
    }
    Ok(())
}

/// The system resolver, refusing a name any of whose addresses is private.
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private && let Some(bad) = addrs.iter().find(|a| is_private(a.ip())) {
                return Err(refusal(&host, bad.ip()).into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}
