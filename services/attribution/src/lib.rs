//! Last-touch attribution of orders and conversions to clicks and visits.
//!
//! Layout: `config` (settings from the environment), `startup` (the `Application`, a
//! `kit::app::Service`, and the router), `routes/` (one module per resource), `storage`
//! (migrations and queries). Declared in platform.toml as `[services.attribution]`.

pub mod config;
pub mod routes;
pub mod startup;
pub mod storage;

pub use config::Config;
pub use startup::Application;

/// The service's name, as in platform.toml.
pub const NAME: &str = "attribution";
