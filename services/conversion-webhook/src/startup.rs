//! Builds the application (stores, router, server) and the state handlers share.

use axum::Router;
use kit::Shutdown;
use kit::app::{Server, Service};
use kit::config::{CommonConfig, ConfigError};
use kit::health::{Check, Readiness};
use utoipa::OpenApi;

use crate::config::Config;
use crate::routes::{self, ApiDoc};

/// Shared state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: std::sync::Arc<Config>,
    pub db: sqlx::PgPool,
    pub producer: kit::kafka::Producer,
}

/// The service, bound and ready to serve.
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

    /// Connects to the stores (migrating the database), builds the router and binds the port.
    async fn build(config: Config, shutdown: Shutdown) -> anyhow::Result<Self> {
        let common = &config.common;
        let db = kit::db::open(common, &crate::storage::MIGRATOR).await?;
        let producer = kit::kafka::Producer::open(common)?;
        let readiness = Readiness::new(&shutdown).with(Check::Postgres(db.clone()));
        // Publishes the events handlers write to the outbox, until shutdown.
        shutdown.spawn(kit::outbox::Relay::new(db.clone(), producer.clone()).run(shutdown.clone()));
        let common = common.clone();
        let state = AppState {
            config: std::sync::Arc::new(config),
            db,
            producer,
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
