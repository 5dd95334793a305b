//! The engine's lists, a page at a time (see [`super::page`]).

use super::changeset::ChangesetRecord;
use super::page::{self, Page};
use super::partner::Partner;
use super::runtime::state::{Subject, TagChange};
use super::{Engine, Error, ProgramSummary, Result};

/// Tag changes shown with a partner or customer; the rest by page.
pub const DETAIL_HISTORY: usize = 100;

/// The cursor of the page of partners (holding `tag`) after key `after`.
pub fn partners_cursor(tag: Option<&str>, after: &str) -> String {
    page::encode(&partners_list(tag), after)
}

fn partners_list(tag: Option<&str>) -> String {
    match tag {
        Some(t) => format!("partners tagged {t}"),
        None => "partners".to_owned(),
    }
}

impl Engine {
    /// Programs in key order.
    pub async fn programs_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<ProgramSummary>> {
        let after = page::decode("programs", cursor)?;
        // Programs are few: one read, cut to the page.
        let items: Vec<ProgramSummary> = self
            .store
            .programs()
            .await?
            .into_iter()
            .filter(|p| after.as_deref().is_none_or(|a| p.key.as_str() > a))
            .take(limit + 1)
            .collect();
        Ok(Page::of(items, limit, "programs", |p| p.key.clone()))
    }

    /// Partners (holding `tag`, if given) in key order.
    pub async fn partners_page(
        &self,
        program: &str,
        tag: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Partner>> {
        let list = partners_list(tag);
        let after = page::decode(&list, cursor)?;
        let items = self
            .partners(program, tag, after.as_deref(), limit + 1)
            .await?;
        Ok(Page::of(items, limit, &list, |p| p.key.clone()))
    }

    /// Applied changesets, newest first, without their changes.
    pub async fn history_page(
        &self,
        program: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<ChangesetRecord>> {
        let before = page::decode("changesets", cursor)?
            .map(|r| r.parse::<u64>())
            .transpose()
            .map_err(|_| Error::BadRequest("`cursor` is not one this list gave out".to_owned()))?;
        let items = self
            .store
            .changesets_page(program, before, limit + 1)
            .await?;
        Ok(Page::of(items, limit, "changesets", |c| {
            c.revision.to_string()
        }))
    }

    /// A partner's or customer's tag changes, oldest first.
    pub async fn tag_history_page(
        &self,
        program: &str,
        subject: Subject,
        key: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TagChange>> {
        let list = format!("{} {key} tag history", subject.as_str());
        let after = page::decode(&list, cursor)?;
        let mut items = self
            .store
            .tag_history_page(program, subject, key, after.as_deref(), limit + 1)
            .await?;
        if items.is_empty() && after.is_none() {
            // An empty history of someone who does not exist is a mistake.
            let exists = match subject {
                Subject::Partner => self.store.partner(program, key).await?.is_some(),
                Subject::Customer => self.store.customer(program, key).await?.is_some(),
            };
            if !exists {
                return Err(Error::NotFound(format!(
                    "program `{program}` has no {} `{key}`",
                    subject.as_str()
                )));
            }
        }
        let next = (items.len() > limit).then(|| {
            items.truncate(limit);
            items
                .last()
                .map(|(position, _)| page::encode(&list, position))
        });
        Ok(Page {
            items: items.into_iter().map(|(_, change)| change).collect(),
            next_cursor: next.flatten(),
        })
    }
}
