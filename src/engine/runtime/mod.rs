//! The automation runtime: what events do to partners, customers, tags and
//! money, whatever order they arrive in.
//!
//! - [`attribution`]: a transaction's partner and product, from the
//!   customer's side;
//! - [`fold`]: a partner's history, event by event: stats, automations,
//!   commissions;
//! - [`daily`]: when the daily checks come due;
//! - [`batch`]: a batch of events in order, on the fast path or marking
//!   partners for a replay;
//! - [`replay`]: a partner's history folded again, and the difference
//!   recorded.

pub mod attribution;
pub mod batch;
pub mod config;
pub mod daily;
pub mod fold;
pub mod replay;
pub mod state;

pub use config::{RuntimeConfig, SharedConfig};
