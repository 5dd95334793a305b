//! Our Stripe signature check agrees with Stripe's own Python library
//! (`stripe` from PyPI, its `WebhookSignature`): headers we make, it checks;
//! headers it makes, we check; valid, tampered, wrongly keyed and expired
//! alike.
//!
//! `.ci/run` installs the package into a virtual environment and names its
//! Python in `PARTNEROPS_STRIPE_PYTHON`; locally, `target/stripe-venv` is
//! used when it exists. With `CI` set, a missing package fails the test.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use partnerops::sources::stripe::fixtures::{self as f, Shape};
use partnerops::sources::stripe::signature::{TOLERANCE_SECONDS, sign, verify};
use serde_json::{Value, json};

const SECRET: &str = "whsec_Zq3c7Rk9VbT2mN8xW4yH6jL1pD5sF0gA";

/// The Python with `stripe` installed, or why there is none.
fn python() -> Result<PathBuf, String> {
    let path = std::env::var_os("PARTNEROPS_STRIPE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/stripe-venv/bin/python")
        });
    let ok = Command::new(&path)
        .args(["-c", "import stripe"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Ok(path)
    } else {
        Err(format!(
            "no Python with the `stripe` package at {} (python3 -m venv target/stripe-venv && target/stripe-venv/bin/pip install stripe)",
            path.display()
        ))
    }
}

/// Verdicts of `stripe.WebhookSignature.verify_header` (tolerance 300 s) on
/// `cases`, and headers made by `generate_signature_header` for `to_sign`.
const SCRIPT: &str = r#"
import json, sys
import stripe
from stripe import WebhookSignature, Webhook
job = json.load(sys.stdin)
verdicts = []
for case in job["cases"]:
    try:
        WebhookSignature.verify_header(case["payload"], case["header"], case["secret"], tolerance=job["tolerance"])
        Webhook.construct_event(case["payload"], case["header"], case["secret"], tolerance=job["tolerance"])
        verdicts.append(True)
    except stripe.SignatureVerificationError:
        verdicts.append(False)
headers = [WebhookSignature.generate_signature_header(s["payload"], s["secret"], timestamp=s["timestamp"]) for s in job["to_sign"]]
json.dump({"verdicts": verdicts, "headers": headers, "version": stripe.VERSION}, sys.stdout)
"#;

fn run_python(python: &PathBuf, job: &Value) -> Value {
    let mut child = Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn our_signatures_and_stripes_python_library_agree() {
    let python = match python() {
        Ok(p) => p,
        Err(why) if std::env::var_os("CI").is_some() => panic!("{why}"),
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let now = chrono::Utc::now().timestamp();
    let payload = serde_json::to_string_pretty(&f::event(
        "evt_1QzPy2B7WZ01zgkW",
        "invoice.paid",
        now - 60,
        Shape::Basil,
        f::invoice(
            "in_1",
            "cus_1",
            "usd",
            "subscription_cycle",
            now - 60,
            Some("sub_1"),
            None,
            Shape::Basil,
            &[f::Line {
                id: "il_1",
                amount: 4900,
                subscription_item: Some("si_1"),
                price: "price_1",
                discount: 0,
            }],
        ),
    ))
    .unwrap();
    let tampered = payload.replacen("4900", "4901", 1);
    let fresh = now - 10;
    let expired = now - TOLERANCE_SECONDS - 60;
    let ahead = now + 600;
    let good = sign(SECRET, fresh, payload.as_bytes());
    let v1 = good.split_once(",v1=").unwrap().1.to_owned();

    // Headers we make (and a few written by hand), with what we say of them.
    let cases: Vec<(&str, String, String, &str)> = vec![
        ("valid", payload.clone(), good.clone(), SECRET),
        ("tampered body", tampered.clone(), good.clone(), SECRET),
        (
            "other secret",
            payload.clone(),
            good.clone(),
            "whsec_AnotherSecretEntirely0",
        ),
        (
            "expired",
            payload.clone(),
            sign(SECRET, expired, payload.as_bytes()),
            SECRET,
        ),
        (
            "expired and tampered",
            tampered.clone(),
            sign(SECRET, expired, payload.as_bytes()),
            SECRET,
        ),
        (
            "ahead of the clock",
            payload.clone(),
            sign(SECRET, ahead, payload.as_bytes()),
            SECRET,
        ),
        (
            "two v1, the second good",
            payload.clone(),
            format!("t={fresh},v1={},v1={v1}", "ab".repeat(32)),
            SECRET,
        ),
        (
            "v0 only",
            payload.clone(),
            format!("t={fresh},v0={v1}"),
            SECRET,
        ),
        (
            "moved timestamp",
            payload.clone(),
            format!("t={},v1={v1}", fresh + 1),
            SECRET,
        ),
        ("no timestamp", payload.clone(), format!("v1={v1}"), SECRET),
    ];
    let ours: Vec<bool> = cases
        .iter()
        .map(|(_, body, header, secret)| verify(header, body.as_bytes(), secret, now).is_ok())
        .collect();
    assert_eq!(
        ours,
        [
            true, false, false, false, false, true, true, false, false, false
        ]
    );

    // Headers Python makes, for us to check.
    let to_sign = [
        (payload.clone(), SECRET, fresh),
        (payload.clone(), SECRET, expired),
        (payload.clone(), "whsec_AnotherSecretEntirely0", fresh),
    ];
    let job = json!({
        "tolerance": TOLERANCE_SECONDS,
        "cases": cases.iter().map(|(_, p, h, s)| json!({"payload": p, "header": h, "secret": s})).collect::<Vec<_>>(),
        "to_sign": to_sign.iter().map(|(p, s, t)| json!({"payload": p, "secret": s, "timestamp": t})).collect::<Vec<_>>(),
    });
    let answer = run_python(&python, &job);
    let theirs: Vec<bool> = serde_json::from_value(answer["verdicts"].clone()).unwrap();
    for (((name, ..), ours), theirs) in cases.iter().zip(&ours).zip(&theirs) {
        assert_eq!(
            ours, theirs,
            "{name}: we say {ours}, stripe {} says {theirs}",
            answer["version"]
        );
    }

    let headers: Vec<String> = serde_json::from_value(answer["headers"].clone()).unwrap();
    // Python's header for a fresh timestamp is ours, byte for byte.
    assert_eq!(headers[0], good);
    let check = |header: &str, body: &str| verify(header, body.as_bytes(), SECRET, now).is_ok();
    assert!(check(&headers[0], &payload), "a fresh header from Python");
    assert!(
        !check(&headers[0], &tampered),
        "a fresh header, tampered body"
    );
    assert!(
        !check(&headers[1], &payload),
        "an expired header from Python"
    );
    assert!(
        !check(&headers[2], &payload),
        "a header made with another secret"
    );
}
