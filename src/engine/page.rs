//! Lists a page at a time: every list the engine serves answers at most
//! `limit` items and an opaque `next_cursor` that asks for the next page, so
//! no answer grows with the data (a ledger of 200,000 lines, a partner with
//! years of tag changes).
//!
//! A cursor names the list it came from and where that page ended. It is
//! opaque to clients (they pass it back as they got it) but not secret: it
//! holds a key or a revision, never more than the page showed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Error;

/// The most items one page may hold.
pub const MAX_LIMIT: usize = 1_000;
/// Items on a page when the request does not say.
pub const DEFAULT_LIMIT: usize = 100;

/// A page of a list, and how to ask for the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
// A name per item type: the OpenAPI document holds one schema for each.
#[schemars(rename = "{T}Page")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page of `items`, read with one more than `limit` asked for: the
    /// extra item says there is a next page, which starts after the last
    /// item kept (`position` says where that is).
    pub fn of(
        mut items: Vec<T>,
        limit: usize,
        list: &str,
        position: impl Fn(&T) -> String,
    ) -> Page<T> {
        if items.len() <= limit {
            return Page {
                items,
                next_cursor: None,
            };
        }
        items.truncate(limit);
        let next_cursor = items.last().map(|last| encode(list, &position(last)));
        Page { items, next_cursor }
    }
}

/// The page size a request asks for: `limit`, or [`DEFAULT_LIMIT`].
pub fn limit(limit: Option<usize>) -> Result<usize, Error> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n @ 1..=MAX_LIMIT) => Ok(n),
        Some(n) => Err(Error::BadRequest(format!(
            "`limit` must be from 1 to {MAX_LIMIT}, not {n}"
        ))),
    }
}

/// A cursor for `list` that starts after `position`.
pub fn encode(list: &str, position: &str) -> String {
    hex::encode(format!("{list}\n{position}"))
}

/// Where a cursor of `list` starts; `None` for the first page.
pub fn decode(list: &str, cursor: Option<&str>) -> Result<Option<String>, Error> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let bad = || {
        Error::BadRequest(
            "`cursor` is not one this list gave out: pass `next_cursor` from the previous page as it came".to_owned(),
        )
    };
    let text = hex::decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    match text.split_once('\n') {
        Some((name, position)) if name == list => Ok(Some(position.to_owned())),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_name_their_list() {
        let page = Page::of(vec!["a", "b", "c"], 2, "partners", |s| (*s).to_owned());
        assert_eq!(page.items, ["a", "b"]);
        let cursor = page.next_cursor.unwrap();
        assert_eq!(
            decode("partners", Some(&cursor)).unwrap().as_deref(),
            Some("b")
        );
        assert!(decode("tokens", Some(&cursor)).is_err());
        assert!(decode("partners", Some("zz")).is_err());
        assert_eq!(decode("partners", None).unwrap(), None);
        let last = Page::of(vec!["a"], 2, "partners", |s| (*s).to_owned());
        assert_eq!(last.next_cursor, None);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(MAX_LIMIT + 1)).is_err());
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
    }
}
