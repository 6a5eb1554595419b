//! Typed configuration from the environment, validated at start.
//!
//! A service reads every variable through one [`Env`]; every problem (missing, unparsable) is
//! collected and reported together, each with a hint, so a misconfigured pod fails once with the
//! whole list instead of one variable per restart. Secrets are read as [`SecretString`], whose
//! `Debug` prints `[REDACTED]`, so a config struct can be logged safely.
//!
//! A variable that is not in the environment is read from the file `$SECRETS_DIR/<NAME>` when
//! `SECRETS_DIR` is set (one trailing newline dropped): in a cluster every secret arrives so, as
//! a file of the pod's projected secret volume, never as an environment variable.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use crate::app::{Manifest, Tokens};

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Reads and validates environment variables, collecting every error.
pub struct Env {
    lookup: Lookup,
    /// Where a variable missing from `lookup` is read from, one file per variable.
    secrets_dir: Option<PathBuf>,
    /// Variables whose file exists but could not be read (already in `errors`).
    unreadable: Vec<String>,
    errors: Vec<String>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env").field("errors", &self.errors).finish()
    }
}

impl Env {
    /// Reads the process environment, and the files of `SECRETS_DIR` when it is set.
    pub fn from_process() -> Self {
        #[allow(clippy::disallowed_methods)] // this is the one place that reads the environment
        let env = Self::from_fn(|key| std::env::var(key).ok());
        match env.raw_env("SECRETS_DIR") {
            Some(dir) => env.with_secrets_dir(dir),
            None => env,
        }
    }

    /// Reads a variable missing from the environment from the file `<dir>/<NAME>`.
    pub fn with_secrets_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        if !dir.is_dir() {
            self.errors.push(format!(
                "SECRETS_DIR={} is not a directory (unset it, or mount the secret volume there)",
                dir.display()
            ));
        }
        self.secrets_dir = Some(dir);
        self
    }

    /// Reads from a map; for tests.
    pub fn from_map(map: HashMap<String, String>) -> Self {
        Self::from_fn(move |key| map.get(key).cloned())
    }

    fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            lookup: Box::new(lookup),
            secrets_dir: None,
            unreadable: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn raw_env(&self, key: &str) -> Option<String> {
        (self.lookup)(key).filter(|v| !v.trim().is_empty())
    }

    /// Records that a required variable is missing, unless its file was there but unreadable
    /// (already reported).
    fn missing(&mut self, key: &str, hint: &str) {
        if !self.unreadable.iter().any(|k| k == key) {
            self.errors.push(format!("{key} is not set ({hint})"));
        }
    }

    /// The variable from the environment, else from its file under `SECRETS_DIR`.
    fn raw(&mut self, key: &str) -> Option<String> {
        if let Some(value) = self.raw_env(key) {
            return Some(value);
        }
        let path = self.secrets_dir.as_ref()?.join(key);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let value = text.strip_suffix('\n').unwrap_or(&text);
                let value = value.strip_suffix('\r').unwrap_or(value);
                Some(value.to_owned()).filter(|v| !v.trim().is_empty())
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => {
                self.errors.push(format!(
                    "{key} cannot be read from {}: {error}",
                    path.display()
                ));
                self.unreadable.push(key.to_owned());
                None
            }
        }
    }

    /// A required variable; `hint` says what to set it to.
    pub fn required<T: FromStr>(&mut self, key: &str, hint: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        match self.raw(key) {
            None => {
                self.missing(key, hint);
                None
            }
            Some(value) => self.parse(key, &value, hint),
        }
    }

    /// An optional variable with a default.
    pub fn or<T: FromStr>(&mut self, key: &str, default: T, hint: &str) -> T
    where
        T::Err: fmt::Display,
    {
        match self.raw(key) {
            None => default,
            Some(value) => self.parse(key, &value, hint).unwrap_or(default),
        }
    }

    /// An optional variable without a default.
    pub fn optional<T: FromStr>(&mut self, key: &str, hint: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        let value = self.raw(key)?;
        self.parse(key, &value, hint)
    }

    /// A duration written with a unit: `500ms`, `30s`, `5m`, `1h`, `30d`.
    pub fn duration(&mut self, key: &str, default: Duration) -> Duration {
        match self.raw(key) {
            None => default,
            Some(value) => match humantime::parse_duration(value.trim()) {
                Ok(d) => d,
                Err(_) => {
                    self.errors.push(format!(
                        "{key}={value:?} is not a duration (write e.g. 500ms, 30s, 5m or 1h)"
                    ));
                    default
                }
            },
        }
    }

    /// A required secret; its value never appears in errors or `Debug` output.
    pub fn secret(&mut self, key: &str, hint: &str) -> Option<SecretString> {
        match self.raw(key) {
            None => {
                self.missing(key, hint);
                None
            }
            Some(value) => Some(SecretString::from(value)),
        }
    }

    /// An optional secret.
    pub fn optional_secret(&mut self, key: &str) -> Option<SecretString> {
        self.raw(key).map(SecretString::from)
    }

    /// Records an error found while validating values together (e.g. one value must be below
    /// another).
    pub fn invalid(&mut self, message: impl Into<String>) {
        self.errors.push(message.into());
    }

    fn parse<T: FromStr>(&mut self, key: &str, value: &str, hint: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        match value.trim().parse() {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors
                    .push(format!("{key}={value:?} is invalid: {e} ({hint})"));
                None
            }
        }
    }

    /// Ends reading: `Ok` when every variable was valid, otherwise every problem at once.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                problems: self.errors,
            })
        }
    }
}

/// `url` with the password of its user info replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Every configuration problem found at start.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {}", problems.join("; "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// Settings every service shares. Stores a service does not declare in platform.toml are `None`.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    /// The service's name, as in platform.toml.
    pub service: String,
    /// Address to listen on; port 0 picks a free port (tests).
    pub host: String,
    pub port: u16,
    pub database_url: Option<SecretString>,
    pub database_max_connections: u32,
    pub redis_url: Option<SecretString>,
    /// Prefix for every Redis key this service writes, so services (and tests) sharing a Redis
    /// never collide.
    pub redis_prefix: String,
    pub kafka_brokers: Option<String>,
    /// Base URL of every service this one `calls`, by name (`<NAME>_URL`).
    pub calls: BTreeMap<String, String>,
    /// What access tokens claim and where their keys are, for signers and verifiers.
    pub tokens: Option<TokenSettings>,
    /// `json` (default, for machines) or `pretty` (for people).
    pub log_format: LogFormat,
    /// Time allowed to drain in-flight work on shutdown; keep below the pod's grace period.
    pub shutdown_grace: Duration,
    /// On shutdown, how long the server keeps accepting requests while `/readyz` already says
    /// "draining", so load balancers and the mesh stop routing here before the listener closes.
    pub drain_delay: Duration,
    /// Upper bound on any request's handling time.
    pub request_timeout: Duration,
    /// Proxies in front of the service that append to `X-Forwarded-For` (the mesh ingress
    /// gateway, the API gateway); 0 trusts none and uses the peer address.
    pub trusted_proxy_hops: usize,
    /// OTLP/HTTP collector base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`); no trace export when unset.
    pub otlp_endpoint: Option<String>,
    /// Where people reach the service (`PUBLIC_ORIGIN`, e.g. `https://shop.example.com`), for
    /// services with a public host.
    pub public_origin: Option<String>,
    /// Where people reach the shop's pages (`STOREFRONT_ORIGIN`), for services with API routes:
    /// links back to the shop must point there.
    pub storefront_origin: Option<String>,
}

/// Access-token settings, rendered from platform.toml `[tokens]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// The `iss` claim (`TOKEN_ISSUER`).
    pub issuer: String,
    /// The `aud` claim (`TOKEN_AUDIENCE`).
    pub audience: String,
    /// Where verifiers fetch the signer's keys (`JWKS_URL`); `None` for the signer itself.
    pub jwks_url: Option<String>,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(Self::Json),
            "pretty" => Ok(Self::Pretty),
            other => Err(format!("unknown log format {other:?}")),
        }
    }
}

impl CommonConfig {
    /// Reads the shared settings for the service `manifest` declares; the service's own settings
    /// are read from the same `env`.
    pub fn read(env: &mut Env, manifest: &Manifest) -> Self {
        let service = manifest.name;
        let database_url = manifest.postgres.then(|| {
            env.secret(
                "DATABASE_URL",
                "postgres://user:password@host:5432/database",
            )
        });
        let redis_url = manifest
            .redis
            .then(|| env.secret("REDIS_URL", "redis://host:6379"));
        let kafka_brokers = manifest
            .kafka()
            .then(|| env.required::<String>("KAFKA_BROKERS", "comma-separated host:port list"));
        let calls = manifest
            .calls
            .iter()
            .filter_map(|target| {
                let key = format!("{}_URL", target.to_uppercase().replace('-', "_"));
                let url: Option<String> = env.required(
                    &key,
                    &format!("the base URL of {target}, e.g. http://{target}"),
                );
                url.map(|url| ((*target).to_owned(), url.trim_end_matches('/').to_owned()))
            })
            .collect();
        let tokens = (manifest.tokens != Tokens::None).then(|| {
            let issuer = env.required("TOKEN_ISSUER", "the `iss` of access tokens, e.g. shop-auth");
            let audience = env.required("TOKEN_AUDIENCE", "the `aud` of access tokens, e.g. shop");
            let jwks_url = (manifest.tokens == Tokens::Verify).then(|| {
                env.required(
                    "JWKS_URL",
                    "where the token signer publishes its keys, e.g. http://auth/.well-known/jwks.json",
                )
            });
            TokenSettings {
                issuer: issuer.unwrap_or_default(),
                audience: audience.unwrap_or_default(),
                jwks_url: jwks_url.flatten(),
            }
        });
        Self {
            service: service.to_owned(),
            host: env.or("HOST", "0.0.0.0".to_owned(), "an IP address to bind"),
            port: env.or("PORT", 8080, "a TCP port, 0 for any free port"),
            database_url: database_url.flatten(),
            database_max_connections: env.or("DATABASE_MAX_CONNECTIONS", 10, "a positive number"),
            redis_url: redis_url.flatten(),
            redis_prefix: env.or(
                "REDIS_PREFIX",
                format!("{service}:"),
                "a key prefix such as `auth:`",
            ),
            kafka_brokers: kafka_brokers.flatten(),
            calls,
            tokens,
            log_format: env.or("LOG_FORMAT", LogFormat::Json, "json or pretty"),
            shutdown_grace: env.duration("SHUTDOWN_GRACE", Duration::from_secs(20)),
            drain_delay: env.duration("SHUTDOWN_DRAIN_DELAY", Duration::from_secs(5)),
            request_timeout: env.duration("REQUEST_TIMEOUT", Duration::from_secs(10)),
            trusted_proxy_hops: env.or(
                "TRUSTED_PROXY_HOPS",
                0,
                "how many proxies in front append to X-Forwarded-For, e.g. 1",
            ),
            otlp_endpoint: env.optional(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "an OTLP/HTTP collector URL, e.g. http://tempo:4318",
            ),
            public_origin: env.optional(
                "PUBLIC_ORIGIN",
                "the scheme and host people use, e.g. https://shop.example.com",
            ),
            storefront_origin: env.optional(
                "STOREFRONT_ORIGIN",
                "the scheme and host of the shop's pages, e.g. https://shop.example.com",
            ),
        }
    }
}

/// A service's own settings, read from the same environment after the shared ones. Read every
/// variable through `env` (it collects every problem); return `None` when one was missing or
/// invalid (the error is already recorded).
pub trait Settings: Sized + Send + Sync + 'static {
    fn read(env: &mut Env) -> Option<Self>;
}

/// A service without settings of its own.
impl Settings for () {
    fn read(_: &mut Env) -> Option<Self> {
        Some(())
    }
}

/// Everything a service is configured with: the shared settings and its own.
#[derive(Debug, Clone)]
pub struct Config<S> {
    pub common: CommonConfig,
    pub service: S,
}

impl<S: Settings> Config<S> {
    /// Reads the process environment for the service `manifest` declares.
    pub fn from_env(manifest: &Manifest) -> Result<Self, ConfigError> {
        Self::read(Env::from_process(), manifest)
    }

    /// Reads `env`; every problem at once.
    pub fn read(mut env: Env, manifest: &Manifest) -> Result<Self, ConfigError> {
        let common = CommonConfig::read(&mut env, manifest);
        let service = S::read(&mut env);
        env.finish()?;
        Ok(Self {
            common,
            service: service.ok_or_else(|| ConfigError {
                problems: vec!["the service's settings are incomplete".into()],
            })?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    const ORDER: Manifest = Manifest {
        name: "order",
        postgres: true,
        migrations: None,
        redis: false,
        produces: &["order.v1"],
        consumes: &[],
        calls: &["product", "feature-flag"],
        tokens: Tokens::Verify,
    };

    #[test]
    fn collects_every_problem_with_a_hint() {
        let mut e = env(&[("PORT", "eighty"), ("SHUTDOWN_GRACE", "soon")]);
        let _ = CommonConfig::read(&mut e, &ORDER);
        let err = e.finish().unwrap_err().to_string();
        for expected in [
            "DATABASE_URL is not set",
            "KAFKA_BROKERS is not set",
            "PRODUCT_URL is not set",
            "FEATURE_FLAG_URL is not set",
            "JWKS_URL is not set",
            "TOKEN_ISSUER is not set",
            "PORT=\"eighty\" is invalid",
            "SHUTDOWN_GRACE=\"soon\" is not a duration",
        ] {
            assert!(err.contains(expected), "{expected}: {err}");
        }
        assert!(!err.contains("REDIS_URL"), "order declares no Redis: {err}");
    }

    #[test]
    fn reads_calls_and_tokens() {
        let mut e = env(&[
            ("DATABASE_URL", "postgres://u:hunter2@h/db"),
            ("KAFKA_BROKERS", "k:9092"),
            ("PRODUCT_URL", "http://product/"),
            ("FEATURE_FLAG_URL", "http://feature-flag"),
            ("TOKEN_ISSUER", "shop-auth"),
            ("TOKEN_AUDIENCE", "shop"),
            ("JWKS_URL", "http://auth/.well-known/jwks.json"),
            ("SHUTDOWN_GRACE", "1m 30s"),
        ]);
        let config = CommonConfig::read(&mut e, &ORDER);
        e.finish().unwrap();
        assert_eq!(config.calls["product"], "http://product");
        assert_eq!(config.shutdown_grace, Duration::from_secs(90));
        let tokens = config.tokens.clone().unwrap();
        assert_eq!(tokens.issuer, "shop-auth");
        assert_eq!(
            tokens.jwks_url.as_deref(),
            Some("http://auth/.well-known/jwks.json")
        );
        assert!(
            !format!("{config:?}").contains("hunter2"),
            "secrets never print"
        );
        assert_eq!(
            config.database_url.unwrap().expose_secret(),
            "postgres://u:hunter2@h/db"
        );
        assert_eq!(config.redis_prefix, "order:");
    }

    #[test]
    fn reads_what_the_environment_lacks_from_secrets_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("REDIS_URL"), "redis://from-file:6379\n").unwrap();
        std::fs::write(dir.path().join("PORT"), "9000").unwrap();
        std::fs::create_dir(dir.path().join("SESSION_KEY")).unwrap();
        let mut e = env(&[("PORT", "8080")]).with_secrets_dir(dir.path());
        let redis: Option<SecretString> = e.secret("REDIS_URL", "a Redis URL");
        assert_eq!(redis.unwrap().expose_secret(), "redis://from-file:6379");
        assert_eq!(e.or("PORT", 0u16, "a port"), 8080, "the environment wins");
        assert!(e.optional_secret("ABSENT").is_none(), "no file is no value");
        let _ = e.secret("SESSION_KEY", "a session key");
        let err = e.finish().unwrap_err().to_string();
        assert!(
            err.contains("SESSION_KEY cannot be read from"),
            "an unreadable file is an error: {err}"
        );
        assert!(!err.contains("SESSION_KEY is not set"), "said once: {err}");
        assert!(!err.contains("from-file"), "values never print: {err}");

        let mut missing = env(&[]).with_secrets_dir(dir.path().join("nowhere"));
        let _ = missing.optional_secret("REDIS_URL");
        let err = missing.finish().unwrap_err().to_string();
        assert!(err.contains("is not a directory"), "{err}");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_url("postgres://postgres@h/db"),
            "postgres://postgres@h/db"
        );
        assert_eq!(redact_url("redis://h:6379"), "redis://h:6379");
    }
}
