//! Server-rendered shop: browse, product page, cart, checkout, order history, sign-in.
//!
//! Layout: `config` (settings from the environment), `startup` (the `Application`, a
//! `kit::app::Service`, and the router), `routes/` (one module per resource). Declared in platform.toml as `[services.storefront]`.

pub mod config;
pub mod routes;
pub mod startup;

pub use config::Config;
pub use startup::Application;

/// The service's name, as in platform.toml.
pub const NAME: &str = "storefront";
