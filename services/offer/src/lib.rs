//! Coupons and promotions: validation, discounts, usage limits.
//!
//! Layout: `platform` (rendered from `[services.offer]` in platform.toml: what the service
//! declares and what the kit opens for it), `config` (its own settings), `startup` (the
//! `Application` and its router), `routes/` (one module per resource), `model` (the API's
//! types), `domain` (coupon rules, pure: codes, the discount, why a coupon does not apply),
//! `coupons` (what the routes do), `storage` (queries; migrations in `migrations/`).
//!
//! Concurrency: a redemption locks its coupon's row while it counts the uses, so the total and
//! per-user limits hold however many checkouts run at once; redemptions and releases are keyed by
//! the order, so retries are harmless.

pub mod config;
pub mod coupons;
pub mod domain;
pub mod model;
pub mod platform;
pub mod routes;
pub mod startup;
pub mod storage;

pub use config::{Config, Settings};
pub use startup::Application;
