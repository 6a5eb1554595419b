//! Builds the application from what the kit opened for it (database, the consumer of order.v1
//! and user.v1), the mailer for the configured relay, and runs it until shutdown.

use std::sync::Arc;

use axum::Router;
use kit::app::{Api, Server};
use utoipa::OpenApi as _;

use crate::config::Config;
use crate::emails::Mailer;
use crate::notify::{PARKED_FOR, SWEEP_EVERY, sweep_once};
use crate::platform::Platform;
use crate::routes::{self, ApiDoc};

/// Shared state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub platform: Platform,
}

/// The service, bound and ready to serve.
pub struct Application {
    server: Server,
}

impl Application {
    /// Makes the state and the router and binds the port (0 picks a free one).
    pub async fn build(config: Config, platform: Platform) -> anyhow::Result<Self> {
        let runtime = platform.runtime.clone();
        let mailer = Mailer::new(&config.service.smtp_relay, &config.service.mail_from)?;
        runtime.shutdown.every(SWEEP_EVERY, SWEEP_EVERY, {
            let (db, mailer) = (platform.db.clone(), mailer.clone());
            move || {
                let (db, mailer) = (db.clone(), mailer.clone());
                async move { sweep_once(&db, &mailer, PARKED_FOR).await }
            }
        });
        let db = platform.db.clone();
        platform.subscription.clone().run(move |envelope| {
            let (db, mailer) = (db.clone(), mailer.clone());
            async move { crate::notify::handle(&db, &mailer, envelope).await }
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
