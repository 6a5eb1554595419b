//! Redis: one multiplexed connection per service, plus the key prefix that keeps services (and
//! parallel tests) apart.
//!
//! Every key a service writes goes through [`RedisStore::key`], so `auth:` keys never collide
//! with `cart:` keys on a shared Memorystore, and each test gets its own prefix.
//!
//! The connection is redis-rs's `ConnectionManager`: every task's commands are pipelined over one
//! TCP connection (Redis answers in order), and a dropped connection is re-established by the
//! manager itself. There is no pool to check connections out of: a pool such as deadpool-redis
//! sends `UNWATCH` + `PING` on every checkout to test the connection, one extra round trip per
//! use, which `cargo xtask bench` measured as a third of a cached product read. Nothing in the
//! platform needs a connection of its own (no `WATCH`, no blocking pops, no subscriptions;
//! transactions are `MULTI`/`EXEC` pipelines and Lua scripts, both atomic on a shared
//! connection).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

/// A connection to run commands on: cheap to clone, shared by every task.
pub type Connection = ConnectionManager;

/// Errors talking to Redis.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("Redis command failed")]
    Command(#[from] redis::RedisError),
    #[error("invalid Redis configuration")]
    Config(#[source] redis::RedisError),
}

/// One increment of a fixed-window counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Increments within the current window, this one included.
    pub count: u64,
    /// Seconds until the window ends and the count starts again.
    pub resets_in_secs: u64,
}

/// How long connecting and each command may take before the call fails (and, at the edge,
/// becomes a 503): a Redis that stops answering must not hold requests until their timeout.
const TIMEOUT: Duration = Duration::from_secs(2);

/// This service's connection to Redis and its key prefix. Cheap to clone (one `Arc`): every
/// request's state holds one.
#[derive(Clone)]
pub struct RedisStore(Arc<Inner>);

struct Inner {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
}

impl RedisStore {
    /// Checks the URL; the connection opens on first use, so a server that is down now only
    /// makes the first commands fail (and readiness report it) until it answers.
    pub fn new(url: &SecretString, prefix: &str) -> Result<Self, RedisError> {
        let client = redis::Client::open(url.expose_secret()).map_err(RedisError::Config)?;
        Ok(Self(Arc::new(Inner {
            client,
            connection: OnceCell::new(),
            prefix: prefix.to_owned(),
        })))
    }

    /// The pool for the service's `REDIS_URL` and `REDIS_PREFIX`.
    pub fn open(config: &crate::config::CommonConfig) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let url = config
            .redis_url
            .as_ref()
            .context("REDIS_URL is required for a service with redis = true")?;
        Self::new(url, &config.redis_prefix).context("invalid REDIS_URL")
    }

    /// The full key for `suffix`, e.g. `auth:signin:ip:127.0.0.1`.
    pub fn key(&self, suffix: &str) -> String {
        let mut key = String::with_capacity(self.0.prefix.len() + suffix.len());
        key.push_str(&self.0.prefix);
        key.push_str(suffix);
        key
    }

    /// The shared connection, opened on first use (a failed open is tried again by the next
    /// call).
    pub async fn conn(&self) -> Result<Connection, RedisError> {
        let manager = self
            .0
            .connection
            .get_or_try_init(|| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(TIMEOUT)
                    .set_response_timeout(TIMEOUT)
                    .set_number_of_retries(1);
                ConnectionManager::new_with_config(self.0.client.clone(), config)
            })
            .await?;
        Ok(manager.clone())
    }

    pub async fn ping(&self) -> Result<(), RedisError> {
        let mut conn = self.conn().await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    /// Fixed-window counter: increments `suffix` and returns the count within the window that
    /// started with the first increment, and when that window ends.
    pub async fn hit(&self, suffix: &str, window_secs: u64) -> Result<Hit, RedisError> {
        let key = self.key(suffix);
        let mut conn = self.conn().await?;
        let (count, ttl): (u64, i64) = redis::pipe()
            .atomic()
            .incr(&key, 1u64)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(window_secs)
            .arg("NX")
            .ignore()
            .cmd("TTL")
            .arg(&key)
            .query_async(&mut conn)
            .await?;
        Ok(Hit {
            count,
            resets_in_secs: u64::try_from(ttl)
                .ok()
                .filter(|t| *t > 0)
                .unwrap_or(window_secs),
        })
    }

    /// Deletes `suffix`.
    pub async fn delete(&self, suffix: &str) -> Result<(), RedisError> {
        let mut conn = self.conn().await?;
        let _: u64 = redis::cmd("DEL")
            .arg(self.key(suffix))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }
}
