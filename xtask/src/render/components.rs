//! Third-party platform components, per environment: one Argo CD Application per Helm chart under
//! `argocd/<env>/apps/` (repository, chart and pinned version, values inline as
//! `helm.valuesObject` where platform.toml decides them), and the custom resources they serve,
//! rendered under `gitops/<env>/platform/`: the ClusterSecretStore `gcp-secret-manager`, the
//! Strimzi Kafka cluster `<platform>-kafka` with one KafkaTopic per topic and one `<topic>.dlq`
//! per consumed topic.
//!
//! Sync waves: CRDs and operators at -3 (istiod, which needs Istio's CRDs, at -2), their custom
//! resources at -2 and -1, our services at 0.

use std::collections::BTreeSet;

use askama::Template;
use serde_json::{Value, json};

use super::add_yaml;
use super::filters;
use super::k8s::SECRET_STORE;
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
    pub wave: i32,
    pub server_side_apply: bool,
    /// The chart's admission webhooks are patched at run time (CA bundle, failure policy) by
    /// their controller: Argo CD must ignore those fields or self-heal fights it.
    pub patched_webhooks: bool,
    pub comment: String,
    values: Value,
}

/// Applications of rendered platform resources (see `super::argocd`), beside the charts'.
const RESOURCE_APPS: [&str; 4] = ["namespaces", "mesh-policies", "secret-store", "kafka"];

const ISTIO_REPO: &str = "https://istio-release.storage.googleapis.com/charts";
const ISTIO_VERSION: &str = "1.27.3";

/// The charts of an environment, in install order.
pub fn charts(platform: &Platform, env: &Environment) -> Vec<Chart> {
    let istio = |name, release, namespace, chart, wave, comment: &str, values| Chart {
        name,
        release,
        namespace,
        repo: ISTIO_REPO,
        chart,
        version: ISTIO_VERSION,
        wave,
        server_side_apply: false,
        patched_webhooks: false,
        comment: comment.to_owned(),
        values,
    };
    let eso_sa = format!(
        "external-secrets@{}.iam.gserviceaccount.com",
        env.gcp_project
    );
    vec![
        istio(
            "istio-base",
            "istio-base",
            "istio-system",
            "base",
            -3,
            "Istio's CRDs and cluster roles.",
            json!({}),
        ),
        istio(
            "istio-cni",
            "istio-cni",
            "istio-system",
            "cni",
            -3,
            "The Istio CNI node agent: sets up traffic redirection instead of a privileged\n\
             istio-init container, which `restricted` pod security would refuse.",
            json!({ "global": { "platform": "gke" } }),
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
                json!({
                    "global": { "platform": "gke" },
                    "pilot": {
                        "cni": { "enabled": true },
                        "env": { "PILOT_JWT_ENABLE_REMOTE_JWKS": "envoy" },
                    },
                    "meshConfig": { "enablePrometheusMerge": true },
                }),
            )
        },
        istio(
            "istio-ingressgateway",
            "istio-ingressgateway",
            "istio-ingress",
            "gateway",
            -1,
            "The ingress gateway (service account istio-ingressgateway, pods labelled\n\
             istio: ingressgateway), which the Gateway in policies/istio selects.",
            json!({
                "name": "istio-ingressgateway",
                "labels": { "istio": "ingressgateway" },
                "serviceAccount": { "name": "istio-ingressgateway" },
            }),
        ),
        Chart {
            name: "external-secrets",
            release: "external-secrets",
            namespace: "external-secrets",
            repo: "https://charts.external-secrets.io",
            chart: "external-secrets",
            version: "0.20.4",
            wave: -3,
            server_side_apply: true,
            patched_webhooks: false,
            comment: "The External Secrets Operator; it reads Secret Manager as a Google service\n\
                      account through Workload Identity."
                .to_owned(),
            values: json!({
                "installCRDs": true,
                "serviceAccount": {
                    "name": "external-secrets",
                    "annotations": { "iam.gke.io/gcp-service-account": eso_sa },
                },
            }),
        },
        Chart {
            name: "strimzi",
            release: "strimzi",
            namespace: KAFKA_NAMESPACE,
            repo: "https://strimzi.io/charts/",
            chart: "strimzi-kafka-operator",
            version: "0.48.0",
            wave: -3,
            server_side_apply: true,
            patched_webhooks: false,
            comment: "The Strimzi operator, watching the kafka namespace.".to_owned(),
            values: json!({}),
        },
        Chart {
            name: "kube-prometheus-stack",
            release: "kube-prometheus-stack",
            namespace: MONITORING_NAMESPACE,
            repo: "https://prometheus-community.github.io/helm-charts",
            chart: "kube-prometheus-stack",
            version: "79.5.0",
            wave: -3,
            server_side_apply: true,
            patched_webhooks: false,
            comment:
                "Prometheus Operator, Prometheus, Alertmanager and Grafana. Prometheus selects\n\
                      every PodMonitor, ServiceMonitor and PrometheusRule in the cluster; Grafana\n\
                      loads every ConfigMap labelled grafana_dashboard: \"1\"."
                    .to_owned(),
            values: json!({
                // GKE manages the control plane and Dataplane V2 has no kube-proxy: scraping
                // them would only raise alerts that can never clear.
                "kubeControllerManager": { "enabled": false },
                "kubeScheduler": { "enabled": false },
                "kubeEtcd": { "enabled": false },
                "kubeProxy": { "enabled": false },
                "prometheus": {
                    "prometheusSpec": {
                        "podMonitorSelectorNilUsesHelmValues": false,
                        "serviceMonitorSelectorNilUsesHelmValues": false,
                        "ruleSelectorNilUsesHelmValues": false,
                        "retention": "15d",
                    },
                },
                "grafana": {
                    "sidecar": {
                        "dashboards": {
                            "enabled": true,
                            "label": "grafana_dashboard",
                            "labelValue": "1",
                            "searchNamespace": "ALL",
                        },
                    },
                    "additionalDataSources": [
                        {
                            "name": "Loki",
                            "type": "loki",
                            "uid": "loki",
                            "url": format!("http://loki.{MONITORING_NAMESPACE}.svc:3100"),
                        },
                        {
                            "name": "Tempo",
                            "type": "tempo",
                            "uid": "tempo",
                            "url": format!("http://tempo.{MONITORING_NAMESPACE}.svc:3100"),
                        },
                    ],
                },
            }),
        },
        Chart {
            name: "loki",
            release: "loki",
            namespace: MONITORING_NAMESPACE,
            repo: "https://grafana.github.io/helm-charts",
            chart: "loki",
            version: "6.46.0",
            wave: -1,
            server_side_apply: false,
            patched_webhooks: false,
            comment: "Loki, single binary (logs of every pod).".to_owned(),
            values: json!({
                "deploymentMode": "SingleBinary",
                "loki": {
                    "auth_enabled": false,
                    "commonConfig": { "replication_factor": 1 },
                    "storage": { "type": "filesystem" },
                    "schemaConfig": {
                        "configs": [{
                            "from": "2025-01-01",
                            "store": "tsdb",
                            "object_store": "filesystem",
                            "schema": "v13",
                            "index": { "prefix": "index_", "period": "24h" },
                        }],
                    },
                },
                "singleBinary": { "replicas": 1 },
                "read": { "replicas": 0 },
                "write": { "replicas": 0 },
                "backend": { "replicas": 0 },
            }),
        },
        Chart {
            name: "tempo",
            release: "tempo",
            namespace: MONITORING_NAMESPACE,
            repo: "https://grafana.github.io/helm-charts",
            chart: "tempo",
            version: "1.24.0",
            wave: -1,
            server_side_apply: false,
            patched_webhooks: false,
            comment: "Tempo, single binary: traces over OTLP.".to_owned(),
            values: json!({
                "tempo": { "receivers": { "otlp": { "protocols": {
                    "grpc": { "endpoint": "0.0.0.0:4317" },
                    "http": { "endpoint": "0.0.0.0:4318" },
                } } } },
            }),
        },
        Chart {
            name: "spark-operator",
            release: "spark-operator",
            namespace: "spark-operator",
            repo: "https://kubeflow.github.io/spark-operator",
            chart: "spark-operator",
            version: "2.3.0",
            wave: -3,
            server_side_apply: true,
            patched_webhooks: false,
            comment: "The Kubeflow Spark operator; Spark jobs run in its namespace.".to_owned(),
            values: json!({ "spark": { "jobNamespaces": ["spark-operator"] } }),
        },
        Chart {
            name: "airflow",
            release: "airflow",
            namespace: "airflow",
            repo: "https://airflow.apache.org",
            chart: "airflow",
            version: "1.18.0",
            wave: -1,
            server_side_apply: false,
            patched_webhooks: false,
            comment: format!(
                "Airflow: schedules the pipelines/ jobs; DAGs from this repository ({}).",
                platform.repo_url
            ),
            values: json!({
                "executor": "KubernetesExecutor",
                // Argo CD runs Helm hooks only after the sync, while the scheduler waits for
                // the migrations: as plain Jobs they run within the sync (the chart's advice).
                "migrateDatabaseJob": { "useHelmHooks": false, "applyCustomEnv": false },
                "createUserJob": { "useHelmHooks": false, "applyCustomEnv": false },
                "dags": { "gitSync": {
                    "enabled": true,
                    "repo": platform.repo_url,
                    "branch": env.target_revision,
                    "subPath": "pipelines/dags",
                } },
            }),
        },
        Chart {
            name: "metabase",
            release: "metabase",
            namespace: "metabase",
            repo: "https://pmint93.github.io/helm-charts",
            chart: "metabase",
            version: "2.22.0",
            wave: -1,
            server_side_apply: false,
            patched_webhooks: false,
            comment: "Metabase: dashboards over the analytics database.".to_owned(),
            values: json!({}),
        },
    ]
}

/// The namespaces the charts install into, sorted.
pub fn namespaces(charts: &[Chart]) -> Vec<&'static str> {
    let set: BTreeSet<&str> = charts.iter().map(|c| c.namespace).collect();
    set.into_iter().collect()
}

/// The chart repositories, sorted.
pub fn repos(charts: &[Chart]) -> Vec<&'static str> {
    let set: BTreeSet<&str> = charts.iter().map(|c| c.repo).collect();
    set.into_iter().collect()
}

pub(super) fn render(
    platform: &Platform,
    env: &Environment,
    files: &mut Files,
) -> anyhow::Result<()> {
    let project = format!("{}-components", env.name);
    let charts = charts(platform, env);
    // Services' Applications share the folder and the `<env>-<name>` namespace of names.
    let taken = charts
        .iter()
        .map(|c| c.name)
        .chain(RESOURCE_APPS)
        .find(|name| platform.services.contains_key(*name));
    if let Some(name) = taken {
        anyhow::bail!(
            "a service may not be named {name:?}: argocd/{}/apps/{name}.yaml is the platform \
             component's Application; rename the service in platform.toml",
            env.name
        );
    }
    for chart in charts {
        let values = if chart.values.as_object().is_some_and(|m| m.is_empty()) {
            String::new()
        } else {
            serde_yaml::to_string(&chart.values)?
        };
        let body = ChartYaml {
            platform,
            env,
            project: &project,
            chart: &chart,
            values,
        }
        .render()?;
        add_yaml(
            files,
            format!("argocd/{}/apps/{}.yaml", env.name, chart.name),
            &body,
        );
    }

    let dir = format!("gitops/{}/platform", env.name);
    let name = platform.name.as_str();
    let store = SecretStoreYaml {
        platform: name,
        name: SECRET_STORE,
        project: &env.gcp_project,
        gcp_service_account: format!(
            "external-secrets@{}.iam.gserviceaccount.com",
            env.gcp_project
        ),
    };
    add_yaml(
        files,
        format!("{dir}/external-secrets/cluster-secret-store.yaml"),
        &store.render()?,
    );

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
        return Ok(());
    }
    let body = TopicsYaml {
        platform: name,
        cluster: &cluster,
        replicas,
        topics,
    }
    .render()?;
    add_yaml(files, format!("{dir}/kafka/topics.yaml"), &body);
    Ok(())
}

#[derive(Template)]
#[template(path = "argocd/chart.yaml", escape = "none")]
struct ChartYaml<'a> {
    platform: &'a Platform,
    env: &'a Environment,
    project: &'a str,
    chart: &'a Chart,
    /// The chart's values as YAML, empty when it needs none.
    values: String,
}

#[derive(Template)]
#[template(path = "platform/secret-store.yaml", escape = "none")]
struct SecretStoreYaml<'a> {
    platform: &'a str,
    name: &'a str,
    project: &'a str,
    gcp_service_account: String,
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
