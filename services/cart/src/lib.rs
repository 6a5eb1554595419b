//! Carts per user or anonymous session, with TTL and merge on sign-in.
//!
//! Layout: `platform` (rendered from `[services.cart]` in platform.toml), `config` (its own
//! settings), `startup` (the `Application` and its router), `routes/` (one module per resource),
//! `store` (carts in Redis, changed by atomic scripts), `catalog` (what product says of the
//! variants in a cart), `view` (a cart with current prices and totals). Publishes
//! `cart.item_added`, `cart.item_removed` and `cart.merged` on `cart.v1`.

pub mod catalog;
pub mod config;
pub mod platform;
pub mod routes;
pub mod startup;
pub mod store;
pub mod view;

pub use config::{Config, Settings};
pub use startup::Application;
