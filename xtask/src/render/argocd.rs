//! Argo CD, per environment, under `argocd/<env>/`: an app-of-apps tree.
//!
//! `bootstrap/` is a Helm chart whose one template, `root.yaml`, holds the two roots (apps of
//! apps); Terraform installs it right after Argo CD (terraform/modules/argocd):
//!
//! - `<env>-root` syncs `apps/`: the AppProjects (`projects.yaml`: one per tier, restricted to
//!   the tier's namespace, plus `<env>-platform` and `<env>-components` for third-party charts),
//!   the platform Applications (`namespaces.yaml`, `mesh-policies.yaml`, `database.yaml`,
//!   `kafka.yaml`, and the charts of [`super::components`]) and one Application per service.
//!   Sync waves order them, each waiting for the one before to be healthy: CRDs and operators
//!   (-3), projects, namespaces, istiod and the operators' custom resources (-2), mesh policies
//!   and the ingress gateway (-1), workloads (0).
//! - `<env>-independent` syncs `independent/`: what waits on the outside world or on people
//!   (the TLS certificate on the domain's delegation, platform-secrets on values people enter)
//!   and the data tools. Nothing there has a wave: each Application syncs on its own, retried
//!   without limit until what it needs exists (cert-manager's CRDs, the projects), so none of
//!   them waits for the shop's waves nor holds them.

use std::collections::BTreeSet;

use askama::Template;

use super::{add_yaml, components, filters};
use crate::codegen::Files;
use crate::model::{Environment, Platform, Service, Tier};

/// The folder of `argocd/<env>/` that `<env>-root` syncs, in sync waves.
pub const APPS: &str = "apps";
/// The folder of `argocd/<env>/` holding the Helm chart of the two roots.
pub const BOOTSTRAP: &str = "bootstrap";

/// The folder of `argocd/<env>/` that `<env>-independent` syncs, without waves.
pub const INDEPENDENT: &str = "independent";

/// The folder of `argocd/<env>/` an Application with sync wave `wave` goes to: [`APPS`] with a
/// wave, [`INDEPENDENT`] without.
pub fn apps_folder(wave: Option<i32>) -> &'static str {
    if wave.is_some() { APPS } else { INDEPENDENT }
}

/// `charts` and `platform_folders` are what [`components`] rendered for `env`.
pub(super) fn render(
    platform: &Platform,
    env: &Environment,
    charts: &[components::Chart],
    platform_folders: &BTreeSet<&str>,
    files: &mut Files,
) -> anyhow::Result<()> {
    let dir = format!("argocd/{}", env.name);
    let apps_path = format!("{dir}/{APPS}");
    let root = RootYaml {
        platform,
        env,
        name: format!("{}-root", env.name),
        apps_path: apps_path.clone(),
        independent_name: format!("{}-independent", env.name),
        independent_path: format!("{dir}/{INDEPENDENT}"),
    };
    // The roots are the one template of a Helm chart of their own, which Terraform installs once
    // Argo CD's CRDs exist (terraform/modules/argocd).
    add_yaml(
        files,
        format!("{dir}/{BOOTSTRAP}/templates/root.yaml"),
        &root.render()?,
    );
    add_yaml(
        files,
        format!("{dir}/{BOOTSTRAP}/Chart.yaml"),
        &BootstrapChartYaml { env }.render()?,
    );

    // The platform project reaches the workload namespaces and the mesh's own.
    let mut platform_namespaces = super::workload_namespaces(platform);
    platform_namespaces.extend(["istio-ingress", "istio-system"]);
    let platform_namespaces: Vec<&str> = platform_namespaces.into_iter().collect();
    let component_namespaces = components::namespaces(charts);
    let projects = ProjectsYaml {
        platform,
        env,
        tiers: platform.tiers.values().collect(),
        platform_namespaces,
        component_namespaces,
        chart_repos: components::repos(charts),
    };
    add_yaml(
        files,
        format!("{apps_path}/projects.yaml"),
        &projects.render()?,
    );

    let platform_project = format!("{}-platform", env.name);
    let namespaces = ApplicationYaml {
        platform,
        env,
        comment: vec![
            "The tier namespaces, with their default-deny NetworkPolicies, before anything is"
                .into(),
            "deployed into them.".into(),
        ],
        name: format!("{}-namespaces", env.name),
        service: None,
        project: platform_project.clone(),
        wave: Some(-2),
        path: format!("gitops/{}/namespaces", env.name),
        // Namespaces are cluster-scoped; every resource names its namespace, this is a default.
        namespace: "istio-system".into(),
    };
    add_yaml(
        files,
        format!("{apps_path}/namespaces.yaml"),
        &namespaces.render()?,
    );

    let mesh = ApplicationYaml {
        platform,
        env,
        comment: vec![
            "Mesh policies (mTLS, default deny, who may call whom) and the ingress gateway,".into(),
            "before any workload starts.".into(),
        ],
        name: format!("{}-mesh-policies", env.name),
        service: None,
        project: platform_project,
        wave: Some(-1),
        path: format!("policies/istio/{}", env.name),
        namespace: "istio-system".into(),
    };
    add_yaml(
        files,
        format!("{apps_path}/mesh-policies.yaml"),
        &mesh.render()?,
    );

    let components_project = format!("{}-components", env.name);
    for (name, folder, wave, comment, namespace) in [
        // Degraded until people fill the values in: independent, so it holds nothing back.
        (
            "platform-secrets",
            "secrets",
            None,
            "Secrets of platform components (Alertmanager's receivers), each read through its own SecretStore.",
            components::MONITORING_NAMESPACE,
        ),
        // Progressing until the domain's delegation resolves: independent, so the certificate is
        // requested as soon as cert-manager is up, and the shop does not wait for it.
        (
            "certificates",
            "certificates",
            None,
            "The Let's Encrypt ClusterIssuer and the ingress gateway's certificate.",
            "istio-ingress",
        ),
        // A data tool: independent, so it never gates the shop.
        (
            "airflow-database",
            "airflow",
            None,
            "Airflow's identity, keys (Secret Manager) and Cloud SQL Auth Proxy; the chart is airflow.",
            components::AIRFLOW,
        ),
        (
            "database",
            "database",
            Some(-1),
            "Cloud SQL grants: each service's database to its own IAM user only (a Job on every sync).",
            components::DB_GRANTS,
        ),
        (
            "kafka",
            "kafka",
            Some(-2),
            "The Kafka cluster and its topics (Strimzi custom resources).",
            components::KAFKA_NAMESPACE,
        ),
    ] {
        if !platform_folders.contains(folder) {
            continue;
        }
        let app = ApplicationYaml {
            platform,
            env,
            comment: vec![comment.into()],
            name: format!("{}-{name}", env.name),
            service: None,
            project: components_project.clone(),
            wave,
            path: format!("gitops/{}/platform/{folder}", env.name),
            namespace: namespace.into(),
        };
        add_yaml(
            files,
            format!("{dir}/{}/{name}.yaml", apps_folder(wave)),
            &app.render()?,
        );
    }

    for s in platform.services.values() {
        let app = ApplicationYaml {
            platform,
            env,
            comment: format!("{}: {}", s.name, s.description)
                .lines()
                .map(str::to_owned)
                .collect(),
            name: format!("{}-{}", env.name, s.name),
            service: Some(s),
            project: format!("{}-{}", env.name, s.tier),
            wave: Some(0),
            path: format!("gitops/{}/{}/{}", env.name, s.namespace, s.name),
            namespace: s.namespace.clone(),
        };
        // Services' Applications share the folder with the platform's.
        let path = format!("{apps_path}/{}.yaml", s.name);
        anyhow::ensure!(
            files.get(&path).is_none(),
            "a service may not be named {:?}: {path} is a platform Application; rename the \
             service in platform.toml",
            s.name
        );
        add_yaml(files, path, &app.render()?);
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "argocd/bootstrap-chart.yaml", escape = "none")]
struct BootstrapChartYaml<'a> {
    env: &'a Environment,
}

#[derive(Template)]
#[template(path = "argocd/root.yaml", escape = "none")]
struct RootYaml<'a> {
    platform: &'a Platform,
    env: &'a Environment,
    name: String,
    apps_path: String,
    independent_name: String,
    independent_path: String,
}

#[derive(Template)]
#[template(path = "argocd/projects.yaml", escape = "none")]
struct ProjectsYaml<'a> {
    platform: &'a Platform,
    env: &'a Environment,
    tiers: Vec<&'a Tier>,
    platform_namespaces: Vec<&'a str>,
    /// Where third-party components may be installed.
    component_namespaces: Vec<&'a str>,
    chart_repos: Vec<&'a str>,
}

#[derive(Template)]
#[template(path = "argocd/application.yaml", escape = "none")]
struct ApplicationYaml<'a> {
    platform: &'a Platform,
    env: &'a Environment,
    /// Comment lines above the Application.
    comment: Vec<String>,
    name: String,
    /// The service this Application deploys, if it deploys one.
    service: Option<&'a Service>,
    project: String,
    /// Its sync wave under `<env>-root`; `None` under `<env>-independent` (no wave, retried
    /// without limit).
    wave: Option<i32>,
    /// The folder in the repository, at the environment's target revision: this Application's
    /// alone, so it syncs every file of it and nothing else.
    path: String,
    /// The destination namespace.
    namespace: String,
}
