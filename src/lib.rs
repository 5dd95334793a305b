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

// Every program that links the engine (the binary, its tests and benches)
// allocates through mimalloc, so a bench measures what ships: under glibc's
// malloc a fifth of the time of a batch of events went to consolidating and
// unlinking free chunks (perf on `cargo bench --bench runtime`), since a
// batch allocates and frees strings of every size across threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
