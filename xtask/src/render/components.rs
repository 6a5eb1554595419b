//! Third-party platform components, per environment: one Argo CD Application per Helm chart under
//! `argocd/<env>/apps/` (repository, chart and pinned version; its values, written as the chart
//! documents them in `templates/charts/<chart>.yaml`, inline as `helm.valuesObject`), and the
//! custom resources they serve, rendered under `gitops/<env>/platform/`: the Strimzi Kafka cluster `<platform>-kafka` with one
//! KafkaTopic per topic and one `<topic>.dlq` per consumed topic (`kafka/`); the Let's Encrypt
//! ClusterIssuer and the ingress certificate (`certificates/`); and, per component [`Identity`]
//! with secrets, its ServiceAccount, SecretStore and ExternalSecret (`secrets/`).
//!
//! Components that call Google APIs act as their own Google service account through Workload
//! Identity ([`identities`]); Terraform creates each from the rendered
//! `platform.auto.tfvars.json` and grants it only what it needs. The External Secrets Operator
//! has none: every SecretStore authenticates as the service account of the workload it serves.
//!
//! Sync waves: CRDs and operators at -3 (istiod, which needs Istio's CRDs, at -2), their custom
//! resources at -2 and -1, our services at 0. The data tools (Spark operator, Airflow, Metabase)
//! have no wave: the independent root syncs them, so they never hold the shop back.

use std::collections::BTreeSet;

use askama::Template;

use super::add_yaml;
use super::filters;
use super::k8s::SecretStoreYaml;
use crate::codegen::Files;
use crate::model::{Environment, Platform};

/// The Kafka version the Strimzi operator below runs (Strimzi 0.48 supports 4.0 and 4.1).
const KAFKA_VERSION: &str = "4.1.0";
/// The namespace of the Kafka cluster (see `Platform::kafka_bootstrap`).
pub const KAFKA_NAMESPACE: &str = "kafka";
/// The namespace of Prometheus, Grafana, Loki and Tempo; NetworkPolicies admit scrapes from it.
pub const MONITORING_NAMESPACE: &str = "monitoring";

/// A Helm chart installed by an Argo CD Application.
pub struct Chart {
    /// The Application is `<env>-<name>`.
    pub name: &'static str,
    pub release: &'static str,
    pub namespace: &'static str,
    pub repo: &'static str,
    pub chart: &'static str,
    pub version: &'static str,
    /// Its sync wave under the root; `None`: synced by the independent root instead (see
    /// [`super::argocd`]), so it neither waits for the shop nor holds it.
    pub wave: Option<i32>,
    pub server_side_apply: bool,
    /// The chart's admission webhooks are patched at run time (CA bundle, failure policy) by
    /// their controller: Argo CD must ignore those fields or self-heal fights it.
    pub patched_webhooks: bool,
    pub comment: String,
    /// Its values (`helm.valuesObject`), when platform.toml or the chart's defaults do not do.
    pub values: Option<RenderValues>,
}

/// cert-manager's namespace, and its identity (the chart's ServiceAccount).
pub const CERT_MANAGER_NAMESPACE: &str = "cert-manager";
const CERT_MANAGER: &str = "cert-manager";
/// The ClusterIssuer of the ingress certificate.
pub const CLUSTER_ISSUER: &str = "letsencrypt";
/// Alertmanager's receivers' credentials: the identity, its SecretStore and the Secret mounted
/// into Alertmanager at `/etc/alertmanager/secrets/<this>/`.
pub const ALERT_RECEIVERS: &str = "alertmanager-receivers";

/// Where the value of one of an identity's secrets comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// A person adds it (`gcloud secrets versions add`; Terraform's `secrets_to_provide`).
    Provided,
    /// terraform/modules/secrets generates it, of this kind (`random`, `fernet-key`), and
    /// writes it through a write-only argument: never in the plan or the state.
    Generated(&'static str),
    /// The environment root writes it from what it creates (a Cloud SQL URL).
    Terraform,
    /// terraform/bootstrap writes it (a deploy key it registered with the repository).
    Bootstrap,
}

impl SecretSource {
    /// Who writes the value, for the rendered ExternalSecret.
    pub fn writer(&self) -> String {
        match self {
            Self::Provided => {
                "A person adds the value (gcloud secrets versions add; docs/deploy.md).".into()
            }
            Self::Generated(kind) => format!(
                "Terraform generates it ({kind}), never in its plan or state (terraform/modules/secrets)."
            ),
            Self::Terraform => "Terraform writes it from what the environment root creates.".into(),
            Self::Bootstrap => {
                "terraform/bootstrap writes it (a read-only deploy key it registered).".into()
            }
        }
    }
}

/// One key of an identity's Kubernetes Secret `<name>`, and the Secret Manager secret it is
/// copied from.
#[derive(Clone, Debug)]
pub struct IdentitySecret {
    pub key: &'static str,
    pub id: String,
    pub source: SecretSource,
}

/// A platform component that calls Google APIs as its own Google service account (Workload
/// Identity). Terraform creates the account `<name>@<project>` from the rendered
/// `platform.auto.tfvars.json` (`components`) and lets only `<namespace>/<name>` act as it.
pub struct Identity {
    /// The Google service account id and the Kubernetes ServiceAccount's name.
    pub name: &'static str,
    pub namespace: &'static str,
    /// The keys of its Kubernetes Secret `<name>`: the account may read these Secret Manager
    /// secrets and nothing else.
    pub secrets: Vec<IdentitySecret>,
    /// Its own Cloud SQL database, which it logs in to as its IAM user through a Cloud SQL Auth
    /// Proxy that runs as this identity in its namespace (see [`DatabaseProxyYaml`]).
    pub database: Option<&'static str>,
    /// The folder of `gitops/<env>/platform/` holding its ServiceAccount, SecretStore and
    /// ExternalSecret (and what uses them).
    pub folder: &'static str,
    /// What the account is for, for the rendered comment and Terraform's description.
    pub purpose: &'static str,
    /// Whether Terraform lets it change the environment's Cloud DNS zone (ACME DNS-01).
    pub dns_zone_admin: bool,
}

impl Identity {
    pub fn gcp_service_account(&self, env: &Environment) -> String {
        format!("{}@{}.iam.gserviceaccount.com", self.name, env.gcp_project)
    }

    /// Every (key, secret id) its ExternalSecret reads.
    pub fn all_secrets(&self) -> Vec<(&'static str, String)> {
        self.secrets.iter().map(|s| (s.key, s.id.clone())).collect()
    }

    /// The secret ids of the given source, by key.
    pub fn secrets_from(&self, source: SecretSource) -> impl Iterator<Item = &IdentitySecret> {
        self.secrets.iter().filter(move |s| s.source == source)
    }

    /// Its database's URL for clients in its namespace: the proxy's Service, as the identity's
    /// IAM user, no password (the proxy logs in and encrypts; see [`DatabaseProxyYaml`]).
    pub fn database_url(&self, env: &Environment) -> Option<String> {
        let database = self.database?;
        let email = self.gcp_service_account(env);
        let user = super::k8s::iam_database_user(&email).replace('@', "%40");
        Some(format!(
            "postgresql://{user}@{}.{}.svc.cluster.local:{}/{database}?sslmode=disable",
            self.database_proxy(),
            self.namespace,
            super::k8s::CLOUD_SQL_PROXY_PORT,
        ))
    }

    /// The name of its Cloud SQL Auth Proxy Deployment and Service.
    pub fn database_proxy(&self) -> String {
        format!("{}-sql-proxy", self.name)
    }
}

/// The database grants job: its identity, namespace, and the key of the Cloud SQL admin URL.
pub const DB_GRANTS: &str = "db-grants";
pub const ADMIN_URL: &str = "ADMIN_URL";
/// The image the grants job runs `psql` from.
const PSQL_IMAGE: &str = "postgres:18.1-alpine";
/// Airflow's identity: its metadata database and the keys the chart reads from Secret `airflow`.
pub const AIRFLOW: &str = "airflow";
/// The folder of this repository git-sync hands Airflow as its DAGs folder (a test checks it
/// exists).
pub const AIRFLOW_DAGS: &str = "pipelines/dags";
/// The key of Secret `airflow` holding git-sync's SSH deploy key (the chart's name for it).
pub const GIT_SSH_KEY: &str = "gitSshKey";

/// The platform components with a Google identity.
pub fn identities() -> Vec<Identity> {
    let secret = |name: &str, key: &'static str, source| IdentitySecret {
        key,
        id: format!("{name}-{key}"),
        source,
    };
    vec![
        Identity {
            name: ALERT_RECEIVERS,
            namespace: MONITORING_NAMESPACE,
            secrets: ["pagerduty-routing-key", "slack-webhook-url"]
                .into_iter()
                .map(|key| secret(ALERT_RECEIVERS, key, SecretSource::Provided))
                .collect(),
            database: None,
            folder: "secrets",
            purpose: "reads Alertmanager's receiver credentials (PagerDuty, Slack)",
            dns_zone_admin: false,
        },
        Identity {
            name: CERT_MANAGER,
            namespace: CERT_MANAGER_NAMESPACE,
            secrets: Vec::new(),
            database: None,
            folder: "",
            purpose: "answers ACME DNS-01 challenges in the environment's Cloud DNS zone",
            dns_zone_admin: true,
        },
        Identity {
            name: DB_GRANTS,
            namespace: DB_GRANTS,
            secrets: vec![IdentitySecret {
                key: ADMIN_URL,
                id: format!("{DB_GRANTS}-admin-url"),
                source: SecretSource::Terraform,
            }],
            database: None,
            folder: "database",
            purpose: "runs the database grants job with the Cloud SQL admin URL",
            dns_zone_admin: false,
        },
        // The chart's own bundled PostgreSQL and its hook-made keys are off: the metadata
        // database is on Cloud SQL and every key comes from Secret Manager.
        Identity {
            name: AIRFLOW,
            namespace: AIRFLOW,
            secrets: vec![
                // The metadata database's URL (the chart's key names throughout).
                secret(AIRFLOW, "connection", SecretSource::Terraform),
                secret(AIRFLOW, "fernet-key", SecretSource::Generated("fernet-key")),
                secret(AIRFLOW, "jwt-secret", SecretSource::Generated("random")),
                secret(AIRFLOW, "api-secret-key", SecretSource::Generated("random")),
                IdentitySecret {
                    key: GIT_SSH_KEY,
                    id: format!("{AIRFLOW}-git-ssh-key"),
                    source: SecretSource::Bootstrap,
                },
            ],
            database: Some("airflow"),
            folder: "airflow",
            purpose: "runs Airflow's Cloud SQL Auth Proxy (its metadata database) and reads its keys",
            dns_zone_admin: false,
        },
    ]
}

/// The namespaces of components that run workloads we render (a database's proxy): each gets
/// the default denies of the services' namespaces.
pub fn workload_namespaces() -> Vec<&'static str> {
    identities()
        .iter()
        .filter(|i| i.database.is_some())
        .map(|i| i.namespace)
        .collect()
}

/// Whether the grants job runs: some service or component owns a database.
pub fn runs_database_grants(platform: &Platform) -> bool {
    platform.services.values().any(|s| s.postgres)
        || identities().iter().any(|i| i.database.is_some())
}

/// The identity named `name` (one of [`identities`]).
fn identity(name: &str) -> Identity {
    identities()
        .into_iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no identity {name}"))
}

/// The grants job's script: for each (database, IAM user), only that user may connect to the
/// database, and it may create objects in the database's `public` schema. A pair whose database
/// or user does not exist yet is skipped with a notice (Terraform may create them after Argo CD
/// syncs); the others are still granted. Idempotent.
pub fn database_grants_sql(grants: &[(String, String)]) -> String {
    let mut sql = String::from(
        "-- Run by the db-grants Job as the Cloud SQL admin user, a member of cloudsqlsuperuser,\n\
         -- which owns every database. IAM users start with no privilege but PUBLIC's: this revokes\n\
         -- PUBLIC's, then gives each service its own database. Safe to run again.\n\
         \\set ON_ERROR_STOP on\n",
    );
    for (database, user) in grants {
        let literal = |s: &str| s.replace('\'', "''");
        let ident = |s: &str| s.replace('"', "\"\"");
        let (db_lit, user_lit) = (literal(database), literal(user));
        let (db, role) = (ident(database), ident(user));
        sql.push_str(&format!(
            "\n-- {database}\n\
             \\connect postgres\n\
             SELECT EXISTS (SELECT FROM pg_database WHERE datname = '{db_lit}')\n       \
             AND EXISTS (SELECT FROM pg_roles WHERE rolname = '{user_lit}') AS ready \\gset\n\
             \\if :ready\n\
             REVOKE ALL ON DATABASE \"{db}\" FROM PUBLIC;\n\
             GRANT CONNECT, TEMPORARY ON DATABASE \"{db}\" TO \"{role}\";\n\
             \\connect \"{db}\"\n\
             GRANT USAGE, CREATE ON SCHEMA public TO \"{role}\";\n\
             \\else\n\
             \\echo '{db_lit}: the database or its IAM user does not exist yet (Terraform creates them); skipped'\n\
             \\endif\n"
        ));
    }
    sql
}

/// What a chart's values template (`templates/charts/<chart>.yaml`) may refer to.
pub struct ValuesContext<'a> {
    pub env: &'a Environment,
    /// Namespace of Prometheus, Grafana, Loki and Tempo.
    pub monitoring: &'static str,
    /// cert-manager's Google service account (Workload Identity).
    pub cert_manager_sa: String,
    /// The Secret holding Alertmanager's receiver credentials, and where it is mounted.
    pub receivers_secret: &'static str,
    pub receivers_dir: String,
    pub airflow: AirflowContext,
    /// The name of the ingress gateway's static address (terraform/modules/dns: `<name>-ingress`).
    pub ingress_address: String,
}

/// What Airflow's values refer to.
pub struct AirflowContext {
    /// The Secret with every key the chart reads (the identity's ExternalSecret makes it).
    pub secret: &'static str,
    pub database: &'static str,
    /// This repository over SSH, for git-sync's deploy key.
    pub git_ssh_url: String,
    pub dags: &'static str,
    pub known_hosts: &'static str,
}

/// GitHub's published SSH host key (https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/githubs-ssh-key-fingerprints).
const GITHUB_KNOWN_HOSTS: &str =
    "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

impl<'a> ValuesContext<'a> {
    pub fn new(platform: &'a Platform, env: &'a Environment) -> Self {
        Self {
            env,
            monitoring: MONITORING_NAMESPACE,
            cert_manager_sa: identity(CERT_MANAGER).gcp_service_account(env),
            receivers_secret: ALERT_RECEIVERS,
            receivers_dir: format!("/etc/alertmanager/secrets/{ALERT_RECEIVERS}"),
            ingress_address: format!("{}-ingress", platform.cluster_name(env)),
            airflow: AirflowContext {
                secret: AIRFLOW,
                database: identity(AIRFLOW).database.unwrap_or(AIRFLOW),
                git_ssh_url: platform.git_ssh_url(),
                dags: AIRFLOW_DAGS,
                known_hosts: GITHUB_KNOWN_HOSTS,
            },
        }
    }
}

/// Renders a chart's values: its template under `templates/charts/`, given a [`ValuesContext`].
pub type RenderValues = fn(&ValuesContext<'_>) -> askama::Result<String>;

/// One askama template per chart that has values, all over the same [`ValuesContext`], the
/// function that renders it, and the list of the templates (`VALUES_TEMPLATES`).
macro_rules! values_templates {
    ($($function:ident: $template:ident = $path:literal;)*) => {
        /// The values templates, relative to `templates/`: every file of `templates/charts/`.
        #[cfg(test)]
        const VALUES_TEMPLATES: &[&str] = &[$($path),*];
        $(
        #[derive(Template)]
        #[template(path = $path, escape = "none")]
        struct $template<'a>(&'a ValuesContext<'a>);

        impl<'a> std::ops::Deref for $template<'a> {
            type Target = ValuesContext<'a>;
            fn deref(&self) -> &Self::Target {
                self.0
            }
        }

        fn $function(context: &ValuesContext<'_>) -> askama::Result<String> {
            $template(context).render()
        }
    )*};
}

/// Fails unless a chart's rendered values are a YAML mapping (what Helm merges over the chart's
/// defaults).
fn values_mapping(chart: &str, text: &str) -> anyhow::Result<()> {
    match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text) {
        Ok(serde_yaml_ng::Value::Mapping(_)) => Ok(()),
        Ok(other) => anyhow::bail!(
            "templates/charts/{chart}.yaml: chart values must be a mapping, not {other:?}"
        ),
        Err(error) => anyhow::bail!("templates/charts/{chart}.yaml renders invalid YAML: {error}"),
    }
}

values_templates! {
    istio_cni_values: IstioCniValues = "charts/istio-cni.yaml";
    istiod_values: IstiodValues = "charts/istiod.yaml";
    ingressgateway_values: IngressGatewayValues = "charts/istio-ingressgateway.yaml";
    cert_manager_values: CertManagerValues = "charts/cert-manager.yaml";
    external_secrets_values: ExternalSecretsValues = "charts/external-secrets.yaml";
    kube_prometheus_stack_values: KubePrometheusStackValues = "charts/kube-prometheus-stack.yaml";
    loki_values: LokiValues = "charts/loki.yaml";
    alloy_values: AlloyValues = "charts/alloy.yaml";
    tempo_values: TempoValues = "charts/tempo.yaml";
    spark_operator_values: SparkOperatorValues = "charts/spark-operator.yaml";
    airflow_values: AirflowValues = "charts/airflow.yaml";
    argocd_values: ArgoCdValues = "charts/argo-cd.yaml";
}

const ISTIO_REPO: &str = "https://istio-release.storage.googleapis.com/charts";
const ISTIO_VERSION: &str = "1.27.3";

/// Argo CD's own chart: Terraform installs it (terraform/modules/argocd), then this Application
/// keeps it in step.
pub const ARGOCD: &str = "argocd";
/// The Secret Manager secret of Argo CD's read-only deploy key (terraform/bootstrap writes it).
pub const ARGOCD_REPOSITORY_KEY: &str = "argocd-repository-key";

impl Chart {
    /// Whether this is Argo CD's own chart, which Argo CD manages (deleting its Application must
    /// not delete Argo CD: no resources finalizer).
    pub fn is_argocd(&self) -> bool {
        self.name == ARGOCD
    }
}

/// The charts of an environment, in install order.
pub fn charts(platform: &Platform) -> Vec<Chart> {
    let istio = |name, release, namespace, chart, wave, comment: &str, values| Chart {
        name,
        release,
        namespace,
        repo: ISTIO_REPO,
        chart,
        version: ISTIO_VERSION,
        wave: Some(wave),
        server_side_apply: false,
        patched_webhooks: false,
        comment: comment.to_owned(),
        values,
    };
    vec![
        Chart {
            // istiod-default-validator: shipped with `failurePolicy: Ignore`, set to `Fail` by
            // istiod once it serves (guard rule istio-webhooks-left-to-istiod).
            patched_webhooks: true,
            ..istio(
                "istio-base",
                "istio-base",
                "istio-system",
                "base",
                -3,
                "Istio's CRDs, cluster roles and default validating webhook.",
                None,
            )
        },
        istio(
            "istio-cni",
            "istio-cni",
            "istio-system",
            "cni",
            -3,
            "The Istio CNI node agent: sets up traffic redirection instead of a privileged\n\
             istio-init container, which `restricted` pod security would refuse.",
            Some(istio_cni_values),
        ),
        Chart {
            patched_webhooks: true,
            ..istio(
                "istiod",
                "istiod",
                "istio-system",
                "istiod",
                -2,
                "The Istio control plane, with the CNI plugin (the tier namespaces enforce `restricted`\n\
                 pod security) and metrics merging (the app's /metrics served on :15020). Envoy, not\n\
                 istiod, fetches JWKS: istiod has no mesh identity, and auth accepts only mTLS.",
                Some(istiod_values),
            )
        },
        istio(
            "istio-ingressgateway",
            "istio-ingressgateway",
            "istio-ingress",
            "gateway",
            -1,
            "The ingress gateway (service account istio-ingressgateway, pods labelled\n\
             istio: ingressgateway), which the Gateway in policies/istio selects. Its load balancer\n\
             takes the address Terraform reserves for it, by name.",
            Some(ingressgateway_values),
        ),
        Chart {
            name: "cert-manager",
            release: "cert-manager",
            namespace: CERT_MANAGER_NAMESPACE,
            repo: "https://charts.jetstack.io",
            chart: "cert-manager",
            version: "v1.19.1",
            wave: Some(-3),
            server_side_apply: true,
            patched_webhooks: false,
            comment: "cert-manager: issues the ingress certificate from Let's Encrypt, answering DNS-01\n\
                      challenges in the environment's Cloud DNS zone as the Google service account\n\
                      cert-manager (Workload Identity; Terraform grants it that zone only)."
                .to_owned(),
            values: Some(cert_manager_values),
        },
        Chart {
            name: "external-secrets",
            release: "external-secrets",
            namespace: "external-secrets",
            repo: "https://charts.external-secrets.io",
            chart: "external-secrets",
            version: "0.20.4",
            wave: Some(-3),
            server_side_apply: true,
            patched_webhooks: false,
            comment: "The External Secrets Operator. It holds no Google identity: each SecretStore\n\
                      names the Kubernetes ServiceAccount it authenticates as (the chart lets the\n\
                      operator request tokens for service accounts)."
                .to_owned(),
            values: Some(external_secrets_values),
        },
        Chart {
            name: "strimzi",
            release: "strimzi",
            namespace: KAFKA_NAMESPACE,
            repo: "https://strimzi.io/charts/",
            chart: "strimzi-kafka-operator",
            version: "0.48.0",
            wave: Some(-3),
            server_side_apply: true,
            patched_webhooks: false,
            comment: "The Strimzi operator, watching the kafka namespace.".to_owned(),
            values: None,
        },
        Chart {
            name: "kube-prometheus-stack",
            release: "kube-prometheus-stack",
            namespace: MONITORING_NAMESPACE,
            repo: "https://prometheus-community.github.io/helm-charts",
            chart: "kube-prometheus-stack",
            version: "79.5.0",
            wave: Some(-3),
            server_side_apply: true,
            patched_webhooks: false,
            comment:
                "Prometheus Operator, Prometheus, Alertmanager and Grafana. Prometheus selects\n\
                      every PodMonitor, ServiceMonitor and PrometheusRule in the cluster; Grafana\n\
                      loads every ConfigMap labelled grafana_dashboard: \"1\" and links log lines'\n\
                      trace_id to Tempo. Alertmanager pages (PagerDuty) on severity page or\n\
                      critical and posts everything else to Slack, with credentials from the Secret\n\
                      alertmanager-receivers (Secret Manager, see gitops/<env>/platform/secrets/,\n\
                      mounted optional so Alertmanager starts before the values are filled in);\n\
                      Watchdog, the always-firing heartbeat, goes nowhere until a dead man's switch\n\
                      is wired to it."
                    .to_owned(),
            values: Some(kube_prometheus_stack_values),
        },
        Chart {
            name: "loki",
            release: "loki",
            namespace: MONITORING_NAMESPACE,
            repo: "https://grafana.github.io/helm-charts",
            chart: "loki",
            version: "6.46.0",
            wave: Some(-1),
            server_side_apply: false,
            patched_webhooks: false,
            comment: "Loki, single binary: the logs of every pod, shipped by Alloy.".to_owned(),
            values: Some(loki_values),
        },
        Chart {
            name: "alloy",
            release: "alloy",
            namespace: MONITORING_NAMESPACE,
            repo: "https://grafana.github.io/helm-charts",
            chart: "alloy",
            version: "1.4.0",
            wave: Some(-1),
            server_side_apply: false,
            patched_webhooks: false,
            comment: "Grafana Alloy: tails every pod's log through the Kubernetes API (no host mounts)\n\
                      and pushes it to Loki, labelled with namespace, pod, container, app and level."
                .to_owned(),
            values: Some(alloy_values),
        },
        Chart {
            name: "tempo",
            release: "tempo",
            namespace: MONITORING_NAMESPACE,
            repo: "https://grafana.github.io/helm-charts",
            chart: "tempo",
            version: "1.24.0",
            wave: Some(-1),
            server_side_apply: false,
            patched_webhooks: false,
            comment: "Tempo, single binary: traces over OTLP.".to_owned(),
            values: Some(tempo_values),
        },
        Chart {
            name: "spark-operator",
            release: "spark-operator",
            namespace: "spark-operator",
            repo: "https://kubeflow.github.io/spark-operator",
            chart: "spark-operator",
            version: "2.3.0",
            wave: None, // a data tool: never gates the shop
            server_side_apply: true,
            patched_webhooks: false,
            comment: "The Kubeflow Spark operator; Spark jobs run in its namespace.".to_owned(),
            values: Some(spark_operator_values),
        },
        Chart {
            name: "airflow",
            release: "airflow",
            namespace: "airflow",
            repo: "https://airflow.apache.org",
            chart: "airflow",
            version: "1.18.0",
            wave: None, // a data tool: never gates the shop
            server_side_apply: false,
            patched_webhooks: false,
            comment: format!(
                "Airflow: schedules the pipelines/ jobs; DAGs from this repository ({}).",
                platform.repo_url
            ),
            values: Some(airflow_values),
        },
        Chart {
            name: ARGOCD,
            release: ARGOCD,
            namespace: ARGOCD,
            repo: "https://argoproj.github.io/argo-helm",
            chart: "argo-cd",
            version: "9.2.1",
            wave: None, // it syncs the roots: it must never wait for them
            server_side_apply: true,
            patched_webhooks: false,
            comment: "Argo CD itself: installed once by Terraform (terraform/modules/argocd) with these\n\
                      values, then managed from here."
                .to_owned(),
            values: Some(argocd_values),
        },
        Chart {
            name: "metabase",
            release: "metabase",
            namespace: "metabase",
            repo: "https://pmint93.github.io/helm-charts",
            chart: "metabase",
            version: "2.22.0",
            wave: None, // a data tool: never gates the shop
            server_side_apply: false,
            patched_webhooks: false,
            comment: "Metabase: dashboards over the analytics database.".to_owned(),
            values: None,
        },
    ]
}

/// The namespaces the charts install into and the components' identities live in, sorted.
pub fn namespaces(charts: &[Chart]) -> Vec<&'static str> {
    let set: BTreeSet<&str> = charts
        .iter()
        .map(|c| c.namespace)
        .chain(identities().iter().map(|i| i.namespace))
        .collect();
    set.into_iter().collect()
}

/// The chart repositories, sorted.
pub fn repos(charts: &[Chart]) -> Vec<&'static str> {
    let set: BTreeSet<&str> = charts.iter().map(|c| c.repo).collect();
    set.into_iter().collect()
}

/// Renders the charts' Applications and the platform resources; returns the folders of
/// `gitops/<env>/platform/` it wrote (each gets an Application, see `super::argocd`).
pub(super) fn render(
    platform: &Platform,
    env: &Environment,
    charts: &[Chart],
    files: &mut Files,
) -> anyhow::Result<BTreeSet<&'static str>> {
    let project = format!("{}-components", env.name);
    let context = ValuesContext::new(platform, env);
    for chart in charts {
        let values = match chart.values {
            None => String::new(),
            Some(render) => {
                let text = render(&context)?;
                values_mapping(chart.name, &text)?;
                // Indented under `valuesObject:`, comments and all.
                indent(text.trim_end(), "        ")
            }
        };
        let body = ChartYaml {
            platform,
            env,
            project: &project,
            chart,
            values,
        }
        .render()?;
        add_yaml(
            files,
            format!(
                "argocd/{}/{}/{}.yaml",
                env.name,
                super::argocd::apps_folder(chart.wave),
                chart.name
            ),
            &body,
        );
    }

    let dir = format!("gitops/{}/platform", env.name);
    let name = platform.name.as_str();
    let mut folders = BTreeSet::new();
    // The grants job's identity is rendered with the job, below.
    for identity in identities().iter().filter(|i| i.name != DB_GRANTS) {
        if identity.all_secrets().is_empty() {
            continue;
        }
        let mut body = component_secrets_yaml(platform, env, identity)?;
        if let Some(database) = identity.database {
            body.push('\n');
            body.push_str(
                &DatabaseProxyYaml {
                    platform: name,
                    identity,
                    name: identity.database_proxy(),
                    database,
                    gcp_service_account: identity.gcp_service_account(env),
                    replicas: if env.ha { 2 } else { 1 },
                    image: super::k8s::CLOUD_SQL_PROXY_IMAGE,
                    instance: platform.cloudsql_connection_name(env),
                    port: super::k8s::CLOUD_SQL_PROXY_PORT,
                    health_port: super::k8s::CLOUD_SQL_PROXY_HEALTH_PORT,
                }
                .render()?,
            );
        }
        add_yaml(
            files,
            format!("{dir}/{}/{}.yaml", identity.folder, identity.name),
            &body,
        );
        folders.insert(identity.folder);
    }
    if let Some(body) = database_grants_yaml(platform, env)? {
        add_yaml(files, format!("{dir}/database/{DB_GRANTS}.yaml"), &body);
        folders.insert("database");
    }

    let hosts = platform.ingress_hosts(env);
    if !hosts.is_empty() {
        let body = CertificatesYaml {
            platform: name,
            issuer: CLUSTER_ISSUER,
            project: &env.gcp_project,
            // Terraform names the zone like the cluster (terraform/modules/platform).
            zone: platform.cluster_name(env),
            secret: super::istio::ingress_tls_secret(platform),
            hosts,
        }
        .render()?;
        add_yaml(files, format!("{dir}/certificates/ingress.yaml"), &body);
        folders.insert("certificates");
    }

    let cluster = format!("{name}-kafka");
    let replicas = env.kafka_replication;
    let kafka = KafkaYaml {
        platform: name,
        cluster: &cluster,
        bootstrap: platform.kafka_bootstrap(),
        kafka_version: KAFKA_VERSION,
        replicas,
        min_isr: replicas.saturating_sub(1).max(1),
    };
    add_yaml(files, format!("{dir}/kafka/kafka.yaml"), &kafka.render()?);
    folders.insert("kafka");

    let mut topics: Vec<KafkaTopic> = Vec::new();
    for topic in platform.topics.values() {
        topics.push(KafkaTopic {
            comment: format!("Events: {}.", topic.events.join(", ")),
            name: topic.name.clone(),
            partitions: topic.partitions,
            retention_ms: topic.retention_ms,
        });
    }
    let consumed: BTreeSet<&str> = platform
        .services
        .values()
        .flat_map(|s| s.consumes.iter().map(String::as_str))
        .collect();
    for topic in consumed {
        let source = &platform.topics[topic];
        topics.push(KafkaTopic {
            comment: format!("Dead letters of {topic}: messages its consumers could not handle."),
            name: format!("{topic}.dlq"),
            partitions: 1,
            retention_ms: source.retention_ms,
        });
    }
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    if topics.is_empty() {
        return Ok(folders);
    }
    let body = TopicsYaml {
        platform: name,
        cluster: &cluster,
        replicas,
        topics,
    }
    .render()?;
    add_yaml(files, format!("{dir}/kafka/topics.yaml"), &body);
    Ok(folders)
}

/// An identity's ServiceAccount, SecretStore and ExternalSecret.
fn component_secrets_yaml(
    platform: &Platform,
    env: &Environment,
    identity: &Identity,
) -> anyhow::Result<String> {
    let gcp_service_account = identity.gcp_service_account(env);
    Ok(ComponentSecretsYaml {
        platform: &platform.name,
        identity,
        store: SecretStoreYaml::new(
            platform,
            env,
            identity.namespace,
            identity.name,
            gcp_service_account.clone(),
        )
        .render()?,
        gcp_service_account,
    }
    .render()?)
}

/// The grants job with its identity's secrets, when some service owns a database.
fn database_grants_yaml(platform: &Platform, env: &Environment) -> anyhow::Result<Option<String>> {
    let grants: Vec<(String, String)> = platform
        .services
        .values()
        .filter(|s| s.postgres)
        .map(|s| {
            let email = s.gcp_service_account(env);
            (
                s.crate_ident(),
                super::k8s::iam_database_user(&email).to_owned(),
            )
        })
        .chain(identities().iter().filter_map(|i| {
            let email = i.gcp_service_account(env);
            i.database.map(|db| {
                (
                    db.to_owned(),
                    super::k8s::iam_database_user(&email).to_owned(),
                )
            })
        }))
        .collect();
    if grants.is_empty() {
        return Ok(None);
    }
    let identity = identity(DB_GRANTS);
    let pod = DbGrantsPodYaml {
        identity: &identity,
        image: PSQL_IMAGE,
        admin_url: ADMIN_URL,
    }
    .render()?;
    let mut body = component_secrets_yaml(platform, env, &identity)?;
    body.push('\n');
    body.push_str(
        &DatabaseGrantsYaml {
            platform: &platform.name,
            identity: &identity,
            sql: indent(&database_grants_sql(&grants), "    "),
            job_pod: indent(&pod, "    "),
            cron_pod: indent(&pod, "        "),
        }
        .render()?,
    );
    Ok(Some(body))
}

/// The Cloud SQL Auth Proxy of a component's database, shared by the pods of its namespace.
#[derive(Template)]
#[template(path = "platform/database-proxy.yaml", escape = "none")]
struct DatabaseProxyYaml<'a> {
    platform: &'a str,
    identity: &'a Identity,
    name: String,
    database: &'a str,
    gcp_service_account: String,
    replicas: u32,
    image: &'a str,
    instance: String,
    port: u16,
    health_port: u16,
}

#[derive(Template)]
#[template(path = "argocd/chart.yaml", escape = "none")]
struct ChartYaml<'a> {
    platform: &'a Platform,
    env: &'a Environment,
    project: &'a str,
    chart: &'a Chart,
    /// The chart's values as YAML, indented under `valuesObject:`; empty when it needs none.
    values: String,
}

#[derive(Template)]
#[template(path = "platform/component-secrets.yaml", escape = "none")]
struct ComponentSecretsYaml<'a> {
    platform: &'a str,
    identity: &'a Identity,
    gcp_service_account: String,
    /// The identity's SecretStore, rendered.
    store: String,
}

#[derive(Template)]
#[template(path = "platform/database-grants.yaml", escape = "none")]
struct DatabaseGrantsYaml<'a> {
    platform: &'a str,
    identity: &'a Identity,
    /// The script, indented for the ConfigMap's block scalar.
    sql: String,
    /// The pod template, indented for the Job and for the CronJob.
    job_pod: String,
    cron_pod: String,
}

/// The grants pod: psql with the admin URL and the script, as the Job and the CronJob run it.
#[derive(Template)]
#[template(path = "platform/db-grants-pod.yaml", escape = "none")]
struct DbGrantsPodYaml<'a> {
    identity: &'a Identity,
    image: &'a str,
    /// The key of the Secret `<identity>` holding the admin URL.
    admin_url: &'a str,
}

/// `text` with every non-empty line indented (blank lines stay empty, as YAML block scalars and
/// linters like them).
fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                String::new()
            } else {
                format!("{prefix}{line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Template)]
#[template(path = "platform/certificates.yaml", escape = "none")]
struct CertificatesYaml<'a> {
    platform: &'a str,
    issuer: &'a str,
    project: &'a str,
    zone: String,
    /// The TLS Secret the ingress Gateway reads (`credentialName`).
    secret: String,
    hosts: Vec<String>,
}

#[derive(Template)]
#[template(path = "platform/kafka.yaml", escape = "none")]
struct KafkaYaml<'a> {
    platform: &'a str,
    cluster: &'a str,
    bootstrap: String,
    kafka_version: &'a str,
    replicas: u32,
    min_isr: u32,
}

#[derive(Template)]
#[template(path = "platform/topics.yaml", escape = "none")]
struct TopicsYaml<'a> {
    platform: &'a str,
    cluster: &'a str,
    replicas: u32,
    topics: Vec<KafkaTopic>,
}

struct KafkaTopic {
    comment: String,
    name: String,
    partitions: u32,
    retention_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::VALUES_TEMPLATES;

    #[test]
    fn every_values_template_is_a_charts() {
        let dir = crate::root().join("templates/charts");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| format!("charts/{}", entry.unwrap().file_name().to_string_lossy()))
            .collect();
        files.sort();
        let mut used = VALUES_TEMPLATES.to_vec();
        used.sort_unstable();
        assert_eq!(
            files, used,
            "a file of templates/charts/ that no chart renders (add it to values_templates!)"
        );
    }
}
