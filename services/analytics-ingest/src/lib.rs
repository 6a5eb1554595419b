//! Batched, schema-checked event collection API to Kafka.
//!
//! Layout: `config` (settings from the environment), `startup` (the `Application`, a
//! `kit::app::Service`, and the router), `routes/` (one module per resource). Declared in platform.toml as `[services.analytics-ingest]`.

pub mod config;
pub mod routes;
pub mod startup;

pub use config::Config;
pub use startup::Application;

/// The service's name, as in platform.toml.
pub const NAME: &str = "analytics-ingest";
