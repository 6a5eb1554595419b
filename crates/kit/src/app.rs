//! The life of a service process: what it declares ([`Manifest`]), what the kit opens for it
//! ([`Opened`], [`Runtime`]), the HTTP server it runs ([`Server`]) and `main`'s body ([`main`]).
//!
//! `cargo xtask render` writes each service's `src/platform.rs` from platform.toml: its
//! `MANIFEST` and a `Platform` struct holding exactly the stores, producers, consumers, token
//! verifier and clients it declared, with an implementation of [`Dependencies`] that picks them
//! out of [`Opened`]. The service's own code is an inherent `Application` with `build(config,
//! platform)` (make the state and router, bind a [`Server`]), `port()` and
//! `run_until_stopped()`; its `main.rs` is one line:
//!
//! ```ignore
//! kit::app::main(Application::build, Application::run_until_stopped).await
//! ```
//!
//! [`main`] reads the configuration (exit 2 with every problem listed), starts telemetry, opens
//! the stores and builds the `Platform`, then builds and runs the application. Opening never
//! waits for a store: pools connect lazily and a background task applies the migrations,
//! retrying while the database is away, so a service started during an outage comes up not
//! ready and becomes ready when its stores do (Kubernetes would crash-loop it otherwise).

use std::collections::BTreeMap;
use std::future::Future;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

use crate::auth::Verifier;
use crate::client::Client;
use crate::config::{CommonConfig, Config, Settings};
use crate::health::{Check, Readiness};
use crate::http::ServiceRouter;
use crate::kafka::{Producer, Subscription};
use crate::redis::RedisStore;
use crate::shutdown::Shutdown;

/// What platform.toml declares about a service, as its rendered `src/platform.rs` spells it.
#[derive(Debug, Clone, Copy)]
pub struct Manifest {
    /// The service's name.
    pub name: &'static str,
    /// It owns a PostgreSQL database.
    pub postgres: bool,
    /// Its migrations (`migrations/`), when it owns a database.
    pub migrations: Option<&'static Migrator>,
    pub redis: bool,
    /// Topics it publishes to.
    pub produces: &'static [&'static str],
    /// Topics it consumes (its consumer group is its name).
    pub consumes: &'static [&'static str],
    /// The services it may call.
    pub calls: &'static [&'static str],
    /// Its part in access tokens.
    pub tokens: Tokens,
}

/// A service's part in access tokens (platform.toml `[tokens]` and `verify_tokens`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokens {
    /// It neither signs nor checks them.
    None,
    /// It signs them (`[tokens] signer`) and checks them with its own keys.
    Sign,
    /// It checks them against the signer's JWKS (`verify_tokens = true`).
    Verify,
}

impl Manifest {
    /// Whether the service talks to Kafka at all.
    pub fn kafka(&self) -> bool {
        !self.produces.is_empty() || !self.consumes.is_empty()
    }

    /// Whether the service publishes through a transactional outbox (it has a database).
    pub fn outbox(&self) -> bool {
        self.postgres && !self.produces.is_empty()
    }
}

/// The stores and clients a service's `Platform` is assembled from. Implemented by the rendered
/// `src/platform.rs`; never by hand.
pub trait Dependencies: Sized + Send + 'static {
    const MANIFEST: Manifest;
    /// Picks the declared stores and clients out of `opened`.
    fn assemble(opened: Opened) -> Self;
}

/// What every service has: the stop signal and task tracker, and the readiness checks of its
/// stores. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub manifest: Manifest,
    pub shutdown: Shutdown,
    pub readiness: Readiness,
    port: Arc<OnceLock<u16>>,
}

impl Runtime {
    pub fn new(manifest: Manifest, shutdown: Shutdown, readiness: Readiness) -> Self {
        Self {
            manifest,
            shutdown,
            readiness,
            port: Arc::default(),
        }
    }

    /// The port the server bound, once [`Server::bind`] ran.
    pub fn port(&self) -> Option<u16> {
        self.port.get().copied()
    }
}

/// The stores, producer, consumers, token verifier and clients the kit opened for a service,
/// from its [`Manifest`] and configuration. The rendered `Platform` takes what it declared; asking
/// for a store the manifest does not declare is a bug in the renderer and panics.
pub struct Opened {
    pub runtime: Runtime,
    db: Option<sqlx::PgPool>,
    redis: Option<RedisStore>,
    producer: Option<Producer>,
    subscription: Option<Subscription>,
    verifier: Option<Verifier>,
    clients: BTreeMap<String, Client>,
}

impl Opened {
    /// Opens what `manifest` declares with the settings in `common`. Nothing here waits for a
    /// store: pools connect on first use, migrations run in the background (readiness fails
    /// until they are applied), the outbox relay starts, the token verifier fetches its keys.
    pub fn open(
        manifest: Manifest,
        common: &CommonConfig,
        shutdown: &Shutdown,
    ) -> anyhow::Result<Self> {
        let mut readiness = Readiness::new(shutdown);
        let db = if manifest.postgres {
            let url = common
                .database_url
                .as_ref()
                .context("DATABASE_URL is required for a service with postgres = true")?;
            let pool = crate::db::connect_lazy(url, common.database_max_connections)
                .context("invalid DATABASE_URL")?;
            let kit_tables = crate::db::KitTables {
                outbox: manifest.outbox(),
                processed_events: !manifest.consumes.is_empty(),
            };
            let migrated = crate::db::migrate_in_background(
                pool.clone(),
                manifest.migrations,
                kit_tables,
                shutdown,
            );
            readiness = readiness.with(Check::Postgres {
                pool: pool.clone(),
                migrated,
            });
            Some(pool)
        } else {
            None
        };
        let redis = if manifest.redis {
            let store = RedisStore::open(common)?;
            readiness = readiness.with(Check::Redis(store.clone()));
            Some(store)
        } else {
            None
        };
        let producer = if manifest.kafka() {
            Some(Producer::open(common, shutdown)?)
        } else {
            None
        };
        if let (true, Some(db), Some(producer)) = (manifest.outbox(), &db, &producer) {
            let relay = crate::outbox::Relay::new(db.clone(), producer.clone());
            shutdown.spawn(relay.run(shutdown.clone()));
        }
        if let (Some(db), false) = (&db, manifest.consumes.is_empty()) {
            let db = db.clone();
            shutdown.every(
                Duration::from_secs(60),
                Duration::from_secs(3600),
                move || crate::kafka::prune_processed(db.clone()),
            );
        }
        let subscription = match (&producer, manifest.consumes.is_empty()) {
            (Some(producer), false) => {
                readiness = readiness.with(Check::Kafka(producer.clone()));
                let brokers = common
                    .kafka_brokers
                    .as_deref()
                    .context("KAFKA_BROKERS is required for a service that consumes topics")?;
                Some(Subscription::new(
                    brokers,
                    manifest.name,
                    manifest.consumes,
                    producer.clone(),
                    shutdown.clone(),
                ))
            }
            _ => None,
        };
        let verifier = match (&manifest.tokens, &common.tokens) {
            (Tokens::Verify, Some(tokens)) => {
                let verifier = Verifier::remote(tokens)?;
                verifier.prefetch(shutdown);
                Some(verifier)
            }
            _ => None,
        };
        let clients = manifest
            .calls
            .iter()
            .map(|name| {
                let url = common
                    .calls
                    .get(*name)
                    .with_context(|| format!("no URL for {name}"))?;
                Ok(((*name).to_owned(), Client::new(name, url)?))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            runtime: Runtime::new(manifest, shutdown.clone(), readiness),
            db,
            redis,
            producer,
            subscription,
            verifier,
            clients,
        })
    }

    /// The service's database pool.
    pub fn db(&self) -> sqlx::PgPool {
        self.db.clone().expect("the manifest declares postgres")
    }

    pub fn redis(&self) -> RedisStore {
        self.redis.clone().expect("the manifest declares redis")
    }

    /// The producer for the topics the service publishes directly (no database, no outbox).
    pub fn producer(&self) -> Producer {
        self.producer.clone().expect("the manifest declares topics")
    }

    /// The service's consumer group on the topics it consumes.
    pub fn subscription(&self) -> Subscription {
        self.subscription
            .clone()
            .expect("the manifest declares consumed topics")
    }

    pub fn verifier(&self) -> Verifier {
        self.verifier
            .clone()
            .expect("the manifest declares verify_tokens")
    }

    /// The client of a service in the manifest's `calls`.
    pub fn client(&self, name: &str) -> Client {
        self.clients
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("the manifest does not call {name}"))
    }
}

/// The whole of a service's `main`: configuration (exit 2 with every problem listed when
/// invalid), telemetry, signal handling, the declared stores, `build`, `run`, and a flush of
/// pending traces.
pub async fn main<S, P, A, B, BF, R, RF>(build: B, run: R) -> ExitCode
where
    S: Settings,
    P: Dependencies,
    B: FnOnce(Config<S>, P) -> BF,
    BF: Future<Output = anyhow::Result<A>>,
    R: FnOnce(A) -> RF,
    RF: Future<Output = anyhow::Result<()>>,
{
    let manifest = P::MANIFEST;
    let config = match Config::<S>::from_env(&manifest) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{}: {error}", manifest.name);
            return ExitCode::from(2);
        }
    };
    let telemetry = crate::telemetry::init(&config.common);
    let shutdown = Shutdown::new();
    shutdown.listen_for_signals();
    let outcome = async {
        let opened = Opened::open(manifest, &config.common, &shutdown)?;
        let app = build(config, P::assemble(opened)).await?;
        run(app).await
    }
    .await;
    telemetry.shutdown().await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "{} failed", manifest.name);
            eprintln!("{}: {error:#}", manifest.name);
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

/// What [`Server::bind`] needs besides the settings.
pub struct Api {
    /// The service's routes, with their state.
    pub router: Router,
    /// Served at `/openapi.json`.
    pub openapi: utoipa::openapi::OpenApi,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
}

impl Api {
    /// The routes and their document, with the default body limit.
    pub fn new(openapi: utoipa::openapi::OpenApi, router: Router) -> Self {
        Self {
            router,
            openapi,
            body_limit: crate::http::DEFAULT_BODY_LIMIT,
        }
    }

    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }
}

impl Server {
    /// Wraps `api` with the platform endpoints and middleware ([`ServiceRouter`]) and binds
    /// `common.host:common.port` (port 0 picks a free port; [`Runtime::port`] then tells which).
    pub async fn bind(api: Api, common: &CommonConfig, runtime: &Runtime) -> anyhow::Result<Self> {
        let router = ServiceRouter {
            service: runtime.manifest.name,
            openapi: api.openapi,
            readiness: runtime.readiness.clone(),
            request_timeout: common.request_timeout,
            body_limit: api.body_limit,
            trusted_proxy_hops: common.trusted_proxy_hops,
        }
        .finish(api.router);
        let listener = TcpListener::bind((common.host.as_str(), common.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", common.host, common.port))?;
        let port = listener.local_addr()?.port();
        let _ = runtime.port.set(port);
        Ok(Self {
            listener,
            router,
            shutdown: runtime.shutdown.clone(),
            grace: common.shutdown_grace,
            drain_delay: common.drain_delay,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map_or(0, |a| a.port())
    }

    /// Serves on the shutdown tracker until shutdown begins, then waits (at most the grace
    /// period) for in-flight requests and every other tracked task.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
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
