//! Redis: a pool plus the key prefix that keeps services (and parallel tests) apart.
//!
//! Every key a service writes goes through [`RedisStore::key`], so `auth:` keys never collide
//! with `cart:` keys on a shared Memorystore, and each test gets its own prefix.

use std::time::Duration;

use deadpool_redis::{Config, Connection, Pool, Runtime};
use secrecy::{ExposeSecret, SecretString};

/// Errors talking to Redis.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("cannot get a Redis connection")]
    Pool(#[from] deadpool_redis::PoolError),
    #[error("Redis command failed")]
    Command(#[from] redis::RedisError),
    #[error("invalid Redis configuration")]
    Config(#[from] deadpool_redis::CreatePoolError),
}

/// One increment of a fixed-window counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Increments within the current window, this one included.
    pub count: u64,
    /// Seconds until the window ends and the count starts again.
    pub resets_in_secs: u64,
}

/// A Redis pool and this service's key prefix.
#[derive(Clone)]
pub struct RedisStore {
    pool: Pool,
    prefix: String,
}

impl RedisStore {
    /// Creates the pool; connections open on first use, so a server that is down now only makes
    /// the first commands fail (and readiness report it).
    pub fn new(url: &SecretString, prefix: &str) -> Result<Self, RedisError> {
        let mut config = Config::from_url(url.expose_secret());
        config.pool = Some(deadpool_redis::PoolConfig {
            max_size: 32,
            timeouts: deadpool_redis::Timeouts {
                wait: Some(Duration::from_secs(2)),
                create: Some(Duration::from_secs(2)),
                recycle: Some(Duration::from_secs(2)),
            },
            ..Default::default()
        });
        let pool = config.create_pool(Some(Runtime::Tokio1))?;
        Ok(Self {
            pool,
            prefix: prefix.to_owned(),
        })
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
        format!("{}{suffix}", self.prefix)
    }

    pub async fn conn(&self) -> Result<Connection, RedisError> {
        Ok(self.pool.get().await?)
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
