//! Kubernetes manifests of our own services, per environment (the rendered-manifests pattern).
//!
//! Every Argo CD Application has a folder of its own. `gitops/<env>/namespaces/namespaces.yaml`
//! holds one Namespace per tier (sidecar injection on, pod security `restricted`), and
//! `network-policies.yaml` beside it denies ingress in every tier namespace by default;
//! `gitops/<env>/<namespace>/<service>/<service>.yaml` holds everything one service runs as:
//! ServiceAccount, Deployment, Service, HorizontalPodAutoscaler and, when more than one replica
//! must stay up, a PodDisruptionBudget; its ExternalSecrets (`<service>-secrets`,
//! `<service>-stores`) read through its own SecretStore, the Cloud SQL Auth Proxy as a native
//! sidecar when it owns a database, NetworkPolicy (ingress from its callers only),
//! ServiceMonitor and, with an `slo`, a PrometheusRule and a Grafana dashboard.

use std::collections::BTreeMap;

use askama::Template;

use super::{add_yaml, filters};
use crate::codegen::Files;
use crate::model::{Environment, JWKS_PATH, Platform, Service, Slo};
use crate::settings::{Setting, settings, token_value, trusted_proxy_hops};

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
            mesh: true,
            enforce: RESTRICTED,
        })
        .collect();
    // The database grants job's: outside the mesh (a sidecar would keep its Job from completing).
    if super::components::runs_database_grants(platform) {
        namespaces.push(Ns {
            name: super::components::DB_GRANTS,
            tier: "platform",
            mesh: false,
            enforce: RESTRICTED,
        });
    }
    // Components with workloads of ours (Airflow's database proxy), created here so their default
    // denies apply before the chart syncs: outside the mesh (its executor's task pods would never
    // finish with a sidecar), and enforcing `baseline` while auditing and warning `restricted`,
    // which the chart's values ask of every pod but cannot be checked without the chart.
    for namespace in super::components::workload_namespaces() {
        namespaces.push(Ns {
            name: namespace,
            tier: "data",
            mesh: false,
            enforce: "baseline",
        });
    }
    namespaces.sort_by_key(|ns| ns.name);
    let body = NamespacesYaml {
        platform: &platform.name,
        namespaces,
    }
    .render()?;
    add_yaml(files, format!("{dir}/namespaces/namespaces.yaml"), &body);

    let body = NetworkPoliciesYaml {
        platform: &platform.name,
        namespaces: super::workload_namespaces(platform).into_iter().collect(),
    }
    .render()?;
    add_yaml(
        files,
        format!("{dir}/namespaces/network-policies.yaml"),
        &body,
    );

    for s in platform.services.values() {
        let body = ServiceYaml::new(platform, env, s)?.render()?;
        add_yaml(
            files,
            format!("{dir}/{}/{}/{}.yaml", s.namespace, s.name, s.name),
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

#[derive(Template)]
#[template(path = "k8s/network-policies.yaml", escape = "none")]
struct NetworkPoliciesYaml<'a> {
    platform: &'a str,
    namespaces: Vec<&'a str>,
}

struct Ns<'a> {
    name: &'a str,
    tier: &'a str,
    /// Sidecars injected (the tiers) or not (the grants job's).
    mesh: bool,
    /// The pod security level enforced; `restricted` is always audited and warned.
    enforce: &'a str,
}

/// The pod security level of the namespaces whose pods are all ours.
const RESTRICTED: &str = "restricted";

#[derive(Template)]
#[template(path = "k8s/service.yaml", escape = "none")]
struct ServiceYaml<'a> {
    s: &'a Service,
    /// Labels on every object, and on the pods.
    labels: Vec<(&'static str, String)>,
    /// The pods' `version` label (Istio's telemetry reads it): the commit of the image, on the
    /// pod template only, so an image bump changes the image and this line of the service's
    /// Deployments, not every object.
    version: String,
    gcp_service_account: String,
    /// `<registry>/<service>:<commit>@<digest>` when images.toml pins it, else
    /// `<registry>/<service>:<image_tag>`.
    image: String,
    /// Whether `image` names a digest.
    pinned: bool,
    min_replicas: u32,
    max_replicas: u32,
    ha: bool,
    /// (name, value): plain values; secrets are files (below), never environment variables.
    env_vars: Vec<(String, String)>,
    /// Where the pod mounts its secrets, one file per variable ([`SECRETS_DIR`]), grouped by the
    /// Secret that holds them: (Secret, [(key, variable)]). The kit reads a variable from the file
    /// named after it.
    secret_files: Vec<(String, Vec<(String, String)>)>,
    secrets_dir: &'static str,
    termination_grace_seconds: u32,
    /// The service's own SecretStore (named after it), when it has secrets or stores: rendered.
    secret_store: Option<String>,
    /// The Cloud SQL Auth Proxy sidecar, when the service owns a database.
    cloud_sql: Option<CloudSqlProxy>,
    /// `<service>-secrets`: (key, Secret Manager secret id), one per declared secret.
    secret_keys: Vec<(String, String)>,
    /// `<service>-stores`: (key, Secret Manager secret id) of REDIS_URL.
    store_keys: Vec<(String, String)>,
    /// (namespace, name) of the services that list this one in `calls`, sorted.
    callers: Vec<(String, String)>,
    /// Whether the ingress gateway connects to the service (routes to it, or fetches its JWKS).
    ingress: bool,
    slo: Option<SloYaml>,
    /// The PromQL label matchers of the service's metrics.
    selector: String,
}

/// What the PrometheusRule and dashboard of a service with an `slo` need.
struct SloYaml {
    /// In percent, as written in platform.toml.
    availability: String,
    p99_seconds: String,
    /// The rate windows the recording rules compute.
    windows: &'static [&'static str],
    alerts: &'static [BurnAlert],
    /// The Grafana dashboard, JSON.
    dashboard: String,
}

/// One multi-window burn-rate alert: fires when both windows burn faster than `factor`.
struct BurnAlert {
    name: &'static str,
    latency_name: &'static str,
    factor: &'static str,
    long: &'static str,
    short: &'static str,
    severity: &'static str,
}

/// The Google SRE workbook's multi-window, multi-burn-rate alerts (30-day budget): 14.4x pages
/// (2% of the budget in an hour), 6x opens a ticket (5% in six hours).
const BURN_ALERTS: &[BurnAlert] = &[
    BurnAlert {
        name: "ErrorBudgetFastBurn",
        latency_name: "LatencyFastBurn",
        factor: "14.4",
        long: "1h",
        short: "5m",
        severity: "page",
    },
    BurnAlert {
        name: "ErrorBudgetSlowBurn",
        latency_name: "LatencySlowBurn",
        factor: "6",
        long: "6h",
        short: "30m",
        severity: "ticket",
    },
];
const BURN_WINDOWS: &[&str] = &["5m", "30m", "1h", "6h"];

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
    fn new(platform: &Platform, env: &Environment, s: &'a Service) -> anyhow::Result<Self> {
        let (min_replicas, max_replicas) = s.replicas(env);
        let labels = vec![
            ("app", s.name.clone()),
            ("app.kubernetes.io/name", s.name.clone()),
            ("app.kubernetes.io/part-of", platform.name.clone()),
            ("app.kubernetes.io/component", s.tier.clone()),
        ];
        let store_keys = store_keys(s);
        let secret_store = if s.secrets.is_empty() && store_keys.is_empty() {
            None
        } else {
            Some(
                SecretStoreYaml::new(
                    platform,
                    env,
                    &s.namespace,
                    &s.name,
                    s.gcp_service_account(env),
                )
                .labels(labels.clone())
                .render()?,
            )
        };
        let (env_vars, secret_files) = split_settings(platform, env, s);
        let pin = platform.images.get(&s.name);
        Ok(Self {
            s,
            gcp_service_account: s.gcp_service_account(env),
            version: pin.map_or(&platform.image_tag, |p| &p.commit).clone(),
            image: match pin {
                Some(pin) => format!(
                    "{}/{}:{}@{}",
                    platform.registry, s.name, pin.commit, pin.digest
                ),
                None => format!("{}/{}:{}", platform.registry, s.name, platform.image_tag),
            },
            pinned: pin.is_some(),
            min_replicas,
            max_replicas,
            ha: env.ha,
            env_vars,
            secret_files,
            secrets_dir: SECRETS_DIR,
            termination_grace_seconds: DRAIN_DELAY_SECONDS
                + SHUTDOWN_GRACE_SECONDS
                + TERMINATION_MARGIN_SECONDS,
            secret_store,
            cloud_sql: s.postgres.then(|| CloudSqlProxy {
                image: CLOUD_SQL_PROXY_IMAGE,
                instance: platform.cloudsql_connection_name(env),
                port: CLOUD_SQL_PROXY_PORT,
                health_port: CLOUD_SQL_PROXY_HEALTH_PORT,
            }),
            secret_keys: s
                .secrets
                .iter()
                .map(|secret| (secret.clone(), secret_id(s, secret)))
                .collect(),
            store_keys,
            callers: {
                // Callers, and the token verifiers when this is the signer (the mesh policy then
                // admits them to the JWKS path only).
                let signer = platform.token_signer().is_some_and(|j| j.name == s.name);
                let verifiers = if signer {
                    platform.token_verifiers()
                } else {
                    Vec::new()
                };
                let mut callers: Vec<(String, String)> = platform
                    .callers(&s.name)
                    .into_iter()
                    .chain(verifiers)
                    .map(|c| (c.namespace.clone(), c.name.clone()))
                    .collect();
                callers.sort();
                callers.dedup();
                callers
            },
            ingress: platform.ingress_host(s, env).is_some()
                || platform.token_signer().is_some_and(|j| j.name == s.name),
            slo: s.slo.map(|slo| SloYaml {
                availability: slo.availability.to_string(),
                p99_seconds: (f64::from(slo.p99_ms) / 1000.0).to_string(),
                windows: BURN_WINDOWS,
                alerts: BURN_ALERTS,
                dashboard: dashboard(s, slo),
            }),
            selector: format!("namespace=\"{}\",app=\"{}\"", s.namespace, s.name),
            labels,
        })
    }
}

/// A namespaced SecretStore reading Google Secret Manager as the Google service account bound to
/// one Kubernetes ServiceAccount (Workload Identity): the store is named after that account and
/// sees only what Terraform grants its Google account. No ClusterSecretStore exists, so no
/// namespace can read another's secrets, and the operator itself holds no Google identity.
#[derive(Template)]
#[template(path = "k8s/secret-store.yaml", escape = "none")]
pub struct SecretStoreYaml {
    name: String,
    namespace: String,
    service_account: String,
    gcp_service_account: String,
    project: String,
    location: String,
    cluster: String,
    labels: Vec<(&'static str, String)>,
}

impl SecretStoreYaml {
    /// The store `service_account` in `namespace`, named after it; `gcp_service_account` is the
    /// Google account that Kubernetes account is bound to.
    pub fn new(
        platform: &Platform,
        env: &Environment,
        namespace: &str,
        service_account: &str,
        gcp_service_account: String,
    ) -> Self {
        Self {
            name: service_account.to_owned(),
            namespace: namespace.to_owned(),
            service_account: service_account.to_owned(),
            gcp_service_account,
            project: env.gcp_project.clone(),
            location: platform.region.clone(),
            cluster: platform.cluster_name(env),
            labels: vec![("app.kubernetes.io/part-of", platform.name.clone())],
        }
    }

    pub fn labels(mut self, labels: Vec<(&'static str, String)>) -> Self {
        self.labels = labels;
        self
    }
}

/// The Secret Manager secret id of a secret declared in platform.toml: `<service>-<secret>`.
pub fn secret_id(s: &Service, secret: &str) -> String {
    format!("{}-{secret}", s.name)
}

/// The Cloud SQL Auth Proxy beside every service that owns a database: its release, pinned by
/// the digest the registry publishes for that tag (a bump changes both; checkov's CKV_K8S_43
/// holds it to the digest).
pub(super) const CLOUD_SQL_PROXY_IMAGE: &str = "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.18.2@sha256:fc224915ef435afeb5b2a9421260a0d31986d5c8b7c7f5783c7f5d5885700cd2";
/// Where the proxy listens for the service, on localhost.
pub(super) const CLOUD_SQL_PROXY_PORT: u16 = 5432;
/// The proxy's health endpoints (/startup, /liveness, /readiness), for the kubelet.
pub(super) const CLOUD_SQL_PROXY_HEALTH_PORT: u16 = 9801;

struct CloudSqlProxy {
    image: &'static str,
    /// `project:region:instance`.
    instance: String,
    port: u16,
    health_port: u16,
}

/// The PostgreSQL user of a Google service account under IAM database authentication: its email
/// without `.gserviceaccount.com` (`svc-cart@shop-prod-123.iam`).
pub fn iam_database_user(gcp_service_account: &str) -> &str {
    gcp_service_account
        .strip_suffix(".gserviceaccount.com")
        .unwrap_or(gcp_service_account)
}

/// The service's DATABASE_URL in a cluster: its own database through the proxy on localhost, as
/// its IAM user, with no password (the proxy logs in and encrypts).
fn database_url(env: &Environment, s: &Service) -> String {
    let email = s.gcp_service_account(env);
    let user = iam_database_user(&email).replace('@', "%40");
    format!(
        "postgres://{user}@127.0.0.1:{CLOUD_SQL_PROXY_PORT}/{}?sslmode=disable",
        s.crate_ident()
    )
}

/// The keys of `<service>-stores` with their Secret Manager secret ids (the database needs none:
/// IAM database authentication has no password).
fn store_keys(s: &Service) -> Vec<(String, String)> {
    let mut keys = Vec::new();
    if s.redis {
        keys.push(("REDIS_URL".to_owned(), secret_id(s, "redis-url")));
    }
    keys
}

/// A Grafana dashboard of the service's request rate, 5xx ratio and p99 latency, the last two
/// with the objective drawn beside them, as JSON.
fn dashboard(s: &Service, slo: Slo) -> String {
    let selector = format!("namespace=\"{}\",app=\"{}\"", s.namespace, s.name);
    let target = |ref_id: &str, legend: &str, expr: String| serde_json::json!({ "refId": ref_id, "legendFormat": legend, "expr": expr });
    let panel = |id: u32, title: &str, unit: &str, targets: Vec<serde_json::Value>| {
        serde_json::json!({
            "id": id,
            "type": "timeseries",
            "title": title,
            "datasource": { "type": "prometheus", "uid": "prometheus" },
            "gridPos": { "h": 8, "w": 8, "x": (id - 1) * 8, "y": 0 },
            "fieldConfig": { "defaults": { "unit": unit }, "overrides": [] },
            "targets": targets,
        })
    };
    let requests = |extra: &str| format!("rate(http_requests_total{{{selector}{extra}}}[5m])");
    let rate = panel(
        1,
        "Request rate",
        "reqps",
        vec![target(
            "A",
            "{{route}}",
            format!("sum by (route) ({})", requests("")),
        )],
    );
    let errors = panel(
        2,
        "5xx ratio",
        "percentunit",
        vec![
            target(
                "A",
                "5xx",
                format!(
                    "sum({}) / sum({})",
                    requests(",status=~\"5..\""),
                    requests("")
                ),
            ),
            target(
                "B",
                "error budget",
                format!("vector(1 - {} / 100)", slo.availability),
            ),
        ],
    );
    let latency = panel(
        3,
        "p99 latency",
        "s",
        vec![
            target(
                "A",
                "p99",
                format!(
                    "histogram_quantile(0.99, sum by (le) \
                     (rate(http_request_duration_seconds_bucket{{{selector}}}[5m])))"
                ),
            ),
            target(
                "B",
                "objective",
                format!("vector({})", f64::from(slo.p99_ms) / 1000.0),
            ),
        ],
    );
    let dashboard = serde_json::json!({
        "uid": format!("{}-{}", s.namespace, s.name),
        "title": format!("{} ({})", s.name, s.namespace),
        "tags": [s.tier, "slo"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "1m",
        "time": { "from": "now-6h", "to": "now" },
        "panels": [rate, errors, latency],
    });
    serde_json::to_string_pretty(&dashboard).expect("a JSON value serializes")
}

/// A service's base URL inside the cluster (its Service listens on port 80).
fn cluster_url(s: &Service) -> String {
    format!("http://{}.{}.svc.cluster.local", s.name, s.namespace)
}

/// Where a service's secrets are mounted, one file per variable, named after it: the kit reads a
/// variable that is not in the environment from `$SECRETS_DIR/<NAME>` (`kit::config::Env`).
/// Files rather than environment variables, so a secret is not in `/proc/<pid>/environ`, in a
/// child process's environment, or in a dump of the pod's spec.
pub const SECRETS_DIR: &str = "/var/run/secrets/shop";

/// A service's settings in a cluster, split: (name, value) of the plain ones as environment
/// variables, with `SECRETS_DIR` when it has secrets; and the secret ones as (Secret,
/// [(key, variable)]), each key the file `$SECRETS_DIR/<variable>`.
type SplitSettings = (Vec<(String, String)>, Vec<(String, Vec<(String, String)>)>);

fn split_settings(platform: &Platform, env: &Environment, s: &Service) -> SplitSettings {
    let mut vars = Vec::new();
    let mut files: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for var in all_settings(platform, env, s) {
        match var.source {
            EnvSource::Value(value) => vars.push((var.name, value)),
            EnvSource::Secret { secret, key } => {
                files.entry(secret).or_default().push((key, var.name));
            }
        }
    }
    if !files.is_empty() {
        vars.push(("SECRETS_DIR".to_owned(), SECRETS_DIR.to_owned()));
    }
    (vars, files.into_iter().collect())
}

/// The service's settings in a cluster ([`settings`] says what each variable holds).
fn all_settings(platform: &Platform, env: &Environment, s: &Service) -> Vec<EnvVar> {
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
                Setting::OtlpEndpoint => value(format!(
                    "http://tempo.{}.svc.cluster.local:4318",
                    super::components::MONITORING_NAMESPACE
                )),
                Setting::DatabaseUrl => value(database_url(env, s)),
                Setting::RedisUrl => secret(stores.clone(), "REDIS_URL"),
                Setting::KafkaBrokers => value(platform.kafka_bootstrap()),
                Setting::Secret(key) => secret(format!("{}-secrets", s.name), &key),
                Setting::ServiceUrl(target) => value(cluster_url(&platform.services[&target])),
                Setting::MailFrom => value(format!("no-reply@{}", env.domain)),
                Setting::TokenIssuer | Setting::TokenAudience => {
                    value(token_value(platform, &setting).unwrap_or_default())
                }
                Setting::PublicOrigin => value(
                    platform
                        .ingress_host(s, env)
                        .map(|host| format!("https://{host}"))
                        .unwrap_or_default(),
                ),
                Setting::StorefrontOrigin => value(
                    platform
                        .storefront_service()
                        .and_then(|storefront| platform.ingress_host(storefront, env))
                        .map(|host| format!("https://{host}"))
                        .unwrap_or_default(),
                ),
                Setting::JwksUrl => value(
                    platform
                        .token_signer()
                        .map(|signer| format!("{}{JWKS_PATH}", cluster_url(signer)))
                        .unwrap_or_default(),
                ),
            };
            EnvVar { name, source }
        })
        .collect()
}
