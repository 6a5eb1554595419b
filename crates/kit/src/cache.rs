//! A read-through JSON cache in Redis whose invalidation cannot lose a race.
//!
//! Entries live in *scopes* (say `product:<id>` or `lists`), and every scope has a generation
//! counter. An entry's key includes the generation it was read under; a write to the data
//! increments the scope's generation ([`Cache::invalidate`]), so every entry of the old
//! generation is unreachable at once. A reader that loaded old data just before the write stores
//! it under the old generation, where nobody looks again: a read that starts after the write's
//! invalidation never sees the old value. Reading the generation and the entry is one round trip
//! (a Lua script). Entries expire after the cache's TTL, generations after a day of no writes.
//!
//! Writers invalidate before committing (a failure aborts the write, so it cannot leave stale
//! entries behind) and again after (to drop what a reader cached in between). When Redis is down,
//! reads go to the source and the service keeps serving.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::redis::{RedisError, RedisStore};

/// Reads a scope's generation and the entry under it, in one round trip. The entry key is
/// `ARGV[1] .. generation .. ARGV[2]`; standalone Redis (Memorystore basic) allows keys built in
/// the script.
const READ: &str = r"
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ARGV[2])}
";

/// How long a scope's generation counter outlives its last write.
const GENERATION_TTL_SECS: u64 = 86_400;

/// A named cache with a TTL (zero: no caching, every read loads). Cheap to clone.
#[derive(Clone)]
pub struct Cache {
    redis: RedisStore,
    name: &'static str,
    /// `<service prefix>cache:<name>:`, the start of every key.
    prefix: std::sync::Arc<str>,
    ttl: Duration,
    script: std::sync::Arc<redis::Script>,
}

/// What a lookup found.
enum Lookup {
    Hit(Vec<u8>),
    Miss(Option<Generation>),
}

/// Where an entry was read: pass it back to [`Cache::put_raw`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation(String);

impl Cache {
    pub fn new(redis: RedisStore, name: &'static str, ttl: Duration) -> Self {
        Self {
            prefix: redis.key(&format!("cache:{name}:")).into(),
            redis,
            name,
            ttl,
            script: std::sync::Arc::new(redis::Script::new(READ)),
        }
    }

    fn generation_key(&self, scope: &str) -> String {
        format!("{}{scope}:gen", self.prefix)
    }

    fn entry_prefix(&self, scope: &str) -> String {
        format!("{}{scope}:", self.prefix)
    }

    /// The raw entry for `key` in `scope`, and the generation it was looked up under.
    pub async fn get_raw(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<(Option<Vec<u8>>, Generation), RedisError> {
        let mut conn = self.redis.conn().await?;
        let (generation, value): (String, Option<Vec<u8>>) = self
            .script
            .key(self.generation_key(scope))
            .arg(self.entry_prefix(scope))
            .arg(format!(":{key}"))
            .invoke_async(&mut conn)
            .await?;
        Ok((value, Generation(generation)))
    }

    /// Stores raw bytes for `key` under the generation it was looked up under.
    pub async fn put_raw(
        &self,
        scope: &str,
        generation: &Generation,
        key: &str,
        bytes: &[u8],
    ) -> Result<(), RedisError> {
        let mut conn = self.redis.conn().await?;
        let entry = format!("{}{}:{key}", self.entry_prefix(scope), generation.0);
        let _: () = redis::cmd("SET")
            .arg(entry)
            .arg(bytes)
            .arg("PX")
            .arg(u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    /// The value for `key` in `scope`, from the cache or, on a miss, from `load` (then cached;
    /// `None` from `load` is not cached). When Redis fails, `load` answers and the failure is
    /// logged.
    pub async fn get_or_load<T, E, F, Fut>(
        &self,
        scope: &str,
        key: &str,
        load: F,
    ) -> Result<Option<T>, E>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, E>>,
    {
        let generation = match self.lookup(scope, key).await {
            Lookup::Hit(bytes) => match serde_json::from_slice(&bytes) {
                Ok(value) => return Ok(Some(value)),
                Err(error) => {
                    tracing::warn!(%error, cache = self.name, "unreadable cache entry, reloading");
                    None
                }
            },
            Lookup::Miss(generation) => generation,
        };
        let value = load().await?;
        if let (Some(value), Some(generation)) = (&value, generation) {
            let bytes = serde_json::to_vec(value).expect("a cached value serializes");
            self.fill(scope, &generation, key, &bytes).await;
        }
        Ok(value)
    }

    /// Like [`Cache::get_or_load`] for a value kept as the JSON bytes `load` gives: a hit is
    /// answered without parsing or serializing (say, a response body sent as it is).
    pub async fn get_or_load_json<E, F, Fut>(
        &self,
        scope: &str,
        key: &str,
        load: F,
    ) -> Result<Option<Vec<u8>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<Vec<u8>>, E>>,
    {
        let generation = match self.lookup(scope, key).await {
            Lookup::Hit(bytes) => return Ok(Some(bytes)),
            Lookup::Miss(generation) => generation,
        };
        let value = load().await?;
        if let (Some(bytes), Some(generation)) = (&value, generation) {
            self.fill(scope, &generation, key, bytes).await;
        }
        Ok(value)
    }

    /// The entry, or the generation to fill it under (none: the cache is off or unavailable).
    async fn lookup(&self, scope: &str, key: &str) -> Lookup {
        if self.ttl.is_zero() {
            return Lookup::Miss(None); // a zero TTL turns the cache off
        }
        match self.get_raw(scope, key).await {
            Ok((Some(bytes), _)) => Lookup::Hit(bytes),
            Ok((None, generation)) => Lookup::Miss(Some(generation)),
            Err(error) => {
                tracing::warn!(error = %crate::problem::ErrorChain(&error), cache = self.name, "cache unavailable, reading the source");
                Lookup::Miss(None)
            }
        }
    }

    async fn fill(&self, scope: &str, generation: &Generation, key: &str, bytes: &[u8]) {
        if let Err(error) = self.put_raw(scope, generation, key, bytes).await {
            tracing::warn!(error = %crate::problem::ErrorChain(&error), cache = self.name, "cannot fill cache");
        }
    }

    /// Makes every entry of `scope` unreachable.
    pub async fn invalidate(&self, scope: &str) -> Result<(), RedisError> {
        self.invalidate_all([scope]).await
    }

    /// Makes every entry of every one of `scopes` unreachable, in one round trip (writers
    /// invalidate while they hold row locks: each round trip is time others wait).
    pub async fn invalidate_all<S: AsRef<str>>(
        &self,
        scopes: impl IntoIterator<Item = S>,
    ) -> Result<(), RedisError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for scope in scopes {
            let key = self.generation_key(scope.as_ref());
            pipe.incr(&key, 1u64)
                .ignore()
                .expire(&key, GENERATION_TTL_SECS as i64)
                .ignore();
        }
        let mut conn = self.redis.conn().await?;
        let _: () = pipe.query_async(&mut conn).await?;
        Ok(())
    }
}
