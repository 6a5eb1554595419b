//! Test helpers (feature `testing`): every test gets real, isolated backing services.
//!
//! - [`TestDatabase`]: a fresh PostgreSQL database per test, migrated, dropped afterwards.
//! - [`redis_prefix`]: a unique Redis key prefix per test on the shared server.
//! - [`broker`]: `KAFKA_BROKERS` when set, otherwise one embedded broker per test process.
//!
//! Server addresses default to the local ones (`127.0.0.1:5432` as `postgres`, `127.0.0.1:6379`)
//! and can be pointed elsewhere with `TEST_DATABASE_URL` and `TEST_REDIS_URL`.

use std::sync::OnceLock;

use secrecy::SecretString;
use sqlx::migrate::Migrator;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use uuid::Uuid;

use crate::broker::EmbeddedBroker;

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
    /// Creates `test_<uuid>` and applies `migrator`.
    pub async fn create(migrator: &Migrator) -> Self {
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
        let url = crate::db::replace_database(&admin, &name);
        let pool = PgPool::connect(&url)
            .await
            .expect("connect to test database");
        migrator.run(&pool).await.expect("migrate test database");
        Self {
            name,
            url: SecretString::from(url),
            pool,
        }
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
/// topics automatically).
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
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::message::Message;
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker())
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

/// Settings for a service under test: port 0 on loopback, the test database, a private Redis
/// prefix and the test broker, for the stores the service declares.
pub fn common_config(
    service: &str,
    db: Option<&TestDatabase>,
    redis: bool,
    kafka: bool,
) -> crate::config::CommonConfig {
    crate::config::CommonConfig {
        service: service.to_owned(),
        host: "127.0.0.1".to_owned(),
        port: 0,
        database_url: db.map(|db| db.url.clone()),
        database_max_connections: 5,
        redis_url: redis.then(redis_url),
        redis_prefix: redis_prefix(service),
        kafka_brokers: kafka.then(broker),
        log_format: crate::config::LogFormat::Json,
        shutdown_grace: std::time::Duration::from_secs(5),
        drain_delay: std::time::Duration::ZERO,
        request_timeout: std::time::Duration::from_secs(10),
        trusted_proxy_hops: 0,
        otlp_endpoint: None,
    }
}
