//! Admin UI: products, stock, offers, flags, orders, audit log, reports.
//!
//! Layout: `config` (settings from the environment), `startup` (the `Application`, a
//! `kit::app::Service`, and the router), `routes/` (one module per resource). Declared in platform.toml as `[services.admin-backoffice]`.

pub mod config;
pub mod routes;
pub mod startup;

pub use config::Config;
pub use startup::Application;

/// The service's name, as in platform.toml.
pub const NAME: &str = "admin-backoffice";
