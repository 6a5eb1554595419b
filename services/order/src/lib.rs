//! Checkout with idempotency keys, stock reservation, offers; order lifecycle.
//!
//! Layout: `platform` (rendered from `[services.order]` in platform.toml: what the service
//! declares and what the kit opens for it), `config` (its own settings), `startup` (the
//! `Application`, its router and the sweeper), `routes/` (one module per resource), `model`
//! (the API's types), `orders` (checkout under an idempotency key, and the lifecycle placed →
//! paid → shipped, placed/paid → cancelled), `upstream` (product and offer: prices, stock and
//! coupon holds keyed by the order), `payments` (the provider interface, the local test-mode
//! provider and Stripe), `testing` (feature `testing`: a stand-in for Stripe's API), `storage` (queries; migrations in `migrations/`). Publishes `order.placed`,
//! `order.paid`, `order.cancelled` and `order.shipped` on `order.v1` through the outbox.

pub mod config;
pub mod model;
pub mod orders;
pub mod payments;
pub mod platform;
pub mod routes;
pub mod startup;
pub mod storage;
#[cfg(feature = "testing")]
pub mod testing;
pub mod upstream;

pub use config::{Config, Settings};
pub use startup::Application;
