//! Builds the application (stores, router, listener) and runs it until shutdown.
//!
//! `build` connects to PostgreSQL (migrating it), Redis and Kafka, parses nothing twice (the
//! config already holds the parsed signing key), prepares password hashing, starts the outbox
//! relay on the shutdown tracker and binds the port. On shutdown the server drains and the relay
//! makes a last pass before the process exits.

use anyhow::Context as _;
use axum::Router;
use axum::extract::FromRef;
use kit::Shutdown;
use kit::app::{Server, Service};
use kit::config::{CommonConfig, ConfigError};
use kit::health::{Check, Readiness};
use kit::jwt::KeySet;
use kit::outbox::Relay;
use utoipa::OpenApi;

use crate::config::Config;
use crate::passwords::Passwords;
use crate::rate_limit::SigninLimiter;
use crate::routes::{self, ApiDoc};
use crate::tokens::AccessTokens;

/// Shared state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: std::sync::Arc<Config>,
    pub db: sqlx::PgPool,
    pub passwords: Passwords,
    pub tokens: AccessTokens,
    pub signin_limiter: SigninLimiter,
}

/// Lets [`kit::jwt::Authenticated`] find the keys that verify access tokens.
impl FromRef<AppState> for KeySet {
    fn from_ref(state: &AppState) -> Self {
        state.tokens.keys().clone()
    }
}

/// The service, bound and ready to serve; the outbox relay runs on the shutdown tracker.
pub struct Application {
    server: Server,
}

impl Service for Application {
    const NAME: &'static str = crate::NAME;
    type Config = Config;

    fn config_from_env() -> Result<Config, ConfigError> {
        Config::from_env()
    }

    fn common(config: &Config) -> &CommonConfig {
        &config.common
    }

    /// Connects to the stores (migrating the database), starts the outbox relay, builds the
    /// router and binds the port.
    async fn build(config: Config, shutdown: Shutdown) -> anyhow::Result<Self> {
        let common = config.common.clone();
        let db = kit::db::open(&common, &crate::storage::MIGRATOR).await?;
        let redis = kit::redis::RedisStore::open(&common).await?;
        let producer = kit::kafka::Producer::open(&common)?;
        let readiness = Readiness::new(&shutdown)
            .with(Check::Postgres(db.clone()))
            .with(Check::Redis(redis.clone()));
        // No Kafka check: events go through the outbox, so a broker outage delays them but does
        // not stop sign-ups.
        let cost = config.password_cost;
        let passwords = tokio::task::spawn_blocking(move || Passwords::new(cost))
            .await
            .context("password hashing setup panicked")??;
        let tokens = AccessTokens::new(&config).context("invalid signing keys")?;
        shutdown.spawn(Relay::new(db.clone(), producer).run(shutdown.clone()));
        let state = AppState {
            signin_limiter: SigninLimiter::new(redis, config.signin_limits),
            config: std::sync::Arc::new(config),
            db,
            passwords,
            tokens,
        };
        let server = Server::bind(
            &common,
            crate::NAME,
            ApiDoc::openapi(),
            readiness,
            router(state),
            shutdown,
        )
        .await?;
        Ok(Self { server })
    }

    fn server(&self) -> &Server {
        &self.server
    }

    fn into_server(self) -> Server {
        self.server
    }
}

/// The service's API routes (platform endpoints are added by the kit).
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}
