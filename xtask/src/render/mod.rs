//! Renderers: everything derived from the platform model, as one [`Files`] set.
//!
//! Each submodule renders one family of files from askama templates under `templates/`, for
//! every environment in platform.toml:
//!
//! - [`k8s`]: `gitops/<env>/namespaces/` and `gitops/<env>/<namespace>/<service>/`, one folder
//!   per Argo CD Application;
//! - [`istio`]: `policies/istio/<env>/` (mesh mTLS, default deny and one ALLOW policy per
//!   service from `calls`, the ingress gateway);
//! - [`argocd`]: `argocd/<env>/bootstrap/` (the roots, a Helm chart), `argocd/<env>/apps/` and
//!   `argocd/<env>/independent/`;
//! - [`components`]: third-party charts as Applications in `argocd/<env>/apps/`, and the custom
//!   resources they serve under `gitops/<env>/platform/` (secret store, Kafka cluster, topics);
//! - [`terraform`] writes `terraform/envs/<env>/platform.auto.tfvars.json`;
//! - [`images`] writes `cloudbuild.yaml` (once, not per environment);
//! - [`rust`] writes each service's `services/<name>/src/platform.rs` (once).
//!
//! Templates write YAML text; every value that comes from the model goes through the `q` filter
//! ([`yaml_scalar`]), which quotes it exactly when YAML would otherwise read it as something
//! other than that string. Output is sorted and stable: the same platform.toml gives
//! byte-identical files.

use std::path::Path;

use crate::codegen::{Files, YAML_HEADER};
use crate::model::Platform;

mod argocd;
/// The two folders of `argocd/<env>/`: the root's, in sync waves, and the independent root's.
pub use argocd::{APPS as ARGOCD_APPS, INDEPENDENT as ARGOCD_INDEPENDENT};
mod components;
mod images;
mod istio;
mod k8s;
pub mod rust;
mod terraform;

pub use components::{
    Identity, SecretSource, database_grants_sql, identities as component_identities,
};

/// Renders every generated file.
pub fn render(platform: &Platform) -> anyhow::Result<Files> {
    let mut files = Files::new();
    for env in platform.environments.values() {
        k8s::render(platform, env, &mut files)?;
        istio::render(platform, env, &mut files)?;
        // Components first: Argo CD gets an Application for each folder they render.
        let charts = components::charts(platform);
        let folders = components::render(platform, env, &charts, &mut files)?;
        argocd::render(platform, env, &charts, &folders, &mut files)?;
        terraform::render(platform, env, &mut files)?;
    }
    images::render(platform, &mut files)?;
    rust::render(platform, &mut files)?;
    Ok(files)
}

/// The namespaces we create, each with a default-deny NetworkPolicy: the tiers', the database
/// grants job's when it runs, and those of components with workloads of ours (Airflow's).
fn workload_namespaces(platform: &Platform) -> std::collections::BTreeSet<&str> {
    let mut namespaces: std::collections::BTreeSet<&str> = platform
        .tiers
        .values()
        .map(|t| t.namespace.as_str())
        .collect();
    if components::runs_database_grants(platform) {
        namespaces.insert(components::DB_GRANTS);
    }
    namespaces.extend(components::workload_namespaces());
    namespaces
}

/// Adds a rendered YAML file, headed by [`YAML_HEADER`].
fn add_yaml(files: &mut Files, path: impl AsRef<Path>, body: &str) {
    files.add(
        path.as_ref(),
        format!("{YAML_HEADER}{}", body.trim_start_matches('\n')),
    );
}

/// `s` as a YAML scalar that reads back as the string `s`: plain when that is unambiguous,
/// double-quoted otherwise (empty, `yes`/`no`/`null` and friends, numbers such as `1.10`,
/// leading indicators such as `*` or `&`, `: ` or ` #` inside, anything unusual).
pub fn yaml_scalar(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        // A JSON string is a valid YAML double-quoted scalar.
        serde_json::Value::String(s.to_owned()).to_string()
    }
}

fn is_plain_safe(s: &str) -> bool {
    const RESERVED: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "=", "<<",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    if RESERVED.iter().any(|r| s.eq_ignore_ascii_case(r)) || s.parse::<f64>().is_ok() {
        return false;
    }
    // Other number spellings of YAML 1.1 and 1.2: 0x1F, 0o17, 1_000, 1:30, .5, +1.
    let numeric = |c: char| c.is_ascii_hexdigit() || "+-._:xXoO".contains(c);
    if (first.is_ascii_digit() || "+-.".contains(first)) && s.chars().all(numeric) {
        return false;
    }
    !"-?:,[]{}#&*!|>'\"%@`. ".contains(first)
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && s.chars()
            .all(|c| c.is_alphanumeric() || " -_./:@+=~()".contains(c))
}

/// Custom askama filters for the YAML templates.
mod filters {
    /// `{{ value|q }}`: the value as a YAML scalar (see [`super::yaml_scalar`]).
    #[allow(clippy::unnecessary_wraps)] // askama's filter signature
    pub fn q(value: impl std::fmt::Display, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::yaml_scalar(&value.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::yaml_scalar;

    #[test]
    fn scalars_are_quoted_only_when_yaml_would_misread_them() {
        for plain in [
            "order",
            "apps-core",
            "100m",
            "128Mi",
            "20s",
            "dev",
            "HEAD",
            "https://github.com/shop-platform/shop.git",
            "us-central1-docker.pkg.dev/shop-prod-123/services/order:dev",
            "cluster.local/ns/apps-core/sa/order",
            "Business services behind the gateway",
        ] {
            assert_eq!(yaml_scalar(plain), plain);
        }
        for (text, quoted) in [
            ("", r#""""#),
            ("yes", r#""yes""#),
            ("Off", r#""Off""#),
            ("null", r#""null""#),
            ("1.10", r#""1.10""#),
            ("8080", r#""8080""#),
            ("0x1f", r#""0x1f""#),
            ("1:30", r#""1:30""#),
            (".inf", r#"".inf""#),
            ("*.example.com", r#""*.example.com""#),
            ("a: b", r#""a: b""#),
            ("a #b", r#""a #b""#),
            ("Short links /r/{code}", r#""Short links /r/{code}""#),
            ("say \"hi\"", r#""say \"hi\"""#),
        ] {
            assert_eq!(yaml_scalar(text), quoted, "{text:?}");
        }
    }
}
