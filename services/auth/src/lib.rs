//! Sign-up, sign-in, JWT access tokens, rotating refresh tokens, JWKS, roles.
//!
//! Layout: `platform` (rendered from `[services.auth]` in platform.toml), `config` (its own
//! settings), `startup` (`Application::build` and the router), `routes/` (one module per
//! resource), `domain/` (types that parse at the edge: e-mail, password policy, refresh token,
//! signing key), `passwords` (Argon2id hashing), `tokens` (issuing access tokens), `rate_limit`
//! (sign-in limits in Redis), `storage` (queries). auth is the `[tokens]` signer: it publishes
//! `user.registered` on `user.v1` through the outbox, and every service with `verify_tokens`
//! checks its access tokens with `kit::auth` and the JWKS at `/.well-known/jwks.json`.

pub mod config;
pub mod domain;
pub mod erasure;
pub mod passwords;
pub mod platform;
pub mod rate_limit;
pub mod routes;
pub mod startup;
pub mod storage;
pub mod tokens;

pub use config::{Config, Settings};
pub use startup::Application;
