//! Shared test helpers; each test binary uses some of them.
#![allow(dead_code)]

pub mod arbitrary;
pub mod cli;
pub mod program;
pub mod hooks;
pub mod raw;
pub mod receiver;
pub mod server;
