//! Entry points for the fuzz targets in `tests/fuzz/` and for the test that
//! replays their corpora (`tests/fuzz_corpus.rs`): one function per target,
//! taking the fuzzer's bytes. Each must never panic, whatever the bytes; what
//! it returns is thrown away. A new target is a function here, a file in
//! `tests/fuzz/fuzz_targets/` that calls it, and a line in [`TARGETS`].

/// Every target by name, as the fuzz crate and the corpus test know them.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("config_loader", config_loader),
    ("events_parser", events_parser),
    ("stripe_signature", stripe_signature),
];

/// The bytes as a config of up to four files, split at `\n---8<---\n`, so
/// cross-file checks (duplicates, references, the alias budget) are reached;
/// every diagnostic is rendered as `validate` prints it.
pub fn config_loader(data: &[u8]) {
    let files: Vec<(String, Vec<u8>)> = split(data, b"\n---8<---\n")
        .into_iter()
        .take(4)
        .enumerate()
        .map(|(i, part)| (format!("c/{i}.yaml"), part.to_vec()))
        .collect();
    match crate::config::load_texts("c", &files) {
        Ok(config) => {
            // What loads must also write back (export) and travel as JSON.
            for (_, document) in crate::config::files_per_kind(&config) {
                let _ = crate::config::to_yaml(&document);
            }
            for resource in config.resources() {
                let _ = serde_json::to_string(&resource);
            }
        }
        Err(diagnostics) => {
            for d in diagnostics {
                let _ = d.to_string();
            }
        }
    }
}

/// The bytes as a batch of events in each format the engine reads, every
/// event checked as the engine checks it.
pub fn events_parser(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let now = chrono::DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default();
    for format in [
        crate::engine::event::BatchFormat::Array,
        crate::engine::event::BatchFormat::Ndjson,
        crate::engine::event::BatchFormat::Sniff,
    ] {
        if let Ok((good, bad)) = crate::engine::event::parse_batch(body, format, now) {
            for r in good {
                let _ = serde_json::to_string(&r.event);
            }
            for n in bad {
                let _ = serde_json::to_string(&n);
            }
        }
    }
}

/// The bytes as a Stripe delivery: the first line is the `Stripe-Signature`
/// header, the rest the body, read as a Stripe event as the source reads it.
/// Whatever the header holds, verifying never panics; and the header we sign
/// for the body must verify, while that header with one bit of the body
/// changed must not.
pub fn stripe_signature(data: &[u8]) {
    use crate::sources::stripe::signature::{sign, verify};
    const SECRET: &str = "whsec_fuzz";
    const NOW: i64 = 1_780_000_000;
    let (header, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let header = String::from_utf8_lossy(header);
    let _ = verify(&header, body, SECRET, NOW);
    let signed = sign(SECRET, NOW, body);
    assert!(
        verify(&signed, body, SECRET, NOW).is_ok(),
        "our own signature"
    );
    if let Some(first) = body.first() {
        let mut tampered = body.to_vec();
        tampered[0] = first ^ 1;
        assert!(
            verify(&signed, &tampered, SECRET, NOW).is_err(),
            "a changed body"
        );
    }
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = crate::sources::stripe::object::read(text);
    }
}

fn split<'a>(data: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(separator.len()).position(|w| w == separator) {
        parts.push(&rest[..i]);
        rest = &rest[i + separator.len()..];
    }
    parts.push(rest);
    parts
}
