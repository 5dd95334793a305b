//! RFC 9457 problem details: how an engine error crosses HTTP and comes back as
//! the same error on the client side.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::Error;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    /// `urn:partnerops:problem:<kind>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Every reason, for a refused changeset or event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// For a stale plan: the revision the engine is at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_revision: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_revision: Option<u64>,
    /// For a held product that cannot be deleted: the product and its customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customers: Option<u64>,
    /// For a request a server limit refused: the limit, as the `serve` flag
    /// that sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// Seconds to wait before trying again (also in `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

const URN: &str = "urn:partnerops:problem:";

impl Problem {
    fn new(kind: &str, title: &str, status: u16, detail: String) -> Problem {
        Problem {
            kind: format!("{URN}{kind}"),
            title: title.to_owned(),
            status,
            detail,
            errors: Vec::new(),
            current_revision: None,
            base_revision: None,
            product: None,
            customers: None,
            limit: None,
            retry_after: None,
        }
    }

    /// A route that exists, asked with a method it does not serve.
    pub fn method_not_allowed(detail: String) -> Problem {
        Problem::new("method_not_allowed", "method not allowed", 405, detail)
    }

    /// A request the server stopped because it ran too long. 503, not 408: the
    /// time may have gone on the server's side as much as on the client's.
    pub fn timeout(detail: String) -> Problem {
        Problem::new("timeout", "request took too long", 503, detail)
    }

    /// The engine runs but its store does not answer, or is not migrated:
    /// `/readyz` says so to a load balancer or an orchestrator.
    pub fn not_ready(detail: String) -> Problem {
        Problem::new("not_ready", "not ready", 503, detail)
    }

    /// The error this problem stands for.
    pub fn into_error(self) -> Error {
        let kind = self.kind.strip_prefix(URN).unwrap_or("");
        match (kind, self.status) {
            ("not_found", _) | (_, 404) => Error::NotFound(self.detail),
            ("stale", _) => Error::Stale {
                base: self.base_revision.unwrap_or(0),
                current: self.current_revision.unwrap_or(0),
            },
            ("product_held", _) => Error::ProductHeld {
                product: self.product.unwrap_or_default(),
                customers: self.customers.unwrap_or(0),
            },
            ("invalid", _) => Error::Invalid(if self.errors.is_empty() {
                vec![self.detail]
            } else {
                self.errors
            }),
            ("unauthorized", _) | (_, 401) => Error::Unauthorized(self.detail),
            ("forbidden", _) | (_, 403) => Error::Forbidden(self.detail),
            ("payload_too_large", _) | (_, 413) => Error::PayloadTooLarge(self.detail),
            ("rate_limited" | "overloaded", status) => Error::Limited {
                status,
                limit: self.limit.unwrap_or_default(),
                detail: self.detail,
                retry_after: self.retry_after.unwrap_or(1),
            },
            (_, 400..=499) => Error::BadRequest(self.detail),
            _ => Error::Internal(self.detail),
        }
    }
}

impl From<&Error> for Problem {
    fn from(e: &Error) -> Problem {
        let detail = e.to_string();
        match e {
            Error::NotFound(_) => Problem::new("not_found", "not found", 404, detail),
            Error::Stale { base, current } => Problem {
                current_revision: Some(*current),
                base_revision: Some(*base),
                ..Problem::new("stale", "stale plan", 409, detail)
            },
            Error::Invalid(errors) => Problem {
                errors: errors.clone(),
                ..Problem::new("invalid", "invalid changeset", 422, detail)
            },
            Error::ProductHeld { product, customers } => Problem {
                product: Some(product.clone()),
                customers: Some(*customers),
                ..Problem::new("product_held", "product held", 409, detail)
            },
            Error::BadRequest(_) => Problem::new("bad_request", "bad request", 400, detail),
            Error::Unauthorized(_) => Problem::new("unauthorized", "unauthorized", 401, detail),
            Error::Forbidden(_) => Problem::new("forbidden", "forbidden", 403, detail),
            Error::PayloadTooLarge(_) => {
                Problem::new("payload_too_large", "payload too large", 413, detail)
            }
            Error::Limited {
                status,
                limit,
                retry_after,
                ..
            } => {
                let (kind, title) = match status {
                    413 => ("payload_too_large", "payload too large"),
                    429 => ("rate_limited", "too many requests"),
                    _ => ("overloaded", "server busy"),
                };
                Problem {
                    limit: Some(limit.clone()),
                    // A body too large is as large when sent again.
                    retry_after: (*status != 413).then_some(*retry_after),
                    ..Problem::new(kind, title, *status, detail)
                }
            }
            Error::Internal(_) | Error::Unreachable(_) => {
                Problem::new("internal", "internal error", 500, detail)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_survive_the_round_trip() {
        for e in [
            Error::NotFound("x".into()),
            Error::Stale {
                base: 3,
                current: 5,
            },
            Error::Invalid(vec!["a".into(), "b".into()]),
            Error::ProductHeld {
                product: "inbox".into(),
                customers: 2,
            },
            Error::Forbidden("no".into()),
            Error::Unauthorized("who".into()),
            Error::BadRequest("bad".into()),
            Error::PayloadTooLarge("big".into()),
            Error::Limited {
                status: 429,
                limit: "rate-per-token".into(),
                detail: "slow down".into(),
                retry_after: 2,
            },
            Error::Limited {
                status: 503,
                limit: "max-concurrent-requests".into(),
                detail: "busy".into(),
                retry_after: 1,
            },
        ] {
            let p = Problem::from(&e);
            let back =
                serde_json::from_str::<Problem>(&serde_json::to_string(&p).unwrap()).unwrap();
            assert_eq!(back.into_error(), e);
        }
    }
}
