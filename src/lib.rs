//! partnerops: partner-program config in git, and the engine that runs it.

pub mod cli;
pub mod client;
pub mod config;
pub mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub mod plan;
pub mod problem;
pub mod sample;
pub mod schema;
pub mod server;
pub mod spec;
pub mod store;
pub mod suggest;
