//! Erasing a partner's personal data (`partnerops partner erase KEY`): their
//! name and email go from the partner, and from every stored event body that
//! held them, in one transaction. Keys, money, tags and every other field
//! stay, so the stored events still replay to the same tags and commissions;
//! the erasure itself is recorded and shown with the partner.
//!
//! Customers are known by key only (events carry no customer name or email),
//! so a partner's customers hold nothing to erase.

use chrono::Utc;

use super::{Engine, Error, Result};

pub use crate::store::erasure::Erasure;

/// The personal fields of a partner in an event body.
pub const PERSONAL_FIELDS: [&str; 2] = ["name", "email"];

impl Engine {
    /// Erases partner `key`'s name and email everywhere the engine keeps
    /// them; a partner erased before is erased again (later events may have
    /// brought new ones).
    pub async fn erase_partner(&self, program: &str, key: &str) -> Result<Erasure> {
        if self.store.partner(program, key).await?.is_none() {
            return Err(Error::NotFound(format!(
                "program `{program}` has no partner `{key}`"
            )));
        }
        self.store.erase_partner(program, key, Utc::now()).await
    }

    /// When the partner's personal data was erased, latest first.
    pub async fn erasures(&self, program: &str, key: &str) -> Result<Vec<Erasure>> {
        self.store.erasures(program, key).await
    }
}
