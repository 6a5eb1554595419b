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
    /// The `iss` of access tokens (`[tokens] issuer`): written by the signer, checked by verifiers.
    TokenIssuer,
    /// The `aud` of access tokens (`[tokens] audience`).
    TokenAudience,
    /// Where a token verifier fetches the signer's keys: the signer's URL and the JWKS path.
    JwksUrl,
    /// The sender of the mail a service sends: `no-reply@<domain>` of the environment.
    MailFrom,
    /// The origin people reach a public service at (`https://<ingress_host>` in a cluster,
    /// `http://127.0.0.1:<port>` locally): its cookies are `Secure` on https, and form posts must
    /// come from it.
    PublicOrigin,
    /// Where people reach the shop's pages (`platform.storefront`'s origin, as
    /// [`Setting::PublicOrigin`]), for services with API routes: links back to the shop, such
    /// as the page a payment provider sends the shopper back to, must point there.
    StorefrontOrigin,
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
    // A service holding an SMTP relay sends mail: from the environment's domain.
    if service.secrets.iter().any(|s| {
        platform
            .secrets
            .get(s)
            .is_some_and(|s| s.kind == crate::model::SecretKind::SmtpRelay)
    }) {
        vars.push(("MAIL_FROM".to_owned(), Setting::MailFrom));
    }
    for target in &service.calls {
        debug_assert!(platform.services.contains_key(target));
        vars.push((
            format!("{}_URL", env_name(target)),
            Setting::ServiceUrl(target.clone()),
        ));
    }
    let signs = platform
        .token_signer()
        .is_some_and(|signer| signer.name == service.name);
    if signs || service.verify_tokens {
        vars.push(("TOKEN_ISSUER".to_owned(), Setting::TokenIssuer));
        vars.push(("TOKEN_AUDIENCE".to_owned(), Setting::TokenAudience));
    }
    if service.verify_tokens {
        vars.push(("JWKS_URL".to_owned(), Setting::JwksUrl));
    }
    if service.ingress_host.is_some() {
        vars.push(("PUBLIC_ORIGIN".to_owned(), Setting::PublicOrigin));
    }
    if !service.routes.is_empty() && platform.storefront_service().is_some() {
        vars.push(("STOREFRONT_ORIGIN".to_owned(), Setting::StorefrontOrigin));
    }
    vars
}

/// The token settings' values, the same in every environment (`[tokens]`); `None` for the URL.
pub fn token_value(platform: &Platform, setting: &Setting) -> Option<String> {
    let tokens = platform.tokens.as_ref()?;
    match setting {
        Setting::TokenIssuer => Some(tokens.issuer.clone()),
        Setting::TokenAudience => Some(tokens.audience.clone()),
        _ => None,
    }
}

/// How many proxies that set `X-Forwarded-For` stand in front of `service` in a cluster: the
/// Istio ingress gateway (which appends the client's address) for the services it routes to, and
/// the API gateway for the services behind it (it replaces the header with the one client address
/// it determined). Sidecars do not append.
pub fn trusted_proxy_hops(service: &Service) -> usize {
    usize::from(service.ingress_host.is_some() || !service.routes.is_empty())
}

/// The same locally (`cargo xtask up`): clients reach public services directly, and services with
/// routes are reached through the API gateway, which sets the header.
pub fn local_trusted_proxy_hops(service: &Service) -> usize {
    usize::from(!service.routes.is_empty())
}
