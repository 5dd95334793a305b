//! What text that comes from outside may hold, in one place: event ids,
//! external keys (customers, transactions, subscriptions), names and emails.
//!
//! Such text ends up in URLs, logs, terminals, CSV files and other people's
//! dashboards. Characters that change how the text around them is shown (a
//! terminal escape, a right-to-left override such as U+202E, NUL) are refused
//! rather than stored, and every kind of text has a length bound, so that a
//! sender cannot store a 60 MiB id and have it echoed back. [`shown`] makes
//! any text, refused or not, safe to print.

/// An event id: unique per program, chosen by the sender (a UUID, a Stripe
/// `evt_` id).
pub const MAX_ID: usize = 200;
/// A customer, transaction or subscription key from another system.
pub const MAX_EXTERNAL_KEY: usize = 200;
/// A person's or company's name.
pub const MAX_NAME: usize = 200;
/// RFC 5321 allows 254 characters in a forward path.
pub const MAX_EMAIL: usize = 254;

/// Characters that change how what surrounds them is displayed, or that a
/// terminal acts on: C0 and C1 controls (NUL, ESC, DEL...), bidirectional
/// embeddings, overrides, isolates and marks, line and paragraph separators,
/// and the byte order mark.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// Why `value` is not a valid event id, if it is not.
pub fn id_problem(value: &str) -> Option<String> {
    bounded("id", value, MAX_ID)
}

/// Why `value`, the `field` of an event, is not a valid external key.
pub fn external_key_problem(field: &str, value: &str) -> Option<String> {
    if value.trim().is_empty() {
        return Some(format!("`{field}` must not be empty"));
    }
    bounded(field, value, MAX_EXTERNAL_KEY)
}

/// Why `value` is not a valid name.
pub fn name_problem(field: &str, value: &str) -> Option<String> {
    bounded(field, value, MAX_NAME)
}

/// Why `value` is not a valid email address: bounded, one `@` with text on
/// both sides, no spaces. Deliverability is the sender's business.
pub fn email_problem(field: &str, value: &str) -> Option<String> {
    if let Some(problem) = bounded(field, value, MAX_EMAIL) {
        return Some(problem);
    }
    let valid = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !value.chars().any(char::is_whitespace);
    (!valid).then(|| format!("`{field}` {} is not an email address", shown(value, 60)))
}

/// Why a person's `name` or `email` (fields `{what}.name`, `{what}.email`)
/// is not valid.
pub fn person_problem(what: &str, name: Option<&str>, email: Option<&str>) -> Option<String> {
    name.and_then(|n| name_problem(&format!("{what}.name"), n))
        .or_else(|| email.and_then(|e| email_problem(&format!("{what}.email"), e)))
}

fn bounded(field: &str, value: &str, max: usize) -> Option<String> {
    let length = value.chars().count();
    if length > max {
        return Some(format!(
            "`{field}` is {length} characters long; at most {max} are allowed"
        ));
    }
    value
        .chars()
        .position(is_unsafe)
        .map(|i| {
            let c = value.chars().nth(i).unwrap_or_default();
            format!(
                "`{field}` holds U+{:04X} at character {}: control and bidirectional formatting characters are not allowed",
                u32::from(c),
                i + 1
            )
        })
}

/// `text` as it may be printed: every unsafe character written as an escape
/// (`\u{1b}`), and at most `max` characters of it, `…` marking a cut.
pub fn shown(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        push_shown(&mut out, c);
    }
    out
}

/// Appends `c` as [`shown`] would print it.
pub fn push_shown(out: &mut String, c: char) {
    if is_unsafe(c) {
        out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_controls_bidi_and_length() {
        assert_eq!(id_problem("evt_1"), None);
        assert!(
            id_problem(&"x".repeat(MAX_ID + 1))
                .unwrap()
                .contains("at most 200")
        );
        for bad in [
            "a\u{0}b",
            "a\u{1b}[31mb",
            "abc\u{202E}cba",
            "a\u{2066}b",
            "a\nb",
            "a\u{85}",
        ] {
            let problem = external_key_problem("customer.key", bad).unwrap();
            assert!(problem.contains("U+"), "{bad:?}: {problem}");
        }
        assert!(
            external_key_problem("customer.key", " ")
                .unwrap()
                .contains("empty")
        );
        assert_eq!(external_key_problem("k", "cus_Nf2x Ünïcode ✓"), None);
        assert_eq!(name_problem("partner.name", "Ünal Ağaoğlu مرحبا"), None);
        assert!(name_problem("partner.name", "x\u{202E}").is_some());
    }

    #[test]
    fn emails_have_one_at_and_no_spaces() {
        assert_eq!(email_problem("e", "a@b.example"), None);
        for bad in ["ab", "@b", "a@", "a@b@c", "a b@c", "a@b\u{1b}"] {
            assert!(email_problem("e", bad).is_some(), "{bad}");
        }
        assert!(
            email_problem("e", &format!("{}@b", "a".repeat(300)))
                .unwrap()
                .contains("at most 254")
        );
    }

    #[test]
    fn shown_escapes_and_cuts() {
        assert_eq!(
            shown("a\u{1b}]0;pwned\u{7}b", 100),
            "a\\u{1b}]0;pwned\\u{7}b"
        );
        assert_eq!(shown("abc\u{202E}", 100), "abc\\u{202e}");
        assert_eq!(shown("abcdef", 3), "abc…");
        assert_eq!(shown("abc", 3), "abc");
    }
}
