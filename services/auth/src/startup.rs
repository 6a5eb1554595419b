//! Builds the application (stores, router, listener) and runs it until shutdown.
//!
//! `build` connects to PostgreSQL (migrating it), Redis and Kafka, parses nothing twice (the
//! config already holds the parsed signing key), prepares password hashing and binds the port.
//! `run_until_stopped` starts the outbox relay on the shutdown tracker, then serves; on shutdown
//! the server drains and the relay makes a last pass before the process exits.

use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::FromRef;
use kit::Shutdown;
use kit::health::{Check, Readiness};
use kit::jwt::KeySet;
use kit::outbox::Relay;
use tokio::net::TcpListener;
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

/// The running service: bound, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    relay: Relay,
    shutdown: Shutdown,
    grace: Duration,
}

impl Application {
    /// Connects to the stores (migrating the database), builds the router and binds the port
    /// (0 picks a free one).
    pub async fn build(config: Config, shutdown: Shutdown) -> anyhow::Result<Self> {
        let common = &config.common;
        let db = kit::db::open(common, &crate::storage::MIGRATOR).await?;
        let redis = kit::redis::RedisStore::open(common).await?;
        let producer = kit::kafka::Producer::open(common)?;
        let readiness = Readiness::new(&shutdown)
            .with(Check::Postgres(db.clone()))
            .with(Check::Redis(redis.clone()))
            .with(Check::Kafka(producer.clone()));
        let cost = config.password_cost;
        let passwords = tokio::task::spawn_blocking(move || Passwords::new(cost))
            .await
            .context("password hashing setup panicked")??;
        let tokens = AccessTokens::new(&config).context("invalid signing keys")?;
        let listener = kit::http::bind(&common.host, common.port).await?;
        let grace = common.shutdown_grace;
        let timeout = common.request_timeout;
        let relay = Relay::new(db.clone(), producer);
        let state = AppState {
            signin_limiter: SigninLimiter::new(redis, config.signin_limits),
            config: std::sync::Arc::new(config),
            db,
            passwords,
            tokens,
        };
        let router = kit::http::ServiceRouter::new(crate::NAME, ApiDoc::openapi(), readiness)
            .request_timeout(timeout)
            .finish(router(state));
        Ok(Self {
            listener,
            router,
            relay,
            shutdown,
            grace,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Starts the outbox relay, serves until shutdown, then drains.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.shutdown.spawn(self.relay.run(self.shutdown.clone()));
        kit::http::run(self.listener, self.router, self.shutdown, self.grace).await
    }
}

/// The service's API routes (platform endpoints are added by the kit).
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}
