//! The service kit: everything a service needs that is not its business logic.
//!
//! A service implements [`app::Service`] in its `startup.rs`: it reads its [`config`], opens its
//! stores ([`db`], [`redis`], [`kafka`]), builds its API router and binds an [`app::Server`],
//! which adds health, readiness, metrics, OpenAPI and the shared middleware
//! ([`http::ServiceRouter`]); its `main` is [`app::main`]. Workers (HTTP server, [`outbox::Relay`], consumers) run on the [`shutdown`]
//! tracker so the process drains before it exits. Handlers fail with their own error enums mapped
//! to [`problem::Problem`]. Tests use [`testing`] (feature `testing`) for a fresh database, a
//! private Redis prefix and an embedded broker.

pub mod app;
pub mod broker;
pub mod config;
pub mod db;
pub mod health;
pub mod http;
pub mod jwt;
pub mod kafka;
pub mod outbox;
pub mod problem;
pub mod redis;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use problem::{ApiError, Problem, ValidJson};
pub use shutdown::Shutdown;

/// Lowercase hexadecimal of `bytes` (trace ids, key ids, hashed keys, generated tokens).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}
