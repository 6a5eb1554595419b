//! Tests of `xtask::render`, through its public interface.
//!
//! - Snapshots: every file rendered from each fixture platform (`fixtures/*.toml`) is one
//!   snapshot, under `snapshots/<fixture>/`, named after its path, so a review reads like a diff
//!   of the repository. The real platform.toml's output is reviewed in pull requests instead.
//! - Structure: every Kubernetes manifest rendered from the fixtures and from the real
//!   platform.toml parses and names its apiVersion, kind and metadata.name; every
//!   AuthorizationPolicy and NetworkPolicy admits exactly the callers the model declares; every
//!   declared secret and store URL has an ExternalSecret key; every topic has a KafkaTopic, and
//!   every consumed topic a dead-letter topic; sync waves put CRDs and operators before what uses
//!   them; the ingress gateway checks JWTs against the service that serves the JWKS.
//! - Determinism: rendering twice gives identical files (freshness of the committed files is
//!   tests/drift.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize as _;
use serde_yaml_ng::Value;
use xtask::codegen::{Files, YAML_HEADER};
use xtask::model::Platform;

const INGRESS: &str = "cluster.local/ns/istio-ingress/sa/istio-ingressgateway";
const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Folders of Kubernetes manifests (other renderers write other formats elsewhere).
const MANIFEST_DIRS: [&str; 3] = ["gitops", "policies/istio", "argocd"];
/// Cluster-scoped kinds we render.
const CLUSTER_SCOPED: [&str; 2] = ["Namespace", "ClusterIssuer"];

/// Whether the ingress gateway connects to `s`: it routes to it, or fetches its JWKS.
/// Whether the ingress gateway connects to `s`: it routes a public host to it, or fetches the
/// token signer's JWKS from it.
fn reached_by_ingress(platform: &Platform, s: &xtask::model::Service) -> bool {
    s.ingress_host.is_some() || is_signer(platform, s)
}

fn is_signer(platform: &Platform, s: &xtask::model::Service) -> bool {
    platform.token_signer().is_some_and(|t| t.name == s.name)
}

/// The principals the token signer's policy admits to `GET` the JWKS path only: every service
/// with `verify_tokens` and the ingress gateway, sorted; none for other services.
fn jwks_readers(platform: &Platform, s: &xtask::model::Service) -> Vec<String> {
    if !is_signer(platform, s) {
        return Vec::new();
    }
    let mut readers: Vec<String> = platform
        .token_verifiers()
        .iter()
        .map(|v| format!("cluster.local/ns/{}/sa/{}", v.namespace, v.name))
        .chain([INGRESS.to_owned()])
        .collect();
    readers.sort();
    readers
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures is readable")
        .map(|entry| entry.expect("fixture entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures in {}", dir.display());
    paths
}

fn load(path: &Path) -> Platform {
    Platform::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The real platform.toml and every fixture, each with a name for messages.
fn all_platforms() -> Vec<(String, Platform)> {
    let mut platforms = vec![(
        "platform.toml".to_owned(),
        xtask::load_platform().expect("platform.toml is valid"),
    )];
    for path in fixtures() {
        platforms.push((path.display().to_string(), load(&path)));
    }
    platforms
}

fn render(platform: &Platform) -> Files {
    xtask::render::render(platform).expect("the platform renders")
}

#[test]
fn rendered_files_match_snapshots() {
    insta::glob!("fixtures/*.toml", |path| {
        let files = render(&load(path));
        let fixture = path
            .file_stem()
            .expect("fixture name")
            .to_string_lossy()
            .into_owned();
        let mut settings = insta::Settings::clone_current();
        settings.remove_snapshot_suffix();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_snapshot_path(format!("snapshots/{fixture}"));
        settings.bind(|| {
            for (file, contents) in files.iter() {
                insta::assert_snapshot!(file.display().to_string(), contents);
            }
        });
    });
}

/// Every YAML document of a file.
/// Whether the grants job runs: a service or a platform component owns a database.
fn runs_grants(platform: &Platform) -> bool {
    platform.services.values().any(|s| s.postgres)
        || xtask::render::component_identities()
            .iter()
            .any(|i| i.database.is_some())
}

/// The namespaces of platform components that run a workload we render (a database's proxy).
fn component_workload_namespaces() -> impl Iterator<Item = &'static str> {
    xtask::render::component_identities()
        .into_iter()
        .filter(|i| i.database.is_some())
        .map(|i| i.namespace)
}

fn documents(file: &Path, contents: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(contents)
        .map(|doc| {
            Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", file.display()))
        })
        .collect()
}

fn str_at<'a>(doc: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(doc, |v, key| v.get(key))?.as_str()
}

#[test]
fn every_document_is_a_named_kubernetes_object() {
    for (name, platform) in all_platforms() {
        let files = render(&platform);
        let manifests = files
            .iter()
            .filter(|(f, _)| MANIFEST_DIRS.iter().any(|d| f.starts_with(d)))
            // A Helm chart's metadata (the roots chart, argocd/<env>/bootstrap) is no manifest.
            .filter(|(f, _)| f.file_name().is_some_and(|n| n != "Chart.yaml"));
        for (file, contents) in manifests {
            let at = format!("{name} → {}", file.display());
            assert!(
                contents.starts_with(YAML_HEADER),
                "{at} lacks the generated-file header"
            );
            let docs = documents(file, contents);
            assert!(!docs.is_empty(), "{at} holds no document");
            for doc in &docs {
                let kind = str_at(doc, &["kind"])
                    .unwrap_or_else(|| panic!("{at}: a document without kind"));
                let object = format!("{at}: {kind}");
                assert!(
                    str_at(doc, &["apiVersion"]).is_some_and(|v| !v.is_empty()),
                    "{object} has no apiVersion"
                );
                let meta_name = str_at(doc, &["metadata", "name"]).unwrap_or_default();
                assert!(!meta_name.is_empty(), "{object} has no metadata.name");
                if !CLUSTER_SCOPED.contains(&kind) {
                    assert!(
                        str_at(doc, &["metadata", "namespace"]).is_some(),
                        "{object} {meta_name} has no namespace"
                    );
                }
                for map in ["labels", "annotations"] {
                    if let Some(entries) = doc["metadata"].get(map).and_then(Value::as_mapping) {
                        for (key, value) in entries {
                            assert!(
                                value.is_string(),
                                "{object} {meta_name}: {map} {key:?} is not a string: {value:?}"
                            );
                        }
                    }
                }
                for container in doc["spec"]["template"]["spec"]["containers"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                {
                    for var in container["env"].as_sequence().into_iter().flatten() {
                        if let Some(value) = var.get("value") {
                            assert!(
                                value.is_string(),
                                "{object} {meta_name}: env {:?} is not a string",
                                var["name"]
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn authorization_policies_allow_exactly_the_declared_callers() {
    for (name, platform) in all_platforms() {
        let files = render(&platform);
        for env in platform.environments.values() {
            let dir = format!("policies/istio/{}", env.name);
            // (namespace, policy name) → principals, from every AuthorizationPolicy rendered.
            let mut policies: BTreeMap<(String, String), (Vec<String>, Vec<String>)> =
                BTreeMap::new();
            // Services whose platform endpoints are denied to the ingress gateway.
            let mut denied: BTreeSet<String> = BTreeSet::new();
            for (file, contents) in files.iter().filter(|(f, _)| f.starts_with(&dir)) {
                for doc in documents(file, contents) {
                    if str_at(&doc, &["kind"]) != Some("AuthorizationPolicy") {
                        continue;
                    }
                    let namespace = str_at(&doc, &["metadata", "namespace"])
                        .expect("namespace")
                        .to_owned();
                    let policy = str_at(&doc, &["metadata", "name"])
                        .expect("name")
                        .to_owned();
                    let principals = principals(&doc);
                    // Rules limited to `GET <JWKS_PATH>` and nothing else, and the rest.
                    let jwks_only = |rule: &Value| {
                        let to = rule["to"].as_sequence().map(Vec::as_slice).unwrap_or(&[]);
                        to.len() == 1
                            && to[0]["operation"]["methods"].as_sequence().map(Vec::len) == Some(1)
                            && str_at(&to[0]["operation"]["methods"][0], &[]) == Some("GET")
                            && to[0]["operation"]["paths"].as_sequence().map(Vec::len) == Some(1)
                            && str_at(&to[0]["operation"]["paths"][0], &[]) == Some(JWKS_PATH)
                    };
                    let unrestricted = principals_of(&doc, |r| r.get("to").is_none());
                    let readers = principals_of(&doc, jwks_only);
                    let deny = str_at(&doc, &["spec", "action"]) == Some("DENY");
                    assert!(
                        deny || unrestricted.len() + readers.len() == principals.len(),
                        "{name}: {policy}: an ALLOW rule is neither open to its callers nor limited to the JWKS"
                    );
                    let principals = if deny {
                        (principals, Vec::new())
                    } else {
                        (unrestricted, readers)
                    };
                    if deny {
                        let service = policy
                            .strip_suffix("-internal-paths")
                            .expect("DENY policies are <service>-internal-paths");
                        assert_eq!(principals.0, [INGRESS], "{name}: {policy}");
                        let paths = &doc["spec"]["rules"][0]["to"][0]["operation"]["paths"];
                        for path in ["/metrics", "/readyz", "/healthz"] {
                            assert!(
                                paths
                                    .as_sequence()
                                    .unwrap()
                                    .iter()
                                    .any(|p| p.as_str() == Some(path)),
                                "{name}: {policy} leaves {path} reachable"
                            );
                        }
                        denied.insert(service.to_owned());
                        continue;
                    }
                    if policy == "default-deny" {
                        assert_eq!(
                            doc["spec"],
                            Value::Mapping(Default::default()),
                            "{name}: {namespace} default-deny has a spec"
                        );
                    } else {
                        assert_eq!(
                            str_at(&doc, &["spec", "action"]),
                            Some("ALLOW"),
                            "{name}: {policy}"
                        );
                        assert_eq!(
                            str_at(&doc, &["spec", "selector", "matchLabels", "app"]),
                            Some(policy.as_str())
                        );
                    }
                    assert!(
                        policies.insert((namespace, policy), principals).is_none(),
                        "{name}: a policy twice"
                    );
                }
            }

            let mut expected = BTreeSet::new();
            for namespace in platform.namespaces() {
                expected.insert((namespace.to_owned(), "default-deny".to_owned()));
            }
            // The database grants job's namespace, when some service or component owns a
            // database, and the namespaces of components with workloads of ours.
            if runs_grants(&platform) {
                expected.insert(("db-grants".to_owned(), "default-deny".to_owned()));
            }
            for namespace in component_workload_namespaces() {
                expected.insert((namespace.to_owned(), "default-deny".to_owned()));
            }
            for s in platform.services.values() {
                let key = (s.namespace.clone(), s.name.clone());
                expected.insert(key.clone());
                let Some(got) = policies.get(&key) else {
                    panic!(
                        "{name}: {} in {} has no AuthorizationPolicy",
                        s.name, env.name
                    );
                };
                let mut callers: Vec<String> = platform
                    .callers(&s.name)
                    .iter()
                    .map(|c| format!("cluster.local/ns/{}/sa/{}", c.namespace, c.name))
                    .collect();
                callers.sort();
                let (unrestricted, readers) = got;
                let got_callers: Vec<String> = unrestricted
                    .iter()
                    .filter(|p| *p != INGRESS)
                    .cloned()
                    .collect();
                assert_eq!(
                    got_callers, callers,
                    "{name}: callers of {} in {}",
                    s.name, env.name
                );
                assert_eq!(
                    *readers,
                    jwks_readers(&platform, s),
                    "{name}: who may fetch the JWKS of {} in {}",
                    s.name,
                    env.name
                );
                assert_eq!(
                    unrestricted.iter().any(|p| p == INGRESS),
                    s.ingress_host.is_some(),
                    "{name}: ingress principal on {} in {}",
                    s.name,
                    env.name
                );
                assert_eq!(
                    denied.contains(&s.name),
                    s.ingress_host.is_some(),
                    "{name}: {} internal paths and the ingress gateway in {}",
                    s.name,
                    env.name
                );
            }
            let got: BTreeSet<_> = policies.keys().cloned().collect();
            assert_eq!(
                got, expected,
                "{name}: AuthorizationPolicies in {}",
                env.name
            );
        }
    }
}

/// Every principal in every rule of an AuthorizationPolicy, in order.
/// The principals an AuthorizationPolicy's rules name. Panics on a rule without sources, or a
/// source without principals: such a rule matches every caller, which no rendered policy means.
fn principals(doc: &Value) -> Vec<String> {
    principals_of(doc, |_| true)
}

/// The principals of the rules `keep` selects.
fn principals_of(doc: &Value, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    let name = str_at(doc, &["metadata", "name"]).unwrap_or("?");
    let rules = doc["spec"]["rules"].as_sequence().into_iter().flatten();
    rules
        .filter(|rule| keep(rule))
        .flat_map(|rule| {
            let froms = rule["from"].as_sequence().filter(|f| !f.is_empty());
            froms.unwrap_or_else(|| panic!("{name}: a rule without `from` admits every caller"))
        })
        .flat_map(|from| {
            let principals = from["source"]["principals"]
                .as_sequence()
                .filter(|p| !p.is_empty());
            principals.unwrap_or_else(|| panic!("{name}: a source without principals"))
        })
        .map(|p| p.as_str().expect("a principal is a string").to_owned())
        .collect()
}

#[test]
fn rendering_is_deterministic() {
    for (name, platform) in all_platforms() {
        assert_eq!(
            render(&platform),
            render(&platform),
            "{name} renders differently twice"
        );
    }
}

/// Issue: every image bump rewrote a `version:` label on every object (376 lines in 36 files),
/// so a review could not see what moved. A new image tag changes, in the manifests, only each
/// container's `image:` and its pod template's `version:` label, nowhere else.
#[test]
fn an_image_bump_changes_only_image_and_version_lines() {
    for (name, platform) in all_platforms() {
        let before = render(&platform);
        let mut bumped = platform.clone();
        bumped.image_tag = format!("{}-next", platform.image_tag);
        let after = render(&bumped);
        let mut changed = 0;
        for (path, text) in after.iter() {
            let path_text = path.display().to_string();
            if !path_text.starts_with("gitops/") {
                continue;
            }
            let old = before.get(&path_text).unwrap_or_default();
            for (a, b) in old.lines().zip(text.lines()) {
                if a == b {
                    continue;
                }
                changed += 1;
                let line = b.trim_start();
                assert!(
                    line.starts_with("image: ") || line.starts_with("version: "),
                    "{name}: {path_text}: a bump changed {a:?} into {b:?}"
                );
            }
            assert_eq!(old.lines().count(), text.lines().count(), "{path_text}");
        }
        assert_eq!(
            changed,
            2 * platform.services.len() * platform.environments.len(),
            "{name}: one image and one version line per service and environment"
        );
    }
}

/// A pin of `service`'s image built from commit `n` (any fixed fake commit and digest).
fn pin(n: u8) -> xtask::images::Pin {
    xtask::images::Pin::parse(&format!(
        "{}@sha256:{}",
        format!("{n:02x}").repeat(20),
        format!("{n:02x}").repeat(32)
    ))
    .unwrap()
}

/// The image pipeline rebuilds only the services whose inputs changed and pins each by digest in
/// images.toml: a new image for one service changes that service's `image:` and `version:`
/// lines, in each environment, and nothing else.
#[test]
fn a_new_image_for_one_service_changes_only_its_lines() {
    for (name, platform) in all_platforms() {
        let mut pinned = platform.clone();
        for service in platform.services.keys() {
            pinned.images.insert(service.clone(), pin(1));
        }
        let before = render(&pinned);
        let rebuilt = platform.services.keys().next().unwrap().clone();
        let mut bumped = pinned.clone();
        bumped.images.insert(rebuilt.clone(), pin(2));
        let after = render(&bumped);
        let mut changed = Vec::new();
        for (path, text) in after.iter() {
            let path_text = path.display().to_string();
            let old = before.get(&path_text).unwrap_or_default();
            assert_eq!(old.lines().count(), text.lines().count(), "{path_text}");
            for (a, b) in old.lines().zip(text.lines()) {
                if a != b {
                    changed.push((path_text.clone(), b.trim_start().to_owned()));
                }
            }
        }
        let environments = platform.environments.len();
        assert_eq!(changed.len(), 2 * environments, "{name}: {changed:#?}");
        for (path, line) in &changed {
            let namespace = &platform.services[&rebuilt].namespace;
            assert!(
                path.starts_with("gitops/")
                    && path.ends_with(&format!("/{namespace}/{rebuilt}/{rebuilt}.yaml")),
                "{name}: {path} changed"
            );
            assert!(
                line.starts_with("image: ") && line.ends_with(&pin(2).to_string())
                    || line.starts_with("version: ") && line.contains(&pin(2).commit),
                "{name}: {path}: {line:?}"
            );
        }
    }
}

/// A pinned image is deployed by digest, and its Deployment no longer skips checkov's digest
/// check (CKV_K8S_43), which an unpinned one must.
#[test]
fn a_pinned_image_is_deployed_by_digest() {
    let (_, platform) = all_platforms().into_iter().next().unwrap();
    let service = platform
        .services
        .values()
        .find(|s| s.postgres)
        .expect("a service with a database (and the proxy sidecar)")
        .clone();
    let mut pinned = platform.clone();
    pinned.images.insert(service.name.clone(), pin(3));
    for (platform, by_digest) in [(&platform, false), (&pinned, true)] {
        let files = render(platform);
        for env in platform.environments.values() {
            let deployment = kind_in(
                &files,
                &format!(
                    "gitops/{}/{}/{}/",
                    env.name, service.namespace, service.name
                ),
                "Deployment",
            )
            .pop()
            .unwrap();
            let image = deployment["spec"]["template"]["spec"]["containers"][0]["image"].as_str();
            let skips = deployment["metadata"]["annotations"]
                .as_mapping()
                .unwrap()
                .values()
                .filter_map(Value::as_str)
                .any(|v| v.starts_with("CKV_K8S_43="));
            if by_digest {
                assert_eq!(
                    image,
                    Some(format!("{}/{}:{}", platform.registry, service.name, pin(3)).as_str())
                );
                assert!(!skips, "a digest-pinned Deployment skips CKV_K8S_43");
                // Sidecars too (the Cloud SQL Auth Proxy is a native sidecar, an init container).
                let pod = &deployment["spec"]["template"]["spec"];
                for list in ["containers", "initContainers"] {
                    for container in pod[list].as_sequence().into_iter().flatten() {
                        let image = container["image"].as_str().unwrap();
                        assert!(
                            image.contains("@sha256:"),
                            "{image} is not pinned by digest"
                        );
                    }
                }
            } else {
                assert!(!image.unwrap().contains('@'));
                assert!(skips, "an unpinned Deployment must justify CKV_K8S_43");
            }
        }
    }
}

/// Every document of kind `kind` in the files under `dir`.
fn kind_in(files: &Files, dir: &str, kind: &str) -> Vec<Value> {
    files
        .iter()
        .filter(|(f, _)| f.starts_with(dir))
        .flat_map(|(f, c)| documents(f, c))
        .filter(|doc| str_at(doc, &["kind"]) == Some(kind))
        .collect()
}

#[test]
fn network_policies_admit_exactly_the_declared_callers() {
    for (name, platform) in all_platforms() {
        let files = render(&platform);
        for env in platform.environments.values() {
            let dir = format!("gitops/{}", env.name);
            let policies = kind_in(&files, &dir, "NetworkPolicy");
            let mut defaults: BTreeSet<String> = BTreeSet::new();
            let mut by_service: BTreeMap<String, Value> = BTreeMap::new();
            for doc in policies {
                let policy = str_at(&doc, &["metadata", "name"])
                    .expect("name")
                    .to_owned();
                let namespace = str_at(&doc, &["metadata", "namespace"]).expect("namespace");
                if policy == "default-deny" {
                    assert_eq!(
                        doc["spec"]["podSelector"],
                        Value::Mapping(Default::default()),
                        "{name}: {namespace} default-deny selects every pod"
                    );
                    assert!(doc["spec"].get("ingress").is_none(), "{name}: {namespace}");
                    defaults.insert(namespace.to_owned());
                } else {
                    by_service.insert(format!("{namespace}/{policy}"), doc);
                }
            }
            let mut tiers: BTreeSet<String> = platform
                .tiers
                .values()
                .map(|t| t.namespace.clone())
                .collect();
            if runs_grants(&platform) {
                tiers.insert("db-grants".to_owned());
            }
            tiers.extend(component_workload_namespaces().map(str::to_owned));
            assert_eq!(
                defaults, tiers,
                "{name}: default-deny namespaces in {}",
                env.name
            );

            for s in platform.services.values() {
                let key = format!("{}/{}", s.namespace, s.name);
                let doc = by_service.remove(&key).unwrap_or_else(|| {
                    panic!("{name}: no NetworkPolicy for {key} in {}", env.name)
                });
                assert_eq!(
                    str_at(&doc, &["spec", "podSelector", "matchLabels", "app"]),
                    Some(s.name.as_str())
                );
                // (namespace, app) of every peer allowed on the service's port.
                let mut peers: Vec<(String, String)> = Vec::new();
                for rule in doc["spec"]["ingress"].as_sequence().into_iter().flatten() {
                    let ports: Vec<u64> = rule["ports"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p["port"].as_u64())
                        .collect();
                    let from = rule["from"].as_sequence().into_iter().flatten();
                    if ports == [u64::from(s.port)] {
                        for peer in from {
                            let ns = &peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"];
                            let pod = &peer["podSelector"]["matchLabels"];
                            let app = pod.get("app").or_else(|| pod.get("istio"));
                            peers.push((
                                ns.as_str().expect("a namespace").to_owned(),
                                app.and_then(Value::as_str).expect("a pod").to_owned(),
                            ));
                        }
                    } else {
                        assert_eq!(ports, [15020, 15090], "{name}: {key}: metrics ports");
                        for peer in from {
                            assert_eq!(
                                str_at(
                                    &peer["namespaceSelector"]["matchLabels"],
                                    &["kubernetes.io/metadata.name"]
                                ),
                                Some("monitoring"),
                                "{name}: {key}: only monitoring scrapes"
                            );
                            assert!(peer.get("podSelector").is_none());
                        }
                    }
                }
                // Callers, and token verifiers at the signer (the mesh policy limits those to
                // the JWKS path; a NetworkPolicy cannot see paths).
                let verifiers = if is_signer(&platform, s) {
                    platform.token_verifiers()
                } else {
                    Vec::new()
                };
                let mut expected: Vec<(String, String)> = platform
                    .callers(&s.name)
                    .into_iter()
                    .chain(verifiers)
                    .map(|c| (c.namespace.clone(), c.name.clone()))
                    .collect();
                if reached_by_ingress(&platform, s) {
                    expected.push(("istio-ingress".into(), "ingressgateway".into()));
                }
                expected.sort();
                expected.dedup();
                peers.sort();
                assert_eq!(peers, expected, "{name}: peers of {key} in {}", env.name);
            }
            // A component's database proxy admits the pods of its own namespace, and no other.
            for identity in xtask::render::component_identities()
                .into_iter()
                .filter(|i| i.database.is_some())
            {
                let key = format!("{}/{}", identity.namespace, identity.database_proxy());
                let doc = by_service
                    .remove(&key)
                    .unwrap_or_else(|| panic!("{name}: no NetworkPolicy {key} in {}", env.name));
                let from = &doc["spec"]["ingress"][0]["from"];
                let own_namespace: Value =
                    serde_yaml_ng::from_str("- podSelector: {}").expect("YAML");
                assert_eq!(from, &own_namespace, "{name}: {key} in {}", env.name);
                assert!(
                    doc["spec"]["ingress"]
                        .as_sequence()
                        .is_some_and(|i| i.len() == 1)
                );
            }
            assert!(
                by_service.is_empty(),
                "{name}: NetworkPolicies of no service: {:?}",
                by_service.keys()
            );
        }
    }
}

#[test]
fn every_secret_and_store_url_has_an_external_secret_key() {
    for (name, platform) in all_platforms() {
        let files = render(&platform);
        for env in platform.environments.values() {
            let dir = format!("gitops/{}", env.name);
            // (namespace, target Secret) → [(key, remote key)]
            let mut got: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
            let stores = kind_in(&files, &dir, "SecretStore");
            for doc in kind_in(&files, &dir, "ExternalSecret") {
                let namespace = str_at(&doc, &["metadata", "namespace"]).expect("namespace");
                // Its own workload's store, in its namespace, reading as that workload's account.
                assert_eq!(
                    str_at(&doc, &["spec", "secretStoreRef", "kind"]),
                    Some("SecretStore")
                );
                let store_name = str_at(&doc, &["spec", "secretStoreRef", "name"]).unwrap();
                let store = stores
                    .iter()
                    .find(|s| {
                        str_at(s, &["metadata", "name"]) == Some(store_name)
                            && str_at(s, &["metadata", "namespace"]) == Some(namespace)
                    })
                    .unwrap_or_else(|| panic!("{name}: no SecretStore {namespace}/{store_name}"));
                let gcpsm = &store["spec"]["provider"]["gcpsm"];
                assert_eq!(
                    str_at(gcpsm, &["projectID"]),
                    Some(env.gcp_project.as_str())
                );
                let wi = &gcpsm["auth"]["workloadIdentity"];
                assert_eq!(str_at(wi, &["serviceAccountRef", "name"]), Some(store_name));
                assert_eq!(
                    str_at(wi, &["clusterName"]),
                    Some(platform.cluster_name(env).as_str())
                );
                if let Some(s) = platform.services.get(store_name) {
                    assert_eq!(namespace, s.namespace, "{name}: {store_name}'s store");
                }
                let target = str_at(&doc, &["spec", "target", "name"]).expect("target");
                let keys = doc["spec"]["data"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        (
                            str_at(d, &["secretKey"]).expect("secretKey").to_owned(),
                            str_at(d, &["remoteRef", "key"])
                                .expect("remote key")
                                .to_owned(),
                        )
                    })
                    .collect();
                got.insert((namespace.to_owned(), target.to_owned()), keys);
            }
            let mut expected = BTreeMap::new();
            for s in platform.services.values() {
                if !s.secrets.is_empty() {
                    let keys = s
                        .secrets
                        .iter()
                        .map(|k| (k.clone(), format!("{}-{k}", s.name)))
                        .collect::<Vec<_>>();
                    expected.insert((s.namespace.clone(), format!("{}-secrets", s.name)), keys);
                }
                // The database needs no secret: IAM authentication, through the proxy.
                if s.redis {
                    let stores = vec![("REDIS_URL".to_owned(), format!("{}-redis-url", s.name))];
                    expected.insert((s.namespace.clone(), format!("{}-stores", s.name)), stores);
                }
            }
            let grants = runs_grants(&platform);
            for identity in xtask::render::component_identities() {
                let secrets = identity.all_secrets();
                let rendered = if identity.name == "db-grants" {
                    grants
                } else {
                    !secrets.is_empty()
                };
                if rendered {
                    let keys = secrets
                        .into_iter()
                        .map(|(k, id)| (k.to_owned(), id))
                        .collect();
                    expected.insert(
                        (identity.namespace.to_owned(), identity.name.to_owned()),
                        keys,
                    );
                }
            }
            assert_eq!(got, expected, "{name}: ExternalSecrets in {}", env.name);
            assert!(
                kind_in(&files, &dir, "ClusterSecretStore").is_empty(),
                "{name}: no ClusterSecretStore"
            );
        }
    }
}

#[test]
fn every_topic_has_a_kafka_topic_and_every_consumed_topic_a_dead_letter_topic() {
    for (name, platform) in all_platforms() {
        let files = render(&platform);
        for env in platform.environments.values() {
            let dir = format!("gitops/{}", env.name);
            let mut got: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
            for doc in kind_in(&files, &dir, "KafkaTopic") {
                let topic = str_at(&doc, &["metadata", "name"])
                    .expect("name")
                    .to_owned();
                assert_eq!(
                    str_at(&doc, &["metadata", "labels", "strimzi.io/cluster"]),
                    Some(format!("{}-kafka", platform.name).as_str())
                );
                let spec = &doc["spec"];
                let retention = spec["config"]["retention.ms"]
                    .as_u64()
                    .expect("retention.ms");
                let partitions = spec["partitions"].as_u64().expect("partitions");
                let replicas = spec["replicas"].as_u64().expect("replicas");
                assert!(
                    got.insert(topic, (partitions, retention, replicas))
                        .is_none()
                );
            }
            let replicas = u64::from(env.kafka_replication);
            let mut expected = BTreeMap::new();
            for topic in platform.topics.values() {
                let retention = topic.retention_ms;
                expected.insert(
                    topic.name.clone(),
                    (u64::from(topic.partitions), retention, replicas),
                );
            }
            for s in platform.services.values() {
                for topic in &s.consumes {
                    let retention = platform.topics[topic].retention_ms;
                    expected.insert(format!("{topic}.dlq"), (1, retention, replicas));
                }
            }
            assert_eq!(got, expected, "{name}: KafkaTopics in {}", env.name);
        }
    }
}

#[test]
fn sync_waves_put_crds_and_operators_before_what_uses_them() {
    for (name, platform) in all_platforms() {
        let files = render(&platform);
        for env in platform.environments.values() {
            let dir = format!("argocd/{}/apps", env.name);
            let mut waves: BTreeMap<String, i64> = BTreeMap::new();
            for doc in kind_in(&files, &dir, "Application") {
                let app = str_at(&doc, &["metadata", "name"]).expect("name");
                let app = app
                    .strip_prefix(&format!("{}-", env.name))
                    .expect("env prefix");
                let wave = str_at(
                    &doc,
                    &["metadata", "annotations", "argocd.argoproj.io/sync-wave"],
                )
                .and_then(|w| w.parse().ok())
                .unwrap_or_else(|| panic!("{name}: {app} has no sync wave"));
                waves.insert(app.to_owned(), wave);
            }
            let wave = |app: &str| {
                *waves
                    .get(app)
                    .unwrap_or_else(|| panic!("{name}: no {app} Application in {}", env.name))
            };
            // (provider of CRDs or a webhook, what needs it)
            let mut order = vec![
                ("istio-base", "istiod"),
                ("istio-base", "mesh-policies"),
                ("istiod", "istio-ingressgateway"),
                ("istio-cni", "istio-ingressgateway"),
                ("strimzi", "kafka"),
                ("namespaces", "mesh-policies"),
            ];
            // What waits on DNS or people, and the data tools, are under the independent root
            // (guard rule nothing-outside-gates-the-shop says what may not be here).
            for independent in ["certificates", "platform-secrets", "airflow", "metabase"] {
                assert!(
                    !waves.contains_key(independent),
                    "{name}: {independent} is in the root's waves in {}",
                    env.name
                );
            }
            for s in platform.services.values() {
                for before in [
                    "istiod",
                    "istio-cni",
                    "external-secrets",
                    "kube-prometheus-stack",
                    "mesh-policies",
                    "namespaces",
                ] {
                    order.push((before, s.name.as_str()));
                }
            }
            for (before, after) in order {
                assert!(
                    wave(before) < wave(after),
                    "{name}: {before} (wave {}) must sync before {after} (wave {}) in {}",
                    wave(before),
                    wave(after),
                    env.name
                );
            }
        }
    }
}

#[test]
fn the_ingress_gateway_checks_jwts_against_the_service_serving_the_jwks() {
    for (name, platform) in all_platforms() {
        let files = render(&platform);
        let jwks = platform.token_signer();
        for env in platform.environments.values() {
            let dir = format!("policies/istio/{}", env.name);
            let found = kind_in(&files, &dir, "RequestAuthentication");
            let Some(issuer) = jwks else {
                assert!(found.is_empty(), "{name}: no service serves the JWKS");
                continue;
            };
            assert_eq!(
                found.len(),
                1,
                "{name}: one RequestAuthentication in {}",
                env.name
            );
            let rule = &found[0]["spec"]["jwtRules"][0];
            assert_eq!(
                str_at(rule, &["jwksUri"]),
                Some(
                    format!(
                        "http://{}.{}.svc.cluster.local{JWKS_PATH}",
                        issuer.name, issuer.namespace
                    )
                    .as_str()
                )
            );
            assert_eq!(
                str_at(rule, &["issuer"]),
                platform.tokens.as_ref().map(|t| t.issuer.as_str()),
                "{name}: the issuer platform.toml declares in [tokens]"
            );
            assert_eq!(rule["forwardOriginalToken"].as_bool(), Some(true));
            assert_eq!(
                str_at(&found[0], &["spec", "selector", "matchLabels", "istio"]),
                Some("ingressgateway")
            );
        }
    }
}

#[test]
fn every_service_has_a_service_monitor_on_a_port_of_its_service() {
    for (name, platform) in all_platforms() {
        let files = render(&platform);
        for env in platform.environments.values() {
            for s in platform.services.values() {
                let dir = format!("gitops/{}/{}", env.name, s.namespace);
                let named = |kind: &str| {
                    kind_in(&files, &dir, kind)
                        .into_iter()
                        .filter(|d| str_at(d, &["metadata", "name"]) == Some(s.name.as_str()))
                        .collect::<Vec<_>>()
                };
                let monitors = named("ServiceMonitor");
                let services = named("Service");
                assert_eq!(monitors.len(), 1, "{name}: {} ServiceMonitor", s.name);
                assert_eq!(services.len(), 1, "{name}: {} Service", s.name);
                let (monitor, service) = (&monitors[0], &services[0]);
                let selector = monitor["spec"]["selector"]["matchLabels"]
                    .as_mapping()
                    .expect("matchLabels");
                for (key, value) in selector {
                    assert_eq!(
                        service["metadata"]["labels"].get(key),
                        Some(value),
                        "{name}: {}'s ServiceMonitor selects {key:?} the Service lacks",
                        s.name
                    );
                }
                let port = str_at(&monitor["spec"]["endpoints"][0], &["port"]).expect("port");
                let ports = service["spec"]["ports"].as_sequence().expect("ports");
                assert!(
                    ports.iter().any(|p| str_at(p, &["name"]) == Some(port)),
                    "{name}: {}'s Service has no port {port}",
                    s.name
                );
            }
        }
    }
}

#[test]
fn services_with_a_database_log_in_as_themselves_through_the_proxy_and_get_only_their_database() {
    for (name, platform) in all_platforms() {
        let files = render(&platform);
        for env in platform.environments.values() {
            let grants = files
                .get(&format!(
                    "gitops/{}/platform/database/db-grants.yaml",
                    env.name
                ))
                .unwrap_or("");
            for s in platform.services.values() {
                let dir = format!("gitops/{}/{}", env.name, s.namespace);
                let deployment = kind_in(&files, &dir, "Deployment")
                    .into_iter()
                    .find(|d| str_at(d, &["metadata", "name"]) == Some(s.name.as_str()))
                    .expect("a Deployment per service");
                let pod = &deployment["spec"]["template"]["spec"];
                let proxy = pod["initContainers"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .find(|c| str_at(c, &["name"]) == Some("cloud-sql-proxy"));
                let env_vars = pod["containers"][0]["env"].as_sequence().expect("env");
                let database_url = env_vars
                    .iter()
                    .find(|v| str_at(v, &["name"]) == Some("DATABASE_URL"));
                let email = s.gcp_service_account(env);
                let user = email.trim_end_matches(".gserviceaccount.com");
                if !s.postgres {
                    assert!(
                        proxy.is_none() && database_url.is_none(),
                        "{name}: {}",
                        s.name
                    );
                    assert!(
                        !grants.contains(&format!("\"{user}\"")),
                        "{name}: {}",
                        s.name
                    );
                    continue;
                }
                let proxy = proxy.unwrap_or_else(|| panic!("{name}: {} has no proxy", s.name));
                assert_eq!(str_at(proxy, &["restartPolicy"]), Some("Always"));
                let args: Vec<&str> = proxy["args"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                assert!(args.contains(&"--auto-iam-authn"), "{name}: {args:?}");
                assert_eq!(
                    args.last().copied(),
                    Some(platform.cloudsql_connection_name(env).as_str())
                );
                let url = str_at(database_url.expect("DATABASE_URL"), &["value"])
                    .expect("a literal DATABASE_URL, no secret");
                assert_eq!(
                    url,
                    format!(
                        "postgres://{}@127.0.0.1:5432/{}?sslmode=disable",
                        user.replace('@', "%40"),
                        s.crate_ident()
                    )
                );
                let db = s.crate_ident();
                for statement in [
                    format!("REVOKE ALL ON DATABASE \"{db}\" FROM PUBLIC;"),
                    format!("GRANT CONNECT, TEMPORARY ON DATABASE \"{db}\" TO \"{user}\";"),
                ] {
                    assert!(
                        grants.contains(&statement),
                        "{name}: the grants job lacks {statement}"
                    );
                }
            }
        }
    }
}
