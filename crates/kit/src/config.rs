//! Typed configuration from the environment, validated at start.
//!
//! A service reads every variable through one [`Env`]; every problem (missing, unparsable) is
//! collected and reported together, each with a hint, so a misconfigured pod fails once with the
//! whole list instead of one variable per restart. Secrets are read as [`SecretString`], whose
//! `Debug` prints `[REDACTED]`, so a config struct can be logged safely.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Reads and validates environment variables, collecting every error.
pub struct Env {
    lookup: Lookup,
    errors: Vec<String>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env").field("errors", &self.errors).finish()
    }
}

impl Env {
    /// Reads the process environment.
    pub fn from_process() -> Self {
        #[allow(clippy::disallowed_methods)] // this is the one place that reads the environment
        Self::from_fn(|key| std::env::var(key).ok())
    }

    /// Reads from a map; for tests.
    pub fn from_map(map: HashMap<String, String>) -> Self {
        Self::from_fn(move |key| map.get(key).cloned())
    }

    fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            lookup: Box::new(lookup),
            errors: Vec::new(),
        }
    }

    fn raw(&self, key: &str) -> Option<String> {
        (self.lookup)(key).filter(|v| !v.trim().is_empty())
    }

    /// A required variable; `hint` says what to set it to.
    pub fn required<T: FromStr>(&mut self, key: &str, hint: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        match self.raw(key) {
            None => {
                self.errors.push(format!("{key} is not set ({hint})"));
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

    /// A duration written with a unit: `500ms`, `30s`, `5m`, `1h`.
    pub fn duration(&mut self, key: &str, default: Duration) -> Duration {
        match self.raw(key) {
            None => default,
            Some(value) => match parse_duration(&value) {
                Some(d) => d,
                None => {
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
                self.errors.push(format!("{key} is not set ({hint})"));
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

/// Parses `500ms`, `30s`, `5m`, `1h`, `14d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let secs = match unit {
        "ms" => return Some(Duration::from_millis(n)),
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
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

/// Which backing stores a service needs; missing URLs for these are errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    pub postgres: bool,
    pub redis: bool,
    pub kafka: bool,
}

impl CommonConfig {
    /// Reads the shared settings; the service's own settings are read from the same `env`.
    pub fn read(env: &mut Env, service: &str, needs: Needs) -> Self {
        let database_url = if needs.postgres {
            env.secret(
                "DATABASE_URL",
                "postgres://user:password@host:5432/database",
            )
        } else {
            None
        };
        let redis_url = if needs.redis {
            env.secret("REDIS_URL", "redis://host:6379")
        } else {
            None
        };
        let kafka_brokers = if needs.kafka {
            env.required::<String>("KAFKA_BROKERS", "comma-separated host:port list")
        } else {
            None
        };
        Self {
            service: service.to_owned(),
            host: env.or("HOST", "0.0.0.0".to_owned(), "an IP address to bind"),
            port: env.or("PORT", 8080, "a TCP port, 0 for any free port"),
            database_url,
            database_max_connections: env.or("DATABASE_MAX_CONNECTIONS", 10, "a positive number"),
            redis_url,
            redis_prefix: env.or(
                "REDIS_PREFIX",
                format!("{service}:"),
                "a key prefix such as `auth:`",
            ),
            kafka_brokers,
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
        }
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

    #[test]
    fn collects_every_problem_with_a_hint() {
        let mut e = env(&[("PORT", "eighty"), ("SHUTDOWN_GRACE", "soon")]);
        let needs = Needs {
            postgres: true,
            redis: false,
            kafka: true,
        };
        let _ = CommonConfig::read(&mut e, "auth", needs);
        let err = e.finish().unwrap_err().to_string();
        assert!(err.contains("DATABASE_URL is not set"), "{err}");
        assert!(err.contains("KAFKA_BROKERS is not set"), "{err}");
        assert!(err.contains("PORT=\"eighty\" is invalid"), "{err}");
        assert!(
            err.contains("SHUTDOWN_GRACE=\"soon\" is not a duration"),
            "{err}"
        );
    }

    #[test]
    fn secrets_never_print() {
        let mut e = env(&[("DATABASE_URL", "postgres://u:hunter2@h/db")]);
        let needs = Needs {
            postgres: true,
            ..Needs::default()
        };
        let config = CommonConfig::read(&mut e, "auth", needs);
        e.finish().unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
        assert_eq!(
            config.database_url.unwrap().expose_secret(),
            "postgres://u:hunter2@h/db"
        );
        assert_eq!(config.redis_prefix, "auth:");
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

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_duration("14d"),
            Some(Duration::from_secs(14 * 86_400))
        );
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5y"), None);
    }
}
