//! Kubernetes manifests of our own services, per environment (the rendered-manifests pattern).
//!
//! `gitops/<env>/namespaces.yaml` holds one Namespace per tier (sidecar injection on, pod
//! security `restricted`); `gitops/<env>/<namespace>/<service>.yaml` holds everything one service
//! runs as: ServiceAccount, Deployment, Service, HorizontalPodAutoscaler and, when more than one
//! replica must stay up, a PodDisruptionBudget.

use askama::Template;

use super::{add_yaml, filters};
use crate::codegen::Files;
use crate::model::{Environment, Platform, Service, env_name};

/// What services get as `SHUTDOWN_GRACE`, in seconds; the pod's grace period adds a margin.
const SHUTDOWN_GRACE_SECONDS: u32 = 20;
const TERMINATION_MARGIN_SECONDS: u32 = 10;

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
            gcp_service_account: format!(
                "{}@{}.iam.gserviceaccount.com",
                s.name, platform.gcp_project
            ),
            image: format!("{}/{}:{}", platform.registry, s.name, platform.image_tag),
            min_replicas,
            max_replicas,
            ha: env.ha,
            env_vars: env_vars(platform, s),
            termination_grace_seconds: SHUTDOWN_GRACE_SECONDS + TERMINATION_MARGIN_SECONDS,
        }
    }
}

/// The service's environment, in the order kit's configuration documents it.
fn env_vars(platform: &Platform, s: &Service) -> Vec<EnvVar> {
    let value = |name: &str, value: String| EnvVar {
        name: name.to_owned(),
        source: EnvSource::Value(value),
    };
    let secret = |name: &str, secret: String, key: &str| EnvVar {
        name: name.to_owned(),
        source: EnvSource::Secret {
            secret,
            key: key.to_owned(),
        },
    };
    let stores = format!("{}-stores", s.name);
    let mut vars = vec![
        value("PORT", s.port.to_string()),
        value("LOG_FORMAT", "json".into()),
        value("SHUTDOWN_GRACE", format!("{SHUTDOWN_GRACE_SECONDS}s")),
    ];
    if s.postgres {
        vars.push(secret("DATABASE_URL", stores.clone(), "DATABASE_URL"));
    }
    if s.redis {
        vars.push(secret("REDIS_URL", stores, "REDIS_URL"));
    }
    if s.kafka() {
        vars.push(value("KAFKA_BROKERS", platform.kafka_bootstrap()));
    }
    for name in &s.secrets {
        vars.push(secret(&env_name(name), format!("{}-secrets", s.name), name));
    }
    // The only services this one may call, at their in-cluster addresses.
    for target in &s.calls {
        let namespace = &platform.services[target].namespace;
        vars.push(value(
            &format!("{}_URL", env_name(target)),
            format!("http://{target}.{namespace}.svc.cluster.local"),
        ));
    }
    vars
}
