//! The life of a service process: `main`'s body ([`main`]), the shape every service's
//! `Application` has ([`Service`]), and the HTTP server it runs ([`Server`]).
//!
//! A service implements [`Service`] in its `startup.rs`: how to read its config and how to build
//! itself (open stores, spawn workers on the [`Shutdown`] tracker, bind a [`Server`]). Its
//! `main.rs` is then one line, and tests build the same `Application` on port 0.

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::config::{CommonConfig, ConfigError};
use crate::health::Readiness;
use crate::http::ServiceRouter;
use crate::shutdown::Shutdown;

/// A service's application: built from its config, bound to a port, run until shutdown.
pub trait Service: Sized + Send {
    /// The service's name, as in platform.toml.
    const NAME: &'static str;
    type Config: Send;

    /// Reads the configuration from the environment.
    fn config_from_env() -> Result<Self::Config, ConfigError>;
    /// The shared part of the configuration.
    fn common(config: &Self::Config) -> &CommonConfig;
    /// Connects to the stores, spawns workers on `shutdown`, binds the server.
    fn build(
        config: Self::Config,
        shutdown: Shutdown,
    ) -> impl Future<Output = anyhow::Result<Self>> + Send;
    fn server(&self) -> &Server;
    fn into_server(self) -> Server;

    /// The bound port (0 in the config picks a free one).
    fn port(&self) -> u16 {
        self.server().port()
    }

    /// Serves until shutdown, then drains in-flight work.
    fn run_until_stopped(self) -> impl Future<Output = anyhow::Result<()>> + Send {
        self.into_server().run()
    }
}

/// The whole of a service's `main`: config (exit 2 with every problem listed when invalid),
/// telemetry, signal handling, build, serve, drain.
pub async fn main<S: Service>() -> ExitCode {
    let config = match S::config_from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{}: {error}", S::NAME);
            return ExitCode::from(2);
        }
    };
    let _telemetry = crate::telemetry::init(S::common(&config));
    let shutdown = Shutdown::new();
    shutdown.listen_for_signals();
    let outcome = match S::build(config, shutdown).await {
        Ok(app) => app.run_until_stopped().await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "{} failed", S::NAME);
            eprintln!("{}: {error:#}", S::NAME);
            ExitCode::FAILURE
        }
    }
}

/// A bound HTTP server with the platform endpoints and middleware, not yet serving.
pub struct Server {
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
    grace: Duration,
    drain_delay: Duration,
}

impl Server {
    /// Wraps `api` with the kit's endpoints and middleware ([`ServiceRouter`]) and binds
    /// `common.host:common.port`.
    pub async fn bind(
        common: &CommonConfig,
        service: &'static str,
        openapi: utoipa::openapi::OpenApi,
        readiness: Readiness,
        api: Router,
        shutdown: Shutdown,
    ) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let router = ServiceRouter::new(service, openapi, readiness)
            .request_timeout(common.request_timeout)
            .finish(api);
        let listener = crate::http::bind(&common.host, common.port)
            .await
            .with_context(|| format!("cannot listen on {}:{}", common.host, common.port))?;
        Ok(Self {
            listener,
            router,
            shutdown,
            grace: common.shutdown_grace,
            drain_delay: common.drain_delay,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map_or(0, |a| a.port())
    }

    /// Serves on the shutdown tracker until shutdown begins, then waits (at most the grace
    /// period) for in-flight requests and every other tracked task.
    pub async fn run(self) -> anyhow::Result<()> {
        let Self {
            listener,
            router,
            shutdown,
            grace,
            drain_delay,
        } = self;
        let address = listener.local_addr()?;
        tracing::info!(%address, "listening");
        let server = shutdown.spawn({
            let shutdown = shutdown.clone();
            async move {
                let outcome =
                    crate::http::serve(listener, router, shutdown.clone(), drain_delay).await;
                // A server that stops on its own takes the process down with it.
                shutdown.trigger();
                outcome
            }
        });
        let drained = shutdown.wait(grace + drain_delay).await;
        if server.is_finished() {
            server.await??;
        }
        tracing::info!(drained, "stopped");
        Ok(())
    }
}
