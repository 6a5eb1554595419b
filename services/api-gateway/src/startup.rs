//! Builds the application (stores, router, listener) and runs it until shutdown.

use std::time::Duration;

use axum::Router;
use kit::Shutdown;
use kit::health::{Check, Readiness};
use tokio::net::TcpListener;
use utoipa::OpenApi;

use crate::config::Config;
use crate::routes::{self, ApiDoc};

/// Shared state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: std::sync::Arc<Config>,
    pub redis: kit::redis::RedisStore,
}

/// The running service: bound, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
    grace: Duration,
}

impl Application {
    /// Connects to the stores (migrating the database), builds the router and binds the port
    /// (0 picks a free one).
    pub async fn build(config: Config, shutdown: Shutdown) -> anyhow::Result<Self> {
        let common = &config.common;
        let redis = kit::redis::RedisStore::open(common).await?;
        let readiness = Readiness::new(&shutdown).with(Check::Redis(redis.clone()));
        let listener = kit::http::bind(&common.host, common.port).await?;
        let grace = common.shutdown_grace;
        let timeout = common.request_timeout;
        let state = AppState {
            config: std::sync::Arc::new(config),
            redis,
        };
        let router = kit::http::ServiceRouter::new(crate::NAME, ApiDoc::openapi(), readiness)
            .request_timeout(timeout)
            .finish(router(state));
        Ok(Self {
            listener,
            router,
            shutdown,
            grace,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until shutdown, then drains.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        kit::http::run(self.listener, self.router, self.shutdown, self.grace).await
    }
}

/// The service's API routes (platform endpoints are added by the kit).
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}
