//! Tests of `xtask::render`, through its public interface.
//!
//! - Snapshots: every file rendered from each fixture platform (`fixtures/*.toml`) is one
//!   snapshot, under `snapshots/<fixture>/`, named after its path, so a review reads like a diff
//!   of the repository. The real platform.toml's output is reviewed in pull requests instead.
//! - Structure: every YAML document rendered from the fixtures and from the real platform.toml
//!   parses, names its apiVersion, kind and metadata.name, and every AuthorizationPolicy allows
//!   exactly the callers the model declares.
//! - Determinism: rendering twice gives identical files (freshness of the committed files is
//!   tests/drift.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize as _;
use serde_yaml::Value;
use xtask::codegen::{Files, YAML_HEADER};
use xtask::model::Platform;

const INGRESS: &str = "cluster.local/ns/istio-ingress/sa/istio-ingressgateway";

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
fn documents(file: &Path, contents: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(contents)
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
        for (file, contents) in render(&platform).iter() {
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
                if kind != "Namespace" {
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
            let mut policies: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
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
                    if str_at(&doc, &["spec", "action"]) == Some("DENY") {
                        let service = policy
                            .strip_suffix("-internal-paths")
                            .expect("DENY policies are <service>-internal-paths");
                        assert_eq!(principals, [INGRESS], "{name}: {policy}");
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
                let got_callers: Vec<String> =
                    got.iter().filter(|p| *p != INGRESS).cloned().collect();
                assert_eq!(
                    got_callers, callers,
                    "{name}: callers of {} in {}",
                    s.name, env.name
                );
                assert_eq!(
                    got.iter().any(|p| p == INGRESS),
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
fn principals(doc: &Value) -> Vec<String> {
    let rules = doc["spec"]["rules"].as_sequence().into_iter().flatten();
    let froms = rules.flat_map(|rule| rule["from"].as_sequence().into_iter().flatten());
    froms
        .flat_map(|from| {
            from["source"]["principals"]
                .as_sequence()
                .into_iter()
                .flatten()
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
