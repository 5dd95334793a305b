//! Reading a file of Stripe events for a replay: Stripe's list object (as
//! `stripe events list` prints it), a JSON array of events, or NDJSON. The
//! events come back oldest first, as they happened: Stripe lists newest first.

use serde::Deserialize;
use serde_json::value::RawValue;

/// One event of a file, not yet read beyond its id and time.
#[derive(Debug, Clone)]
pub struct FileEvent {
    /// 1-based line where the event starts.
    pub line: usize,
    /// The event, on one line.
    pub text: String,
    pub id: Option<String>,
    pub created: Option<i64>,
    /// Why the text is not JSON, when it is not (a line of NDJSON).
    pub problem: Option<String>,
}

#[derive(Deserialize)]
struct Stamp {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    created: Option<i64>,
}

#[derive(Deserialize)]
struct ListObject<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
    #[serde(default)]
    has_more: bool,
}

/// The id of an event's JSON, when it has one.
pub fn id_of(text: &str) -> Option<String> {
    serde_json::from_str::<Stamp>(text).ok()?.id
}

fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn stamped(text: &str, raw: &RawValue) -> FileEvent {
    let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
    let stamp = serde_json::from_str::<Stamp>(raw.get()).ok();
    FileEvent {
        line: line_at(text, offset),
        // A newline is only ever whitespace between JSON tokens.
        text: raw.get().replace(['\n', '\r'], " "),
        id: stamp.as_ref().and_then(|s| s.id.clone()),
        created: stamp.and_then(|s| s.created),
        problem: None,
    }
}

/// The events of a file, oldest first (by `created`, then id); and whether
/// the list says Stripe has more than it holds (`has_more`).
pub fn read_file(text: &str) -> Result<(Vec<FileEvent>, bool), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    let (mut events, has_more) = if trimmed.starts_with('{')
        && let Ok(list) = serde_json::from_str::<ListObject>(text)
    {
        (
            list.data.iter().map(|raw| stamped(text, raw)).collect(),
            list.has_more,
        )
    } else if trimmed.starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(text)
            .map_err(|e| format!("the file is not a JSON array of Stripe events: {e}"))?;
        (items.iter().map(|raw| stamped(text, raw)).collect(), false)
    } else {
        let events: Vec<FileEvent> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                let stamp = serde_json::from_str::<Stamp>(l).ok();
                FileEvent {
                    line: i + 1,
                    text: l.to_owned(),
                    id: stamp.as_ref().and_then(|s| s.id.clone()),
                    created: stamp.and_then(|s| s.created),
                    problem: serde_json::from_str::<&RawValue>(l)
                        .err()
                        .map(|e| format!("not a Stripe event: not JSON: {e}")),
                }
            })
            .collect();
        (events, false)
    };
    events.sort_by(|a, b| (a.created, &a.id, a.line).cmp(&(b.created, &b.id, b.line)));
    Ok((events, has_more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_arrays_and_ndjson_come_back_oldest_first() {
        let list = r#"{
  "object": "list",
  "data": [
    {"id": "evt_2", "object": "event", "created": 200},
    {"id": "evt_1", "object": "event", "created": 100}
  ],
  "has_more": true,
  "url": "/v1/events"
}"#;
        let (events, more) = read_file(list).unwrap();
        assert!(more);
        assert_eq!(
            events
                .iter()
                .map(|e| (e.id.as_deref(), e.line))
                .collect::<Vec<_>>(),
            [(Some("evt_1"), 5), (Some("evt_2"), 4)]
        );
        let array = "[{\"id\":\"b\",\"created\":2},\n{\"id\":\"a\",\"created\":2}]";
        let (events, _) = read_file(array).unwrap();
        assert_eq!(events[0].id.as_deref(), Some("a"));
        assert_eq!(events[0].line, 2);
        let ndjson = "{\"id\":\"x\",\"created\":9}\n\nnot json\n{\"id\":\"y\",\"created\":1}\n";
        let (events, _) = read_file(ndjson).unwrap();
        assert_eq!(
            events.iter().map(|e| e.line).collect::<Vec<_>>(),
            [3, 4, 1],
            "an event without a time goes first, to be reported"
        );
    }
}
