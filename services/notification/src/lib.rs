//! E-mails for order and account events.
//!
//! Layout: `platform` (rendered from `[services.notification]` in platform.toml: what the service
//! declares and what the kit opens for it), `config` (its own settings), `startup` (the
//! `Application` and its router), `routes/` (one module per resource).

pub mod config;
pub mod emails;
pub mod notify;
pub mod platform;
pub mod routes;
pub mod startup;

pub use config::{Config, Settings};
pub use startup::Application;
