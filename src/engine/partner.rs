//! A partner as the runtime sees it: who they are, their stats, their tags.
//! The record lives with the store's records.

pub use crate::store::record::{Partner, Stats};
