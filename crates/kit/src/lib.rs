//! The service kit: everything a service needs that is not its business logic.
//!
//! A service's `src/platform.rs` is rendered from platform.toml: its [`app::Manifest`] (stores,
//! topics, calls) and a `Platform` struct of exactly what it declared. The kit reads the
//! [`config`] from the environment, opens those stores ([`db`], [`redis`], [`kafka`]; lazily, so a
//! store that is down makes the service not ready instead of crashing it), starts the
//! [`outbox`] relay, builds the readiness checks ([`health`]) and hands the service its
//! `Platform`. The service's `Application::build` turns that into a router and binds an
//! [`app::Server`], which adds the platform endpoints and middleware ([`http`]).
//!
//! Handlers take input through [`extract`] (problem documents on bad input), check it with
//! [`validate`], identify the caller with [`auth`], reach other services with [`client`], page
//! with [`pagination`], cache with [`cache`], count money with [`money`] and name things with
//! [`id`]. They fail with their own error enums implementing [`ApiError`]; [`problem`] turns them
//! into RFC 9457 responses (503 with `Retry-After` when a dependency is down). Every background
//! task runs on the [`shutdown`] tracker, so the process drains before it exits. Tests use
//! [`testing`] (feature `testing`): the real application on port 0 against a fresh database, a
//! private Redis prefix and an embedded broker.

/// Every binary built on the kit allocates with mimalloc (see the workspace Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod app;
pub mod auth;
pub mod broker;
pub mod cache;
pub mod client;
pub mod config;
pub mod db;
pub mod extract;
pub mod health;
pub mod http;
pub mod id;
pub mod json_log;
pub mod jwt;
pub mod kafka;
pub mod log_writer;
pub mod mailsink;
pub mod money;
pub mod openapi;
pub mod outbox;
pub mod pagination;
pub mod postal;
pub mod problem;
pub mod redis;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod validate;
pub mod webhook;

pub use extract::Json;
pub use id::Id;
pub use problem::{ApiError, Problem, Rejection, Result};
pub use shutdown::Shutdown;
