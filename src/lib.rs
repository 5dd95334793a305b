//! partnerops: partner-program config in git, and the engine that runs it.
// Whole Stripe objects (src/sources/stripe/fixtures.rs) are larger than
// `json!` expands within the default limit.
#![recursion_limit = "256"]

pub mod cli;
pub mod client;
pub mod config;
pub mod engine;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod history;
pub mod plan;
pub mod plural;
pub mod problem;
pub mod sample;
pub mod schema;
pub mod server;
pub mod sources;
pub mod spec;
pub mod store;
pub mod suggest;
pub mod telemetry;
