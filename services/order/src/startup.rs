//! Builds the application from what the kit opened for it (database, the outbox relay, the
//! token verifier, clients of product and offer), chooses the payment provider, starts the
//! sweeper and runs until shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use kit::app::{Api, Server};
use kit::auth::Verifier;
use utoipa::OpenApi as _;

use crate::config::Config;
use crate::orders::{ABANDONED_AFTER, Orders};
use crate::payments::Provider;
use crate::platform::Platform;
use crate::routes::{self, ApiDoc};
use crate::upstream::Upstream;

/// How often cancelled orders' failed releases are retried.
pub const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Shared state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub orders: Orders,
    pub tokens: Verifier,
}

/// Lets the `kit::auth` extractors (`User`, `Admin`) check tokens.
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
    /// Makes the state and the router and binds the port (0 picks a free one).
    pub async fn build(config: Config, platform: Platform) -> anyhow::Result<Self> {
        let runtime = platform.runtime.clone();
        let payments = Provider::new(
            &config.service,
            config.common.storefront_origin.as_deref(),
            platform.db.clone(),
        )?;
        let orders = Orders {
            db: platform.db.clone(),
            upstream: Upstream {
                product: platform.clients.product.clone(),
                offer: platform.clients.offer.clone(),
            },
            payments,
        };
        runtime.shutdown.every(SWEEP_EVERY, SWEEP_EVERY, {
            let orders = orders.clone();
            move || {
                let orders = orders.clone();
                async move { orders.sweep_once(ABANDONED_AFTER).await }
            }
        });
        let state = AppState {
            config: Arc::new(config),
            orders,
            tokens: platform.tokens.clone(),
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
