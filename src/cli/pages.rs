//! Lists printed as their pages arrive: a command walks `next_cursor` and
//! prints each page before asking for the next, so neither memory nor the
//! wait for the first line grows with the list.

use serde::Serialize;

use super::output;
use crate::engine::page::Page;

/// Items per page the CLI asks for: the most a page may hold.
pub const PAGE: usize = crate::engine::page::MAX_LIMIT;

/// Fetches pages with `next` (given the cursor, `None` first) and hands each
/// page's items to `each`, until the last page. Returns how many there were.
pub async fn walk<T>(
    next: impl AsyncFnMut(Option<String>) -> crate::engine::Result<Page<T>>,
    each: impl FnMut(Vec<T>) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    walk_from(None, next, each).await
}

/// [`walk`] from a first page already read, when there is one.
pub async fn walk_from<T>(
    first: Option<Page<T>>,
    mut next: impl AsyncFnMut(Option<String>) -> crate::engine::Result<Page<T>>,
    mut each: impl FnMut(Vec<T>) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    let mut page = match first {
        Some(page) => page,
        None => next(None).await?,
    };
    let mut count = 0;
    loop {
        count += page.items.len();
        let cursor = page.next_cursor.take();
        each(page.items)?;
        match cursor {
            Some(c) => page = next(Some(c)).await?,
            None => return Ok(count),
        }
    }
}

/// A JSON array written an element at a time, laid out as
/// `serde_json::to_string_pretty` lays out the whole array.
#[derive(Default)]
pub struct JsonList {
    started: bool,
}

impl JsonList {
    pub fn push<T: Serialize>(&mut self, item: &T) -> anyhow::Result<()> {
        output::print(&self.chunk(item)?)
    }

    pub fn finish(self) -> anyhow::Result<()> {
        output::println(self.end())
    }

    /// What `push` prints.
    fn chunk<T: Serialize>(&mut self, item: &T) -> anyhow::Result<String> {
        let text = serde_json::to_string_pretty(item)?;
        let mut out = String::from(if self.started { ",\n" } else { "[\n" });
        self.started = true;
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str("  ");
            out.push_str(line);
        }
        Ok(out)
    }

    /// What `finish` prints, less the newline.
    fn end(&self) -> &'static str {
        if self.started { "\n]" } else { "[]" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_list_reads_as_the_whole_list_printed_at_once() {
        let items = vec![
            serde_json::json!({"a": [1, 2], "b": "x\ny"}),
            serde_json::json!(3),
        ];
        for items in [&items[..], &items[..1], &[]] {
            let mut list = JsonList::default();
            let mut text = String::new();
            for item in items {
                text.push_str(&list.chunk(item).unwrap());
            }
            text.push_str(list.end());
            assert_eq!(text, serde_json::to_string_pretty(items).unwrap());
        }
    }
}
