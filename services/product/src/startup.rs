//! Builds the application from what the kit opened (database, Redis, the outbox relay, the token
//! verifier) and runs it until shutdown.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use kit::app::{Api, Server};
use kit::auth::Verifier;
use utoipa::OpenApi as _;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::platform::Platform;
use crate::routes::{self, ApiDoc};

/// Products with their variants' inline images can be large.
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Shared state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub catalog: Catalog,
    pub tokens: Verifier,
}

/// Lets the `kit::auth` extractors (`MaybeUser`, `Admin`) check tokens.
impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.tokens.clone()
    }
}

/// The service, bound and ready to serve.
pub struct Application {
    server: Server,
}

impl Application {
    /// Makes the catalog and the router and binds the port (0 picks a free one).
    pub async fn build(config: Config, platform: Platform) -> anyhow::Result<Self> {
        let state = AppState {
            catalog: Catalog::new(platform.db, platform.redis, config.service.cache_ttl),
            config: Arc::new(config),
            tokens: platform.tokens,
        };
        let api = Api::new(ApiDoc::openapi(), router(state.clone())).body_limit(BODY_LIMIT);
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
