//! Carts per user or anonymous session, with TTL and merge on sign-in.
//!
//! Layout: `config` (settings from the environment), `startup` (the `Application`, a
//! `kit::app::Service`, and the router), `routes/` (one module per resource). Declared in platform.toml as `[services.cart]`.

pub mod config;
pub mod routes;
pub mod startup;

pub use config::Config;
pub use startup::Application;

/// The service's name, as in platform.toml.
pub const NAME: &str = "cart";
