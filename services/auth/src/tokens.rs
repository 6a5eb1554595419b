//! Access tokens: issued here with the signing key, verified with the same [`KeySet`] every other
//! service builds from the JWKS.
//!
//! An access token is a JWT (`alg: EdDSA`, `kid` of the signing key) with claims `sub` (user id),
//! `email`, `role`, `iss`, `aud`, `iat`, `exp` and a random `jti`. It lives for
//! `AUTH_ACCESS_TOKEN_TTL` (15 minutes) and is never stored: revoking a session stops its refresh
//! token, and the access token runs out on its own shortly after. `iss` and `aud` are platform.toml
//! `[tokens]`, the same values every verifier and Istio's RequestAuthentication check.

use std::time::Duration;

use anyhow::Context as _;
use kit::jwt::{Claims, JwtError, KeySet};
use uuid::Uuid;

use crate::config::Config;
use crate::domain::SigningKey;
use crate::storage::User;

/// Signs access tokens and holds the keys that verify them. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AccessTokens {
    signing_key: SigningKey,
    keys: KeySet,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl AccessTokens {
    /// The current key first, then the previous ones (for the JWKS and for verification).
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let settings = &config.service;
        let tokens = config
            .common
            .tokens
            .as_ref()
            .context("auth signs tokens: TOKEN_ISSUER and TOKEN_AUDIENCE are required")?;
        let public = std::iter::once(settings.signing_key.public_key())
            .chain(settings.previous_public_keys.iter().copied());
        let keys: Result<KeySet, JwtError> = KeySet::new(public, &tokens.issuer, &tokens.audience);
        Ok(Self {
            signing_key: settings.signing_key.clone(),
            keys: keys.context("invalid signing keys")?,
            issuer: tokens.issuer.clone(),
            audience: tokens.audience.clone(),
            ttl: settings.access_token_ttl,
        })
    }

    /// A signed access token for `user`.
    pub fn issue(&self, user: &User) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.id,
            email: user.email.clone(),
            role: user.role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + i64::try_from(self.ttl.as_secs()).context("access token lifetime")?,
            jti: Uuid::new_v4(),
        };
        self.signing_key
            .sign(&claims)
            .context("cannot sign access token")
    }

    /// Seconds an access token lives: the `expires_in` of token responses.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl.as_secs()
    }

    /// The keys that verify access tokens, as published in the JWKS.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }
}
