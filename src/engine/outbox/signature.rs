//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256
//! of "id.timestamp.body">`, keyed by the bytes of the endpoint's secret
//! (`whsec_` + base64). While a rotated-out secret still signs, the header
//! carries both signatures, space-separated, and a receiver that knows
//! either accepts the message.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` and base64 of 32 random bytes (rand's
/// thread RNG is a CSPRNG seeded from the OS).
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The key a secret stands for: its base64 after `whsec_` (a secret without
/// the prefix is read as base64 too, as other implementations do).
fn key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    STANDARD.decode(encoded).ok()
}

/// One `v1,<signature>` for `secret`; `None` for a secret that is not base64.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)?).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header: a signature per secret, space-separated.
pub fn header<'a>(
    secrets: impl IntoIterator<Item = &'a str>,
    id: &str,
    timestamp: i64,
    body: &str,
) -> String {
    secrets
        .into_iter()
        .filter_map(|s| sign(s, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the Standard Webhooks specification's test vectors.
    #[test]
    fn signs_as_the_specification_says() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, 1_614_265_330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_32_random_bytes() {
        let a = new_secret();
        assert!(a.starts_with("whsec_"));
        assert_eq!(key(&a).unwrap().len(), 32);
        assert_ne!(a, new_secret());
    }

    #[test]
    fn two_secrets_give_two_signatures() {
        let (a, b) = (new_secret(), new_secret());
        let h = header([a.as_str(), b.as_str()], "msg_1", 1, "{}");
        let parts: Vec<&str> = h.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], sign(&a, "msg_1", 1, "{}").unwrap());
        assert_eq!(parts[1], sign(&b, "msg_1", 1, "{}").unwrap());
    }
}
