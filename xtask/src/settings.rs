//! The environment a service runs with, declared once for every place it runs.
//!
//! [`settings`] lists a service's variables and what each holds ([`Setting`]); the Kubernetes
//! renderer resolves them to values and secret references of a cluster, `cargo xtask up` to
//! local values. Both match on every [`Setting`], so a variable added here is handled in both or
//! the build fails, and the two environments cannot drift apart.

use crate::model::{Platform, Service, env_name};

/// What one environment variable of a service holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// The address to bind.
    Host,
    /// The service's port from platform.toml.
    Port,
    /// `json` in clusters, `pretty` locally.
    LogFormat,
    /// Time to finish in-flight work on shutdown.
    ShutdownGrace,
    /// Time to keep serving, already unready, before closing the listener.
    DrainDelay,
    /// Proxies in front that append to `X-Forwarded-For`.
    TrustedProxyHops,
    /// Where traces go (OTLP/HTTP); empty means no export.
    OtlpEndpoint,
    /// The service's own database.
    DatabaseUrl,
    RedisUrl,
    KafkaBrokers,
    /// A secret declared in platform.toml, by name.
    Secret(String),
    /// The base URL of a service this one `calls`, by name.
    ServiceUrl(String),
}

/// Every variable of `service`, in a stable order.
pub fn settings(platform: &Platform, service: &Service) -> Vec<(String, Setting)> {
    let mut vars = vec![
        ("HOST".to_owned(), Setting::Host),
        ("PORT".to_owned(), Setting::Port),
        ("LOG_FORMAT".to_owned(), Setting::LogFormat),
        ("SHUTDOWN_GRACE".to_owned(), Setting::ShutdownGrace),
        ("SHUTDOWN_DRAIN_DELAY".to_owned(), Setting::DrainDelay),
        ("TRUSTED_PROXY_HOPS".to_owned(), Setting::TrustedProxyHops),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
            Setting::OtlpEndpoint,
        ),
    ];
    if service.postgres {
        vars.push(("DATABASE_URL".to_owned(), Setting::DatabaseUrl));
    }
    if service.redis {
        vars.push(("REDIS_URL".to_owned(), Setting::RedisUrl));
    }
    if service.kafka() {
        vars.push(("KAFKA_BROKERS".to_owned(), Setting::KafkaBrokers));
    }
    for secret in &service.secrets {
        vars.push((env_name(secret), Setting::Secret(secret.clone())));
    }
    for target in &service.calls {
        debug_assert!(platform.services.contains_key(target));
        vars.push((
            format!("{}_URL", env_name(target)),
            Setting::ServiceUrl(target.clone()),
        ));
    }
    vars
}

/// How many proxies that append to `X-Forwarded-For` stand in front of `service` in a cluster:
/// the Istio ingress gateway (which appends the client's address) for services it routes to and
/// for those behind the API gateway, which forwards the header unchanged. Sidecars do not append.
pub fn trusted_proxy_hops(service: &Service) -> usize {
    usize::from(service.ingress_host.is_some() || !service.routes.is_empty())
}
