//! Test helpers (feature `testing`): the real application on a free port, against real,
//! isolated backing services.
//!
//! [`TestApp::spawn`] starts a service the way `main` does, from its rendered manifest: a fresh
//! PostgreSQL database (migrated) when it declares `postgres`, a private Redis key prefix, the
//! embedded broker with its topics, a [`TestSigner`] whose JWKS the service verifies tokens
//! against, and its `calls` pointed where the test says ([`TestAppBuilder::call`]; nowhere by
//! default). It waits until `/readyz` answers 200 and returns the address and a client.
//!
//! ```ignore
//! let app = TestApp::builder(Settings::default())
//!     .call("product", &product.address)
//!     .spawn(Application::build, Application::run_until_stopped)
//!     .await;
//! ```
//!
//! Server addresses default to the local ones (`127.0.0.1:5432` as `postgres`, `127.0.0.1:6379`)
//! and can be pointed elsewhere with `TEST_DATABASE_URL` and `TEST_REDIS_URL`; `KAFKA_BROKERS`
//! replaces the embedded broker.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use secrecy::SecretString;
use serde_json::Value;
use sqlx::migrate::Migrator;
use sqlx::{ConnectOptions as _, Connection as _, Executor as _, PgConnection, PgPool};
use uuid::Uuid;

use crate::app::{Dependencies, Opened, Runtime, Tokens};
use crate::broker::EmbeddedBroker;
use crate::config::{CommonConfig, Config, LogFormat, Settings, TokenSettings};
use crate::jwt::{Claims, PublicKey, Role};
use crate::redis::RedisStore;
use crate::shutdown::Shutdown;

#[allow(clippy::disallowed_methods)] // test helpers read their own environment
fn var(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

/// URL of the server's maintenance database.
pub fn admin_database_url() -> String {
    var("TEST_DATABASE_URL").unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// URL of the Redis server tests use.
pub fn redis_url() -> SecretString {
    SecretString::from(var("TEST_REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()))
}

/// A key prefix no other test uses, e.g. `test:3f2a…:auth:`.
pub fn redis_prefix(service: &str) -> String {
    format!("test:{}:{service}:", Uuid::new_v4().simple())
}

/// A fresh database, dropped (with its connections) when this value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    pub name: String,
    pub url: SecretString,
    pub pool: PgPool,
}

impl TestDatabase {
    /// Creates `test_<uuid>` and applies `migrator` (and the kit's tables a service of
    /// `kit_tables` needs).
    pub async fn create(migrator: Option<&Migrator>, kit_tables: crate::db::KitTables) -> Self {
        let admin = admin_database_url();
        let name = format!("test_{}", Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!(
                "cannot reach PostgreSQL at {}: {e} (is the server running? set TEST_DATABASE_URL)",
                crate::config::redact_url(&admin)
            )
        });
        conn.execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await
            .expect("create test database");
        conn.close().await.ok();
        let options = crate::db::with_database(&admin, &name).expect("a valid TEST_DATABASE_URL");
        let url = options.to_url_lossy().to_string();
        let pool = PgPool::connect_with(options)
            .await
            .expect("connect to test database");
        crate::db::migrate(&pool, migrator, kit_tables)
            .await
            .expect("migrate test database");
        Self {
            name,
            url: SecretString::from(url),
            pool,
        }
    }
}

impl TestDatabase {
    /// An empty database, for a service process that applies its migrations (and the kit's
    /// tables) itself.
    pub async fn empty() -> Self {
        let none = crate::db::KitTables {
            outbox: false,
            processed_events: false,
        };
        Self::create(None, none).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = admin_database_url();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; do the async work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = conn
                        .execute(
                            format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str(),
                        )
                        .await;
                }
            });
        })
        .join();
    }
}

enum BrokerSource {
    External(String),
    Embedded(EmbeddedBroker),
}

fn broker_source() -> &'static BrokerSource {
    static BROKER: OnceLock<BrokerSource> = OnceLock::new();
    BROKER.get_or_init(|| match var("KAFKA_BROKERS") {
        Some(brokers) => BrokerSource::External(brokers),
        None => {
            BrokerSource::Embedded(EmbeddedBroker::start().expect("start embedded Kafka broker"))
        }
    })
}

/// Bootstrap servers for tests.
pub fn broker() -> String {
    match broker_source() {
        BrokerSource::External(brokers) => brokers.clone(),
        BrokerSource::Embedded(broker) => broker.bootstrap_servers().to_owned(),
    }
}

/// Creates `topic` on the embedded broker (a real broker is expected to have it or to create
/// topics automatically). Creating a topic twice is fine.
pub fn create_topic(topic: &str, partitions: i32) {
    if let BrokerSource::Embedded(broker) = broker_source() {
        broker
            .create_topic(topic, partitions)
            .expect("create topic");
    }
}

/// A topic name unique to this test, so tests sharing a broker do not see each other's events.
pub fn unique_topic(base: &str) -> String {
    format!("{base}.test-{}", Uuid::new_v4().simple())
}

/// Reads messages from `topic` from the beginning until `count` arrived or `timeout` passed.
pub async fn consume(
    topic: &str,
    count: usize,
    timeout: std::time::Duration,
) -> Vec<events::RawEnvelope> {
    consume_until(topic, timeout, |seen| seen.len() >= count).await
}

/// Reads envelopes from `topic` from the beginning until `done(seen so far)` or `timeout`.
pub async fn consume_until(
    topic: &str,
    timeout: std::time::Duration,
    done: impl Fn(&[events::RawEnvelope]) -> bool,
) -> Vec<events::RawEnvelope> {
    consume_until_from(&broker(), topic, timeout, done).await
}

/// [`consume_until`] from the broker at `brokers` (a test's own [`EmbeddedBroker`]).
pub async fn consume_until_from(
    brokers: &str,
    topic: &str,
    timeout: std::time::Duration,
    done: impl Fn(&[events::RawEnvelope]) -> bool,
) -> Vec<events::RawEnvelope> {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::message::Message;
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("test-{}", Uuid::new_v4().simple()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("create test consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while !done(&out) {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Err(_) => break,
            Ok(Err(_)) => continue,
            Ok(Ok(message)) => {
                if let Some(Ok(envelope)) = message.payload().map(serde_json::from_slice) {
                    out.push(envelope);
                }
            }
        }
    }
    out
}

/// Logs of the services under test, captured by the test harness and shown when a test fails
/// (`RUST_LOG` filters them; warnings and errors by default).
pub fn init_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// Settings for a service under test: port 0 on loopback, short grace, no drain delay; stores
/// and calls are filled in by [`TestApp::spawn`].
pub fn common_config(service: &str) -> CommonConfig {
    CommonConfig {
        service: service.to_owned(),
        host: "127.0.0.1".to_owned(),
        port: 0,
        database_url: None,
        database_max_connections: 5,
        redis_url: None,
        redis_prefix: redis_prefix(service),
        kafka_brokers: None,
        calls: BTreeMap::new(),
        tokens: None,
        log_format: LogFormat::Json,
        shutdown_grace: Duration::from_secs(5),
        drain_delay: Duration::ZERO,
        request_timeout: Duration::from_secs(10),
        trusted_proxy_hops: 0,
        otlp_endpoint: None,
        public_origin: None,
        storefront_origin: None,
    }
}

/// Signs access tokens for tests, as the real signer would, and serves its JWKS.
#[derive(Clone)]
pub struct TestSigner {
    key: std::sync::Arc<ed25519_dalek::SigningKey>,
    pub issuer: String,
    pub audience: String,
    /// Where the JWKS is served (`http://127.0.0.1:<port>/.well-known/jwks.json`).
    pub jwks_url: String,
}

impl TestSigner {
    /// A fresh key, its JWKS served on a free port.
    pub async fn start() -> Self {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let public = PublicKey::from(key.verifying_key());
        let issuer = "test-signer".to_owned();
        let audience = "test".to_owned();
        let keys = crate::jwt::KeySet::new([public], &issuer, &audience).expect("a key set");
        let jwks = keys.jwks().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the test JWKS server");
        let port = listener.local_addr().expect("bound").port();
        let router = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || std::future::ready(axum::Json(jwks.clone()))),
        );
        #[allow(clippy::disallowed_methods)] // lives as long as the test
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            key: std::sync::Arc::new(key),
            issuer,
            audience,
            jwks_url: format!("http://127.0.0.1:{port}/.well-known/jwks.json"),
        }
    }

    /// The token settings a verifying service gets.
    pub fn settings(&self) -> TokenSettings {
        TokenSettings {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            jwks_url: Some(self.jwks_url.clone()),
        }
    }

    /// Valid claims for a new user with `role`.
    pub fn claims(&self, role: Role) -> Claims {
        let now = chrono::Utc::now().timestamp();
        let sub = Uuid::new_v4();
        Claims {
            sub,
            email: format!("{}@example.com", sub.simple()),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + 900,
            jti: Uuid::new_v4(),
        }
    }

    /// Signs `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        let der = self.key.to_pkcs8_der().expect("encode the test key");
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(PublicKey::from(self.key.verifying_key()).kid());
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes()),
        )
        .expect("sign a test token")
    }

    /// A token for a new user with `role`, and the user's id.
    pub fn token(&self, role: Role) -> (String, Uuid) {
        let claims = self.claims(role);
        (self.sign(&claims), claims.sub)
    }
}

/// A change to a test app's shared settings.
type Configure = Box<dyn FnOnce(&mut CommonConfig) + Send>;

/// Options of a test app; see [`TestApp::builder`].
pub struct TestAppBuilder<S> {
    settings: S,
    calls: BTreeMap<String, String>,
    configure: Vec<Configure>,
    signer: Option<TestSigner>,
    tokens: Option<TokenSettings>,
    wait_ready: bool,
}

impl<S: Settings> TestAppBuilder<S> {
    /// Points the client of `service` at `base_url` (default: an address that refuses).
    pub fn call(mut self, service: &str, base_url: &str) -> Self {
        self.calls.insert(service.to_owned(), base_url.to_owned());
        self
    }

    /// Changes a shared setting (e.g. `trusted_proxy_hops`).
    pub fn configure(mut self, f: impl FnOnce(&mut CommonConfig) + Send + 'static) -> Self {
        self.configure.push(Box::new(f));
        self
    }

    /// Verifies tokens of this signer (default: a fresh one).
    pub fn signer(mut self, signer: TestSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Verifies (or signs) tokens as `tokens` says, e.g. against a real auth's JWKS, instead of a
    /// test signer's.
    pub fn tokens(mut self, tokens: TokenSettings) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Returns as soon as the server listens, ready or not (tests of outages).
    pub fn without_waiting(mut self) -> Self {
        self.wait_ready = false;
        self
    }

    /// Starts the service with `build` and `run` (its `Application::build` and
    /// `Application::run_until_stopped`), and waits until it is ready.
    pub async fn spawn<P, A, B, BF, R, RF>(self, build: B, run: R) -> TestApp
    where
        P: Dependencies,
        B: FnOnce(Config<S>, P) -> BF,
        BF: Future<Output = anyhow::Result<A>>,
        R: FnOnce(A) -> RF + Send + 'static,
        RF: Future<Output = anyhow::Result<()>> + Send + 'static,
        A: Send + 'static,
    {
        init_logs();
        let manifest = P::MANIFEST;
        let mut common = common_config(manifest.name);
        let kit_tables = crate::db::KitTables {
            outbox: manifest.outbox(),
            processed_events: !manifest.consumes.is_empty(),
        };
        let db = if manifest.postgres {
            let db = TestDatabase::create(manifest.migrations, kit_tables).await;
            common.database_url = Some(db.url.clone());
            Some(db)
        } else {
            None
        };
        if manifest.redis {
            common.redis_url = Some(redis_url());
        }
        if manifest.kafka() {
            common.kafka_brokers = Some(broker());
            for topic in manifest.produces.iter().chain(manifest.consumes) {
                create_topic(topic, 3);
                create_topic(&crate::kafka::dead_letter_topic(topic), 1);
            }
        }
        let signer = match (manifest.tokens, self.signer, &self.tokens) {
            (Tokens::None, _, _) | (_, None, Some(_)) => None,
            (_, Some(signer), _) => Some(signer),
            (_, None, None) => Some(TestSigner::start().await),
        };
        let tokens = self
            .tokens
            .clone()
            .or_else(|| signer.as_ref().map(TestSigner::settings));
        if let (Some(mut settings), false) = (tokens, manifest.tokens == Tokens::None) {
            if manifest.tokens == Tokens::Sign {
                settings.jwks_url = None;
            }
            common.tokens = Some(settings);
        }
        for service in manifest.calls {
            let url = self
                .calls
                .get(*service)
                .cloned()
                .unwrap_or_else(|| "http://127.0.0.1:9".to_owned());
            common.calls.insert((*service).to_owned(), url);
        }
        for configure in self.configure {
            configure(&mut common);
        }
        let redis = common.redis_url.as_ref().map(|url| {
            RedisStore::new(url, &common.redis_prefix).expect("a Redis pool for the test")
        });
        let shutdown = Shutdown::new();
        let opened = Opened::open(manifest, &common, &shutdown).expect("the kit opens the stores");
        let runtime = opened.runtime.clone();
        let config = Config {
            common,
            service: self.settings,
        };
        let app = build(config, P::assemble(opened))
            .await
            .expect("the application builds");
        let port = runtime.port().expect("the application bound its port");
        #[allow(clippy::disallowed_methods)] // the app under test lives as long as the test
        tokio::spawn(async move {
            if let Err(error) = run(app).await {
                eprintln!("the application under test failed: {error:#}");
            }
        });
        let app = TestApp {
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            db,
            redis,
            signer,
            runtime,
        };
        if self.wait_ready {
            app.wait_ready(Duration::from_secs(30)).await;
        }
        app
    }
}

/// A running service under test. Dropping it stops the service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The service's database, when it declares one.
    pub db: Option<TestDatabase>,
    /// A Redis pool under the service's own key prefix, when it declares Redis.
    pub redis: Option<RedisStore>,
    /// The signer whose tokens the service accepts, when it verifies tokens.
    pub signer: Option<TestSigner>,
    pub runtime: Runtime,
}

impl TestApp {
    /// A test app of a service with its own `settings`.
    pub fn builder<S: Settings>(settings: S) -> TestAppBuilder<S> {
        TestAppBuilder {
            settings,
            calls: BTreeMap::new(),
            configure: Vec::new(),
            signer: None,
            tokens: None,
            wait_ready: true,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The service's database pool.
    pub fn pool(&self) -> &PgPool {
        &self
            .db
            .as_ref()
            .expect("the service declares postgres")
            .pool
    }

    /// The signer of the tokens this service accepts.
    pub fn signer(&self) -> &TestSigner {
        self.signer.as_ref().expect("the service verifies tokens")
    }

    /// A token of a new customer, and the user's id.
    pub fn customer(&self) -> (String, Uuid) {
        self.signer().token(Role::Customer)
    }

    /// A token of a new admin, and the user's id.
    pub fn admin(&self) -> (String, Uuid) {
        self.signer().token(Role::Admin)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }

    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.put(self.url(path))
    }

    pub fn patch(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.patch(self.url(path))
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.delete(self.url(path))
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&self, timeout: Duration) {
        let ready = until_ready(&self.client, &self.url("/readyz"), timeout, || None).await;
        if let Err(why) = ready {
            panic!("{} {why}", self.runtime.manifest.name);
        }
    }
}

/// Polls `url` until it answers 200; `exited` says why waiting is pointless (the process died).
async fn until_ready(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
    mut exited: impl FnMut() -> Option<String>,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if client
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return Ok(());
        }
        if let Some(status) = exited() {
            return Err(format!("exited before it was ready: {status}"));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("did not become ready within {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A service's own binary run as a child process, for what only a real process shows: being
/// killed with SIGKILL at a chosen moment (no shutdown, nothing flushed) and started again on
/// the same stores. Killed when dropped.
///
/// ```ignore
/// let mut env = ServiceProcess::env(Some(&signer));
/// env.insert("DATABASE_URL".into(), database_url);
/// let mut order = ServiceProcess::start(env!("CARGO_BIN_EXE_order"), env).await;
/// order.kill().await;
/// order.start_again().await;
/// ```
#[derive(Debug)]
pub struct ServiceProcess {
    binary: String,
    env: BTreeMap<String, String>,
    child: Option<tokio::process::Child>,
    /// `http://127.0.0.1:<port>`, the same across restarts.
    pub address: String,
}

impl ServiceProcess {
    /// The kit's settings for a child service: loopback on a free port, JSON logs, the test
    /// broker, no drain delay, and `signer`'s tokens when given. Add the service's own (its
    /// `DATABASE_URL`, secrets, the URLs of what it calls).
    pub fn env(signer: Option<&TestSigner>) -> BTreeMap<String, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut env: BTreeMap<String, String> = [
            ("HOST", "127.0.0.1".to_owned()),
            ("PORT", port.to_string()),
            ("LOG_FORMAT", "json".to_owned()),
            ("SHUTDOWN_GRACE", "5s".to_owned()),
            ("SHUTDOWN_DRAIN_DELAY", "0s".to_owned()),
            ("KAFKA_BROKERS", broker()),
            (
                "RUST_LOG",
                var("RUST_LOG").unwrap_or_else(|| "warn".to_owned()),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(signer) = signer {
            env.insert("TOKEN_ISSUER".into(), signer.issuer.clone());
            env.insert("TOKEN_AUDIENCE".into(), signer.audience.clone());
            env.insert("JWKS_URL".into(), signer.jwks_url.clone());
        }
        env
    }

    /// Starts `binary` with exactly `env` (nothing inherited but `PATH`) and waits until it is
    /// ready.
    pub async fn start(binary: &str, env: BTreeMap<String, String>) -> Self {
        let address = format!("http://127.0.0.1:{}", env["PORT"]);
        let mut process = Self {
            binary: binary.to_owned(),
            env,
            child: None,
            address,
        };
        process.start_again().await;
        process
    }

    /// Starts it (again) and waits until `/readyz` answers 200; its logs go to the test's.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "{} is running", self.binary);
        let child = tokio::process::Command::new(&self.binary)
            .env_clear()
            .env("PATH", var("PATH").unwrap_or_default())
            .envs(&self.env)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary));
        self.child = Some(child);
        let url = self.url("/readyz");
        let child = self.child.as_mut().expect("just started");
        let exited = || child.try_wait().ok().flatten().map(|s| s.to_string());
        let client = reqwest::Client::new();
        let ready = until_ready(&client, &url, Duration::from_secs(30), exited);
        if let Err(why) = ready.await {
            panic!("{} {why}", self.binary);
        }
    }

    /// Kills it with SIGKILL and waits until it is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill the service");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.runtime.shutdown.trigger();
    }
}

/// Asserts `response` is a problem document with `status`; returns its body.
pub async fn problem(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "{body}");
    assert_eq!(content_type, crate::problem::PROBLEM_JSON, "{body}");
    assert_eq!(body["status"], status, "{body}");
    body
}
