//! Istio security and ingress, per environment, under `policies/istio/<env>/`.
//!
//! `mesh.yaml` makes mutual TLS mandatory mesh-wide. Every namespace with services gets
//! `<namespace>/default-deny.yaml` (an AuthorizationPolicy with an empty spec), and every service
//! `<namespace>/<service>.yaml`, an ALLOW policy for exactly the service accounts of its callers
//! (`calls` in platform.toml), the ingress gateway when it has a public host, and Prometheus on
//! `GET /metrics`. `ingress.yaml` is the environment's Gateway, one VirtualService per public
//! host and, when `[tokens]` names a signer, a RequestAuthentication that checks JWTs at the
//! gateway against its keys. The signer's ALLOW policy admits the ingress gateway and every
//! service with `verify_tokens` to `GET` the JWKS path, and to nothing else of it.

use askama::Template;

use super::{add_yaml, filters};
use crate::codegen::Files;
use crate::model::{Environment, JWKS_PATH, Platform, Service};

/// The service account of the Istio ingress gateway (the `gateway` chart in `istio-ingress`).
pub const INGRESS_PRINCIPAL: &str = "cluster.local/ns/istio-ingress/sa/istio-ingressgateway";
/// Paths of the kit's platform endpoints, never reachable from the ingress gateway.
pub const INTERNAL_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics", "/openapi.json"];

/// The mesh identity of a service's pods.
pub fn principal(s: &Service) -> String {
    format!("cluster.local/ns/{}/sa/{}", s.namespace, s.name)
}

pub(super) fn render(
    platform: &Platform,
    env: &Environment,
    files: &mut Files,
) -> anyhow::Result<()> {
    let dir = format!("policies/istio/{}", env.name);
    let name = platform.name.as_str();
    add_yaml(
        files,
        format!("{dir}/mesh.yaml"),
        &MeshYaml { platform: name }.render()?,
    );

    // The services' namespaces, and the grants job's and the components' with workloads of ours
    // (outside the mesh, but denied all the same).
    let mut namespaces = platform.namespaces();
    if super::components::runs_database_grants(platform) {
        namespaces.insert(super::components::DB_GRANTS);
    }
    namespaces.extend(super::components::workload_namespaces());
    for namespace in namespaces {
        let body = DefaultDenyYaml {
            platform: name,
            namespace,
        }
        .render()?;
        add_yaml(files, format!("{dir}/{namespace}/default-deny.yaml"), &body);
    }

    for s in platform.services.values() {
        let mut callers: Vec<String> = platform
            .callers(&s.name)
            .into_iter()
            .map(principal)
            .collect();
        callers.sort();
        let ingress = platform.ingress_host(s, env).map(|_| INGRESS_PRINCIPAL);
        let jwks = platform
            .token_signer()
            .filter(|j| j.name == s.name)
            .map(|_| JWKS_PATH);
        let mut jwks_readers: Vec<String> = platform
            .token_verifiers()
            .into_iter()
            .map(principal)
            .chain([INGRESS_PRINCIPAL.to_owned()])
            .collect();
        jwks_readers.sort();
        let body = ServicePolicyYaml {
            platform: name,
            s,
            callers,
            ingress,
            jwks,
            jwks_readers,
            internal_paths: INTERNAL_PATHS,
        }
        .render()?;
        add_yaml(
            files,
            format!("{dir}/{}/{}.yaml", s.namespace, s.name),
            &body,
        );
    }

    let routes: Vec<Route> = platform
        .services
        .values()
        .filter_map(|service| {
            Some(Route {
                host: platform.ingress_host(service, env)?,
                service,
            })
        })
        .collect();
    if !routes.is_empty() {
        let body = IngressYaml {
            platform: name,
            gateway: format!("{name}-ingress"),
            credential: ingress_tls_secret(platform),
            routes,
            jwks: platform
                .token_signer()
                .zip(platform.tokens.as_ref())
                .map(|(j, tokens)| Jwks {
                    service: j,
                    issuer: tokens.issuer.clone(),
                    uri: format!(
                        "http://{}.{}.svc.cluster.local{JWKS_PATH}",
                        j.name, j.namespace
                    ),
                }),
        }
        .render()?;
        add_yaml(files, format!("{dir}/ingress.yaml"), &body);
    }
    Ok(())
}

/// The TLS Secret in `istio-ingress` the Gateway serves (cert-manager writes it, see
/// `super::components`).
pub fn ingress_tls_secret(platform: &Platform) -> String {
    format!("{}-ingress-tls", platform.name)
}

#[derive(Template)]
#[template(path = "istio/mesh.yaml", escape = "none")]
struct MeshYaml<'a> {
    platform: &'a str,
}

#[derive(Template)]
#[template(path = "istio/default-deny.yaml", escape = "none")]
struct DefaultDenyYaml<'a> {
    platform: &'a str,
    namespace: &'a str,
}

#[derive(Template)]
#[template(path = "istio/service.yaml", escape = "none")]
struct ServicePolicyYaml<'a> {
    platform: &'a str,
    s: &'a Service,
    /// Principals of the services that call `s`, sorted.
    callers: Vec<String>,
    ingress: Option<&'a str>,
    /// The JWKS path, when `s` signs the tokens.
    jwks: Option<&'a str>,
    /// Who may fetch it: the ingress gateway and the token verifiers, sorted.
    jwks_readers: Vec<String>,
    internal_paths: &'a [&'a str],
}

#[derive(Template)]
#[template(path = "istio/ingress.yaml", escape = "none")]
struct IngressYaml<'a> {
    platform: &'a str,
    /// The Gateway's name (in `istio-ingress`).
    gateway: String,
    /// The TLS Secret in `istio-ingress` holding the certificate for every host.
    credential: String,
    routes: Vec<Route<'a>>,
    jwks: Option<Jwks<'a>>,
}

/// Where the ingress gateway gets the keys that sign the platform's JWTs.
struct Jwks<'a> {
    service: &'a Service,
    issuer: String,
    uri: String,
}

struct Route<'a> {
    host: String,
    service: &'a Service,
}
