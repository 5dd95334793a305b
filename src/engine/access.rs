//! Who may do what: token scopes, and tokens themselves (shown once, stored hashed).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::store::token::{Scope, TokenRecord};

/// The caller of an engine operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Shown in logs and history instead of the token.
    pub token_id: String,
    pub scopes: Vec<Scope>,
    /// The one program the token may reach, when it is bound to one.
    pub program: Option<String>,
}

impl Principal {
    /// Whoever can open the embedded engine's file can do anything with it.
    pub fn local() -> Principal {
        Principal {
            token_id: "local".to_owned(),
            scopes: vec![Scope::Admin],
            program: None,
        }
    }

    /// Whether the token may reach `program` at all.
    pub fn reaches(&self, program: &str) -> bool {
        self.program.as_deref().is_none_or(|p| p == program)
    }

    pub fn allows(&self, needed: &Scope) -> bool {
        self.scopes.iter().any(|s| {
            s == needed
                || *s == Scope::Admin
                || (*s == Scope::ConfigWrite && *needed == Scope::ConfigRead)
        })
    }
}

/// `POST /v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub scopes: Vec<Scope>,
    /// Binds the token to one program; required for `partner:KEY`, whose key
    /// means a partner of one program only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// When the token stops working (RFC 3339, in the future); never when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// The answer to `POST /v1/tokens`: the token, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IssuedToken {
    pub token: String,
}

const TOKEN_PREFIX: &str = "po_";

/// A new random token and its record.
pub fn new_token(scopes: Vec<Scope>, program: Option<String>) -> (String, TokenRecord) {
    new_token_until(scopes, program, None)
}

/// [`new_token`] that stops working at `expires_at`.
pub fn new_token_until(
    scopes: Vec<Scope>,
    program: Option<String>,
    expires_at: Option<DateTime<Utc>>,
) -> (String, TokenRecord) {
    // rand's thread RNG is a CSPRNG seeded from the OS.
    let bytes: [u8; 24] = rand::random();
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let hash = hash_token(&token);
    let record = TokenRecord {
        id: hash[..12].to_owned(),
        hash,
        scopes,
        program,
        created_at: Utc::now(),
        expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    (token, record)
}

/// SHA-256 is enough: tokens are 192 random bits, not passwords.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_imply() {
        let write = Principal {
            token_id: "t".into(),
            scopes: vec!["config:write".parse().unwrap()],
            program: Some("acme".into()),
        };
        assert!(write.reaches("acme"));
        assert!(!write.reaches("other"));
        assert!(Principal::local().reaches("other"));
        assert!(write.allows(&Scope::ConfigRead));
        assert!(!write.allows(&Scope::DataRead));
        assert!(Principal::local().allows(&Scope::Partner("p".into())));
        assert_eq!(
            "partner:acme".parse::<Scope>().unwrap(),
            Scope::Partner("acme".into())
        );
        assert!("partner:".parse::<Scope>().is_err());
        assert!("partner:Bad Key!".parse::<Scope>().is_err());
        assert!("root".parse::<Scope>().is_err());
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, ra) = new_token(vec![Scope::Admin], None);
        let (b, _) = new_token(vec![Scope::Admin], None);
        assert_ne!(a, b);
        assert_eq!(ra.hash, hash_token(&a));
        assert!(!ra.hash.contains(&a));
    }
}
