//! partnerops: partner-program config in git, and the engine that runs it.

pub mod cli;
pub mod config;
pub mod sample;
pub mod schema;
pub mod spec;
pub mod suggest;
