//! Builds the application from what the kit opened for it and runs it until shutdown.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use kit::app::{Api, Server};
use kit::auth::Verifier;
use utoipa::OpenApi as _;

use crate::config::Config;
use crate::platform::Platform;
use crate::routes::{self, ApiDoc};

/// Shared state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub platform: Platform,
}

/// Lets the `kit::auth` extractors check tokens.
impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.platform.tokens.clone()
    }
}

/// The service, bound and ready to serve.
pub struct Application {
    server: Server,
}

impl Application {
    /// Makes the state and the router and binds the port (0 picks a free one).
    pub async fn build(config: Config, platform: Platform) -> anyhow::Result<Self> {
        let runtime = platform.runtime.clone();
        // user.registered makes profiles (idempotent, in any order with the user's requests).
        let db = platform.db.clone();
        platform.subscription.clone().run(move |envelope| {
            let db = db.clone();
            async move { crate::profiles::handle(&db, envelope).await }
        });
        let state = AppState {
            config: Arc::new(config),
            platform,
        };
        let api = Api::new(ApiDoc::openapi(), router(state.clone()));
        let server = Server::bind(api, &state.config.common, &runtime).await?;
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
