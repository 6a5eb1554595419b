//! Builds the application from what the kit opened (database, Redis, the outbox relay already
//! running) and runs it until shutdown.
//!
//! `build` parses nothing twice (the config already holds the parsed signing key), prepares
//! password hashing on the blocking pool and binds the port. On shutdown the server drains and
//! the relay makes a last pass before the process exits.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::FromRef;
use kit::app::{Api, Server};
use kit::auth::Verifier;
use utoipa::OpenApi as _;

use crate::config::Config;
use crate::passwords::Passwords;
use crate::platform::Platform;
use crate::rate_limit::SigninLimiter;
use crate::routes::{self, ApiDoc};
use crate::tokens::AccessTokens;

/// Shared state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: sqlx::PgPool,
    pub passwords: Passwords,
    pub tokens: AccessTokens,
    pub signin_limiter: SigninLimiter,
}

/// auth verifies its own tokens with the keys it signs with, the keys the JWKS publishes.
impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        Verifier::local(state.tokens.keys().clone())
    }
}

/// The service, bound and ready to serve.
pub struct Application {
    server: Server,
}

impl Application {
    /// Prepares hashing and token signing, builds the router and binds the port.
    pub async fn build(config: Config, platform: Platform) -> anyhow::Result<Self> {
        let cost = config.service.password_cost;
        let passwords = tokio::task::spawn_blocking(move || Passwords::new(cost))
            .await
            .context("password hashing setup panicked")??;
        let tokens = AccessTokens::new(&config)?;
        // user.erased: the account goes (credentials and refresh tokens).
        let db = platform.db.clone();
        platform.subscription.clone().run(move |envelope| {
            let db = db.clone();
            async move { crate::erasure::handle(&db, envelope).await }
        });
        let state = AppState {
            signin_limiter: SigninLimiter::new(platform.redis, config.service.signin_limits),
            config: Arc::new(config),
            db: platform.db,
            passwords,
            tokens,
        };
        let api = Api::new(ApiDoc::openapi(), router(state.clone()));
        let server = Server::bind(api, &state.config.common, &platform.runtime).await?;
        Ok(Self { server })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Serves until a stop signal, then drains.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.server.run_until_stopped().await
    }
}

/// The service's API routes (the kit adds the platform endpoints).
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}
