//! Catalog, categories, search, prices and stock.
//!
//! Layout: `platform` (rendered from `[services.product]` in platform.toml), `config` (its own
//! settings), `startup` (the `Application` and its router), `routes/` (one module per resource),
//! `model` (the API's types and ids), `domain` (values parsed at the edge: slugs, SKUs, images,
//! prices), `catalog` (reads through the Redis cache, writes with invalidation and outbox
//! events), `search` (full-text search with typo correction), `storage` (queries; migrations in
//! `migrations/`). Publishes `product.created`, `product.updated` and `stock.changed` on
//! `catalog.v1` through the outbox.

pub mod catalog;
pub mod config;
pub mod domain;
pub mod model;
pub mod platform;
pub mod routes;
pub mod search;
pub mod startup;
pub mod storage;

pub use config::{Config, Settings};
pub use startup::Application;
