//! Server-rendered shop: browse, product page, cart, checkout, order history, sign-in.
//!
//! Layout: `platform` (rendered from `[services.storefront]` in platform.toml: it calls only the
//! API gateway and verifies tokens itself), `config` (its own settings), `startup` (the
//! `Application` and its router), `pages` (the HTML pages and forms), `session` (signed cookies,
//! transparent token refresh, CSRF), `api` (the shop's API through the gateway), `routes` (its
//! OpenAPI document). Templates are in `templates/`, the stylesheet in `static/`.

pub mod api;
pub mod config;
pub mod pages;
pub mod platform;
pub mod routes;
pub mod session;
pub mod startup;

pub use config::{Config, Settings};
pub use startup::Application;
