//! Stripe's webhook signature: `Stripe-Signature: t=TIME,v1=HEX[,v1=HEX...]`,
//! where each v1 is HMAC-SHA256 of `TIME.body` keyed by the endpoint's
//! signing secret (`whsec_...`, used as given). Several v1 appear while a
//! secret is being rolled; any one matching is enough. As in Stripe's own
//! libraries, the signature is checked first and then the age: a timestamp
//! older than the tolerance is refused, one ahead of the clock is not.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How old a signature may be: Stripe's default, and what replay protection
/// needs.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a header does not authenticate a body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header has no `t=` timestamp and `v1=` signature")]
    Malformed,
    #[error(
        "no v1 signature in the Stripe-Signature header matches the body and the signing secret"
    )]
    Mismatch,
    #[error(
        "the Stripe-Signature timestamp is {age} s old, more than the {TOLERANCE_SECONDS} s allowed: a replay, or a clock that is off"
    )]
    Stale { age: i64 },
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Checks `header` against `body` and `secret` at `now` (Unix seconds).
pub fn verify(header: &str, body: &[u8], secret: &str, now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        match key.trim() {
            "t" => timestamp = Some(value.trim()),
            "v1" => signatures.push(value.trim()),
            // v0 (test mode's old scheme) and anything newer: not ours to read.
            _ => {}
        }
    }
    let (Some(timestamp), false) = (timestamp, signatures.is_empty()) else {
        return Err(SignatureError::Malformed);
    };
    let seconds: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
    let expected = mac(secret, timestamp, body);
    let matches = signatures.iter().any(|hex_signature| {
        hex::decode(hex_signature)
            // verify_slice compares in constant time.
            .is_ok_and(|bytes| expected.clone().verify_slice(&bytes).is_ok())
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    let age = now.saturating_sub(seconds);
    if age > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale { age });
    }
    Ok(())
}

/// The header Stripe would send for `body` at `timestamp`: for tests, the
/// benchmark, and anyone replaying a delivery by hand.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let signature = mac(secret, &t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn a_signed_body_verifies_and_a_changed_one_does_not() {
        let body = br#"{"id":"evt_1","object":"event"}"#;
        let header = sign(SECRET, 1_700_000_000, body);
        assert_eq!(verify(&header, body, SECRET, 1_700_000_100), Ok(()));
        let tampered = br#"{"id":"evt_2","object":"event"}"#;
        assert_eq!(
            verify(&header, tampered, SECRET, 1_700_000_100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, body, "whsec_other", 1_700_000_100),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_timestamp_is_signed_and_ages() {
        let body = b"{}";
        let header = sign(SECRET, 1_700_000_000, body);
        assert_eq!(verify(&header, body, SECRET, 1_700_000_300), Ok(()));
        assert_eq!(
            verify(&header, body, SECRET, 1_700_000_301),
            Err(SignatureError::Stale { age: 301 })
        );
        // A newer t with the old signature: the signature covers t.
        let moved = header.replace("t=1700000000", "t=1700000200");
        assert_eq!(
            verify(&moved, body, SECRET, 1_700_000_301),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_v1_may_match_and_other_schemes_are_skipped() {
        let body = b"{}";
        let good = sign(SECRET, 1_700_000_000, body);
        let v1 = good.split_once(",v1=").unwrap().1;
        let header = format!("t=1700000000,v1={},v0=abc,v1={v1}", "00".repeat(32));
        assert_eq!(verify(&header, body, SECRET, 1_700_000_000), Ok(()));
        for bad in [
            "",
            "t=1700000000",
            &format!("v1={v1}"),
            "t=soon,v1=00",
            "garbage",
        ] {
            assert_eq!(
                verify(bad, body, SECRET, 1_700_000_000),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        let not_hex = "t=1700000000,v1=zz";
        assert_eq!(
            verify(not_hex, body, SECRET, 1_700_000_000),
            Err(SignatureError::Mismatch)
        );
    }
}
