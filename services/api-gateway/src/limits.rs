//! Rate limits at the edge: fixed windows in Redis, per client IP always and per user when the
//! request carries a valid token; both counters move in one round trip.
//!
//! Every proxied answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
//! (the tighter of the two limits, after the IETF `RateLimit` header fields draft); over a limit
//! the answer is 429 with `Retry-After`. When Redis is unreachable the gateway lets requests
//! through (and logs it): the limits protect capacity, and an outage of their store should not
//! become an outage of the whole API. (auth's sign-in limits, which protect passwords, fail
//! closed instead.)

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use kit::redis::{RedisError, RedisStore};

/// The rate limiter. Cheap to clone.
#[derive(Clone)]
pub struct Limiter {
    redis: RedisStore,
    window: Duration,
    per_ip: u64,
    per_user: u64,
}

/// Counts of one window.
#[derive(Debug, Clone, Copy)]
struct Count {
    hits: u64,
    reset: u64,
}

impl Limiter {
    pub fn new(redis: RedisStore, window: Duration, per_ip: u64, per_user: u64) -> Self {
        Self {
            redis,
            window,
            per_ip,
            per_user,
        }
    }

    /// Counts a request from `ip` (and `user`); `None` when Redis could not be asked.
    pub async fn hit(&self, ip: &str, user: Option<&str>) -> Option<Decision> {
        match self.count(ip, user).await {
            Ok(decision) => Some(decision),
            Err(error) => {
                tracing::warn!(error = %kit::problem::ErrorChain(&error), "rate limits unavailable; letting the request through");
                None
            }
        }
    }

    async fn count(&self, ip: &str, user: Option<&str>) -> Result<Decision, RedisError> {
        let window = self.window.as_secs().max(1);
        let mut keys = vec![(self.redis.key(&format!("rl:ip:{ip}")), self.per_ip)];
        if let Some(user) = user {
            keys.push((self.redis.key(&format!("rl:user:{user}")), self.per_user));
        }
        let mut pipe = redis::pipe();
        for (key, _) in &keys {
            pipe.incr(key, 1u64)
                .cmd("EXPIRE")
                .arg(key)
                .arg(window)
                .arg("NX")
                .ignore()
                .cmd("TTL")
                .arg(key);
        }
        let mut conn = self.redis.conn().await?;
        let values: Vec<i64> = pipe.query_async(&mut conn).await?;
        let counts = values.chunks(2).map(|pair| Count {
            hits: u64::try_from(pair[0]).unwrap_or(0),
            reset: u64::try_from(pair[1])
                .ok()
                .filter(|t| *t > 0)
                .unwrap_or(window),
        });
        let mut decision: Option<Decision> = None;
        for ((_, limit), count) in keys.iter().zip(counts) {
            let this = Decision {
                limit: *limit,
                remaining: limit.saturating_sub(count.hits),
                reset: count.reset,
                over: count.hits > *limit,
            };
            decision = Some(match decision {
                Some(d) if d.over || (!this.over && d.remaining <= this.remaining) => d,
                _ => this,
            });
        }
        Ok(decision.expect("the IP is always counted"))
    }
}

/// The outcome of counting a request: the tighter limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub limit: u64,
    pub remaining: u64,
    pub reset: u64,
    /// The request is over this limit.
    pub over: bool,
}

impl Decision {
    /// The `RateLimit-*` headers.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("ratelimit-limit", self.limit),
            ("ratelimit-remaining", self.remaining),
            ("ratelimit-reset", self.reset),
        ] {
            headers.insert(name, HeaderValue::from(value));
        }
        headers
    }
}
