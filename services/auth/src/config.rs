//! auth's own settings, read once from the environment at start after the kit's (which include
//! the `iss` and `aud` of tokens, `TOKEN_ISSUER` and `TOKEN_AUDIENCE`, rendered from
//! platform.toml `[tokens]`); every problem is reported at once.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `AUTH_SIGNING_KEY` | required (secret) | PKCS#8 PEM Ed25519 private key that signs access tokens |
//! | `AUTH_PREVIOUS_PUBLIC_KEYS` | none | PEM public keys of earlier signing keys, still in the JWKS |
//! | `AUTH_ACCESS_TOKEN_TTL`, `AUTH_REFRESH_TOKEN_TTL` | `15m`, `30d` | token lifetimes |
//! | `AUTH_SIGNIN_WINDOW` | `15m` | window of the sign-in rate limits |
//! | `AUTH_SIGNIN_MAX_FAILURES` | `5` | failed sign-ins per account per window |
//! | `AUTH_SIGNIN_MAX_PER_IP` | `20` | sign-in attempts per client IP per window |
//! | `AUTH_SIGNUP_MAX_PER_IP` | `10` | sign-ups per client IP per window |
//!
//! The client IP used for per-IP limits follows the shared `TRUSTED_PROXY_HOPS` setting.
//!
//! The signing key is parsed here, so a malformed key stops the pod at start with a message that
//! names the variable and never shows its value.

use std::time::Duration;

use kit::config::Env;
use kit::jwt::PublicKey;

use crate::domain::SigningKey;
use crate::domain::signing_key::parse_public_keys;
use crate::passwords::PasswordCost;

/// auth's settings beyond the kit's.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Secret `auth-signing-key` (platform.toml), from `AUTH_SIGNING_KEY`, parsed.
    pub signing_key: SigningKey,
    /// Public keys of earlier signing keys, accepted until their tokens have expired.
    pub previous_public_keys: Vec<PublicKey>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub signin_limits: SigninLimits,
    /// Argon2id cost; always [`PasswordCost::OWASP`] outside tests.
    pub password_cost: PasswordCost,
}

/// Everything auth is configured with: the kit's settings and its own.
pub type Config = kit::config::Config<Settings>;

/// Sign-in rate limits, counted in Redis per fixed window.
#[derive(Debug, Clone, Copy)]
pub struct SigninLimits {
    pub window: Duration,
    /// Failed sign-ins per account (the counter resets on success).
    pub max_failures_per_account: u64,
    /// Sign-in attempts per client IP, successful or not.
    pub max_attempts_per_ip: u64,
    /// Sign-ups per client IP.
    pub max_signups_per_ip: u64,
}

impl kit::config::Settings for Settings {
    fn read(env: &mut Env) -> Option<Self> {
        let signing_key = env
            .secret(
                "AUTH_SIGNING_KEY",
                "the auth-signing-key secret: a PKCS#8 PEM Ed25519 private key",
            )
            .and_then(|secret| match SigningKey::from_pem(&secret) {
                Ok(key) => Some(key),
                Err(problem) => {
                    env.invalid(format!("AUTH_SIGNING_KEY is {problem}"));
                    None
                }
            });
        let previous_public_keys = env
            .optional::<String>("AUTH_PREVIOUS_PUBLIC_KEYS", "PEM public keys")
            .map_or_else(Vec::new, |text| {
                parse_public_keys(&text).unwrap_or_else(|problem| {
                    env.invalid(format!("AUTH_PREVIOUS_PUBLIC_KEYS: {problem}"));
                    Vec::new()
                })
            });
        let access_token_ttl = env.duration("AUTH_ACCESS_TOKEN_TTL", Duration::from_secs(15 * 60));
        let refresh_token_ttl =
            env.duration("AUTH_REFRESH_TOKEN_TTL", Duration::from_secs(30 * 86_400));
        if access_token_ttl < Duration::from_secs(60)
            || access_token_ttl > Duration::from_secs(3600)
        {
            env.invalid("AUTH_ACCESS_TOKEN_TTL must be between 1m and 1h");
        }
        if refresh_token_ttl <= access_token_ttl {
            env.invalid("AUTH_REFRESH_TOKEN_TTL must be longer than AUTH_ACCESS_TOKEN_TTL");
        }
        let signin_limits = SigninLimits {
            window: env.duration("AUTH_SIGNIN_WINDOW", Duration::from_secs(15 * 60)),
            max_failures_per_account: env.or("AUTH_SIGNIN_MAX_FAILURES", 5, "a positive number"),
            max_attempts_per_ip: env.or("AUTH_SIGNIN_MAX_PER_IP", 20, "a positive number"),
            max_signups_per_ip: env.or("AUTH_SIGNUP_MAX_PER_IP", 10, "a positive number"),
        };
        if signin_limits.window < Duration::from_secs(1) {
            env.invalid("AUTH_SIGNIN_WINDOW must be at least 1s");
        }
        Some(Self {
            signing_key: signing_key?,
            previous_public_keys,
            access_token_ttl,
            refresh_token_ttl,
            signin_limits,
            password_cost: PasswordCost::OWASP,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret as _;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Config, kit::config::ConfigError> {
        let mut map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        for (k, v) in [
            ("DATABASE_URL", "postgres://a@b/c"),
            ("REDIS_URL", "redis://r"),
            ("KAFKA_BROKERS", "k:9092"),
            ("TOKEN_ISSUER", "shop-auth"),
            ("TOKEN_AUDIENCE", "shop"),
        ] {
            map.entry(k.to_owned()).or_insert_with(|| v.to_owned());
        }
        Config::read(Env::from_map(map), &crate::platform::MANIFEST)
    }

    #[test]
    fn reads_the_key_and_defaults() {
        let key = SigningKey::generate();
        let config = read(&[("AUTH_SIGNING_KEY", key.to_pem().expose_secret())]).expect("valid");
        assert_eq!(config.service.signing_key.kid(), key.kid());
        assert_eq!(config.service.access_token_ttl, Duration::from_secs(900));
        assert_eq!(config.common.tokens.unwrap().issuer, "shop-auth");
        assert_eq!(config.common.trusted_proxy_hops, 0);
        assert_eq!(config.service.password_cost, PasswordCost::OWASP);
    }

    #[test]
    fn a_bad_key_is_named_but_never_shown() {
        let error = read(&[
            (
                "AUTH_SIGNING_KEY",
                "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXZhbHVl\n-----END PRIVATE KEY-----",
            ),
            ("AUTH_PREVIOUS_PUBLIC_KEYS", "nonsense"),
            ("AUTH_ACCESS_TOKEN_TTL", "2h"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("AUTH_SIGNING_KEY is not a PKCS#8 PEM Ed25519 private key"),
            "{error}"
        );
        assert!(error.contains("AUTH_PREVIOUS_PUBLIC_KEYS"), "{error}");
        assert!(error.contains("AUTH_ACCESS_TOKEN_TTL"), "{error}");
        assert!(!error.contains("c2VjcmV0LXZhbHVl"), "{error}");
        let missing = read(&[]).unwrap_err().to_string();
        assert!(missing.contains("AUTH_SIGNING_KEY is not set"), "{missing}");
    }
}
