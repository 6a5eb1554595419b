//! Sign-up, sign-in, JWT access tokens, rotating refresh tokens, JWKS, roles.
//!
//! Layout: `config` (settings from the environment), `startup` (`Application::build` and the
//! router), `routes/` (one module per resource), `domain/` (types that parse at the edge:
//! e-mail, password policy, refresh token, signing key), `passwords` (Argon2id hashing),
//! `tokens` (issuing access tokens), `rate_limit` (sign-in limits in Redis), `storage`
//! (migrations and queries). Declared in platform.toml as `[services.auth]`; publishes
//! `user.registered` on `user.v1` through the outbox. Other services verify its access tokens
//! with `kit::jwt` and the JWKS at `/.well-known/jwks.json`.

pub mod config;
pub mod domain;
pub mod passwords;
pub mod rate_limit;
pub mod routes;
pub mod startup;
pub mod storage;
pub mod tokens;

pub use config::Config;
pub use startup::Application;

/// The service's name, as in platform.toml.
pub const NAME: &str = "auth";
