//! Event sources: systems whose own webhooks become partnerops events. Each
//! source translates and hands its events to the engine through
//! [`crate::engine::Engine::ingest`], like any sender.

pub mod stripe;
