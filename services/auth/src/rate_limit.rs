//! Rate limits of sign-in (per client IP and per account) and sign-up (per client IP), as
//! fixed-window counters in Redis.
//!
//! Keys (under the service's Redis prefix): `signup:ip:<ip>` counts sign-ups from an IP (each
//! costs an Argon2id hash, so an unlimited stream would be a cheap CPU attack);
//! `signin:ip:<ip>` counts every sign-in attempt from an IP;
//! `signin:account:<sha256(email)>` counts attempts on an account since its last successful
//! sign-in, so it limits failures. The account key is a hash, so Redis holds no e-mail addresses,
//! and it is counted whether or not the account exists, so the limit reveals nothing about which
//! addresses have accounts. When Redis is unreachable sign-in fails closed (503 with
//! `Retry-After`, like every request whose store is down) rather than allowing unlimited guessing.

use std::time::Duration;

use kit::redis::{RedisError, RedisStore};
use sha2::{Digest as _, Sha256};

use crate::config::SigninLimits;
use crate::domain::Email;

/// A limit was reached; retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after_secs: u64,
}

/// The sign-in and sign-up counters. Cheap to clone.
#[derive(Clone)]
pub struct SigninLimiter {
    redis: RedisStore,
    limits: SigninLimits,
}

/// Outcome of counting an attempt.
pub type Checked = Result<Result<(), Limited>, RedisError>;

impl SigninLimiter {
    pub fn new(redis: RedisStore, limits: SigninLimits) -> Self {
        Self { redis, limits }
    }

    /// Counts a sign-up from `ip`.
    #[tracing::instrument(skip_all)]
    pub async fn signup_from(&self, ip: &str) -> Checked {
        self.hit(&format!("signup:ip:{ip}"), self.limits.max_signups_per_ip)
            .await
    }

    /// Counts an attempt from `ip`.
    #[tracing::instrument(skip_all)]
    pub async fn attempt_from(&self, ip: &str) -> Checked {
        self.hit(&format!("signin:ip:{ip}"), self.limits.max_attempts_per_ip)
            .await
    }

    /// Counts an attempt on the account `email`.
    #[tracing::instrument(skip_all)]
    pub async fn attempt_on(&self, email: &Email) -> Checked {
        self.hit(&account_key(email), self.limits.max_failures_per_account)
            .await
    }

    /// Forgets the account's failures after a successful sign-in.
    pub async fn succeeded(&self, email: &Email) -> Result<(), RedisError> {
        self.redis.delete(&account_key(email)).await
    }

    async fn hit(&self, key: &str, max: u64) -> Checked {
        let window = self.limits.window.max(Duration::from_secs(1)).as_secs();
        let hit = self.redis.hit(key, window).await?;
        if hit.count <= max {
            return Ok(Ok(()));
        }
        Ok(Err(Limited {
            retry_after_secs: hit.resets_in_secs,
        }))
    }
}

fn account_key(email: &Email) -> String {
    let digest = Sha256::digest(email.as_str().as_bytes());
    format!("signin:account:{}", hex::encode(&digest[..16]))
}
