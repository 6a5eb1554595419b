//! Builds the gateway from what the kit opened (Redis for the rate limits, the token verifier, a
//! client per routed service) and runs it until shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::any;
use http_body_util::Limited;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kit::app::{Api, Server};
use kit::auth::Verifier;
use utoipa::OpenApi as _;

use crate::config::Config;
use crate::limits::Limiter;
use crate::platform::Platform;
use crate::routes::ApiDoc;
use crate::routing::Routes;

/// The pooled HTTP/1 client requests go upstream with; bodies stream through it.
pub type UpstreamClient = Client<HttpConnector, Limited<Body>>;

/// Shared state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub routes: Arc<Routes>,
    pub tokens: Verifier,
    pub limiter: Limiter,
    pub client: UpstreamClient,
}

/// The gateway, bound and ready to serve.
pub struct Application {
    server: Server,
}

impl Application {
    /// Makes the routing table and the upstream client, and binds the port.
    pub async fn build(config: Config, platform: Platform) -> anyhow::Result<Self> {
        let settings = &config.service;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        let state = AppState {
            routes: Arc::new(Routes::new(&platform.clients)?),
            tokens: platform.tokens,
            limiter: Limiter::new(
                platform.redis,
                settings.rate_window,
                settings.rate_per_ip,
                settings.rate_per_user,
            ),
            client,
            config: Arc::new(config),
        };
        for route in state.routes.iter() {
            tracing::debug!(prefix = route.prefix, service = route.service, base = %route.base, "route");
        }
        let limit = state.config.service.body_limit;
        let api = Api::new(ApiDoc::openapi(), router(state.clone())).body_limit(limit);
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

/// Every path that is not a platform endpoint goes through the proxy.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/{*path}", any(crate::proxy::proxy))
        .with_state(state)
}
