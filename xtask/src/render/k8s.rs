//! Kubernetes manifests of our own services, per environment (the rendered-manifests pattern).
//!
//! `gitops/<env>/namespaces.yaml` holds one Namespace per tier (sidecar injection on, pod
//! security `restricted`); `gitops/<env>/<namespace>/<service>.yaml` holds everything one service
//! runs as: ServiceAccount, Deployment, Service, HorizontalPodAutoscaler and, when more than one
//! replica must stay up, a PodDisruptionBudget.

use askama::Template;

use super::{add_yaml, filters};
use crate::codegen::Files;
use crate::model::{Environment, Platform, Service};
use crate::settings::{Setting, settings, trusted_proxy_hops};

/// What services get as `SHUTDOWN_GRACE`, in seconds.
const SHUTDOWN_GRACE_SECONDS: u32 = 20;
/// What services get as `SHUTDOWN_DRAIN_DELAY`: long enough for endpoints to be updated.
const DRAIN_DELAY_SECONDS: u32 = 5;
/// The pod's grace period exceeds drain delay plus shutdown grace by this much.
const TERMINATION_MARGIN_SECONDS: u32 = 5;

pub(super) fn render(
    platform: &Platform,
    env: &Environment,
    files: &mut Files,
) -> anyhow::Result<()> {
    let dir = format!("gitops/{}", env.name);
    let mut namespaces: Vec<Ns> = platform
        .tiers
        .values()
        .map(|t| Ns {
            name: &t.namespace,
            tier: &t.name,
        })
        .collect();
    namespaces.sort_by_key(|ns| ns.name);
    let body = NamespacesYaml {
        platform: &platform.name,
        namespaces,
    }
    .render()?;
    add_yaml(files, format!("{dir}/namespaces.yaml"), &body);

    for s in platform.services.values() {
        let body = ServiceYaml::new(platform, env, s).render()?;
        add_yaml(
            files,
            format!("{dir}/{}/{}.yaml", s.namespace, s.name),
            &body,
        );
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "k8s/namespaces.yaml", escape = "none")]
struct NamespacesYaml<'a> {
    platform: &'a str,
    namespaces: Vec<Ns<'a>>,
}

struct Ns<'a> {
    name: &'a str,
    tier: &'a str,
}

#[derive(Template)]
#[template(path = "k8s/service.yaml", escape = "none")]
struct ServiceYaml<'a> {
    s: &'a Service,
    /// Labels on every object, and on the pods.
    labels: Vec<(&'static str, String)>,
    gcp_service_account: String,
    image: String,
    min_replicas: u32,
    max_replicas: u32,
    ha: bool,
    env_vars: Vec<EnvVar>,
    termination_grace_seconds: u32,
}

struct EnvVar {
    name: String,
    source: EnvSource,
}

enum EnvSource {
    Value(String),
    /// A key of a Secret in the service's namespace.
    Secret {
        secret: String,
        key: String,
    },
}

impl<'a> ServiceYaml<'a> {
    fn new(platform: &Platform, env: &Environment, s: &'a Service) -> Self {
        let (min_replicas, max_replicas) = s.replicas(env);
        let labels = vec![
            ("app", s.name.clone()),
            ("app.kubernetes.io/name", s.name.clone()),
            ("app.kubernetes.io/part-of", platform.name.clone()),
            ("app.kubernetes.io/component", s.tier.clone()),
            ("version", platform.image_tag.clone()),
        ];
        Self {
            s,
            labels,
            gcp_service_account: s.gcp_service_account(env),
            image: format!("{}/{}:{}", platform.registry, s.name, platform.image_tag),
            min_replicas,
            max_replicas,
            ha: env.ha,
            env_vars: env_vars(platform, s),
            termination_grace_seconds: DRAIN_DELAY_SECONDS
                + SHUTDOWN_GRACE_SECONDS
                + TERMINATION_MARGIN_SECONDS,
        }
    }
}

/// The service's environment in a cluster ([`settings`] says what each variable holds).
fn env_vars(platform: &Platform, s: &Service) -> Vec<EnvVar> {
    let stores = format!("{}-stores", s.name);
    settings(platform, s)
        .into_iter()
        .map(|(name, setting)| {
            let value = |v: String| EnvSource::Value(v);
            let secret = |secret: String, key: &str| EnvSource::Secret {
                secret,
                key: key.to_owned(),
            };
            let source = match setting {
                Setting::Host => value("0.0.0.0".into()),
                Setting::Port => value(s.port.to_string()),
                Setting::LogFormat => value("json".into()),
                Setting::ShutdownGrace => value(format!("{SHUTDOWN_GRACE_SECONDS}s")),
                Setting::DrainDelay => value(format!("{DRAIN_DELAY_SECONDS}s")),
                Setting::TrustedProxyHops => value(trusted_proxy_hops(s).to_string()),
                Setting::DatabaseUrl => secret(stores.clone(), "DATABASE_URL"),
                Setting::RedisUrl => secret(stores.clone(), "REDIS_URL"),
                Setting::KafkaBrokers => value(platform.kafka_bootstrap()),
                Setting::Secret(key) => secret(format!("{}-secrets", s.name), &key),
                Setting::ServiceUrl(target) => {
                    let namespace = &platform.services[&target].namespace;
                    value(format!("http://{target}.{namespace}.svc.cluster.local"))
                }
            };
            EnvVar { name, source }
        })
        .collect()
}
