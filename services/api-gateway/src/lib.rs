//! Single API entry: routes by prefix, verifies JWTs against auth's JWKS, rate limits.
//!
//! Layout: `config` (settings from the environment), `startup` (the `Application`, a
//! `kit::app::Service`, and the router), `routes/` (one module per resource). Declared in platform.toml as `[services.api-gateway]`.

pub mod config;
pub mod routes;
pub mod startup;

pub use config::Config;
pub use startup::Application;

/// The service's name, as in platform.toml.
pub const NAME: &str = "api-gateway";
