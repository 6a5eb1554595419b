//! Single API entry: routes by prefix, verifies JWTs against auth's JWKS, rate limits.
//!
//! Layout: `platform` (rendered from `[services.api-gateway]` in platform.toml, with the routing
//! table), `config` (its own settings), `startup` (the `Application`), `routing` (longest-prefix
//! matching of the rendered table), `proxy` (the request's way through), `headers` (what crosses
//! the gateway), `limits` (rate limits in Redis), `routes` (its OpenAPI document).

pub mod config;
pub mod headers;
pub mod limits;
pub mod platform;
pub mod proxy;
pub mod routes;
pub mod routing;
pub mod startup;

pub use config::{Config, Settings};
pub use startup::Application;
