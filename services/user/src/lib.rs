//! Profiles and addresses.
//!
//! Layout: `platform` (rendered from `[services.user]` in platform.toml: what the service
//! declares and what the kit opens for it), `config` (its own settings), `startup` (the
//! `Application` and its router), `routes/` (one module per resource).

pub mod config;
pub mod platform;
pub mod profiles;
pub mod routes;
pub mod startup;

pub use config::{Config, Settings};
pub use startup::Application;
