//! Every rendered manifest — all documents of every `*.yaml` under `gitops/`, `policies/istio/`
//! and `argocd/` — is checked against the real schema of its kind (Kubernetes built-ins and the
//! CRDs of Istio, Argo CD, External Secrets, Strimzi and the Prometheus Operator): a misspelled or
//! misplaced field, a value of the wrong type or a missing required field fails with the file,
//! the document and the field's path. The negative tests below take a valid sample, change one
//! field and expect the check to fail. How it works and why: `schemas/README.md`; the kinds it
//! knows: `schemas/kinds.rs`.

#[path = "schemas/kinds.rs"]
mod kinds;
#[path = "schemas/validate.rs"]
mod validate;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use xtask::codegen::OWNED_DIRS as RENDERED;
use xtask::root;

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/samples")
}

/// Every `*.yaml` under `dir`, sorted, recursively.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
                // A Helm chart's metadata (the roots chart, argocd/<env>/bootstrap) is no manifest.
                && path.file_name().is_some_and(|n| n != "Chart.yaml")
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn every_rendered_manifest_matches_the_schema_of_its_kind() {
    let registry = kinds::registry();
    let mut problems = Vec::new();
    let mut documents = 0;
    let mut empty = Vec::new();
    for dir in RENDERED {
        let files = yaml_files(&root().join(dir));
        if files.is_empty() {
            empty.push(dir);
        }
        for file in files {
            let (count, found) = registry.check_yaml(&relative(&file), &read(&file));
            documents += count;
            problems.extend(found);
        }
    }
    assert!(
        empty.is_empty(),
        "no rendered manifests under {empty:?}: run `cargo xtask render`"
    );
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        problems.is_empty(),
        "{} schema problem(s) in {documents} rendered documents; fix the template or renderer, \
         then run `cargo xtask render`:\n{}",
        problems.len(),
        list.join("\n")
    );
}

/// The (apiVersion, kind) of every committed rendered document.
fn rendered_kinds() -> std::collections::BTreeSet<(String, String)> {
    RENDERED
        .iter()
        .flat_map(|dir| yaml_files(&root().join(dir)))
        .flat_map(|file| {
            let text = read(&file);
            serde_yaml_ng::Deserializer::from_str(&text)
                .map(|de| serde::Deserialize::deserialize(de).expect("rendered YAML parses"))
                .collect::<Vec<Value>>()
        })
        .filter_map(|d| {
            Some((
                d["apiVersion"].as_str()?.to_owned(),
                d["kind"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// Kinds the renderers will produce next, beyond those they produce now
/// ([`rendered_kinds`]); each must have a valid sample too.
const SAMPLED: &[(&str, &str)] = &[
    ("v1", "Namespace"),
    ("v1", "ServiceAccount"),
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("security.istio.io/v1", "PeerAuthentication"),
    ("security.istio.io/v1", "AuthorizationPolicy"),
    ("networking.istio.io/v1", "Gateway"),
    ("networking.istio.io/v1", "VirtualService"),
    ("argoproj.io/v1alpha1", "Application"),
    ("argoproj.io/v1alpha1", "AppProject"),
    ("external-secrets.io/v1", "SecretStore"),
    ("external-secrets.io/v1", "ExternalSecret"),
    ("external-secrets.io/v1beta1", "ExternalSecret"),
    ("kafka.strimzi.io/v1beta2", "Kafka"),
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"),
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
    ("kafka.strimzi.io/v1", "KafkaTopic"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("cert-manager.io/v1", "ClusterIssuer"),
    ("cert-manager.io/v1", "Certificate"),
];

/// Every document of samples/*.yaml.
fn samples() -> Vec<Value> {
    let files = yaml_files(&samples_dir());
    assert!(
        !files.is_empty(),
        "no samples in {}",
        samples_dir().display()
    );
    files
        .iter()
        .flat_map(|file| {
            let text = read(file);
            serde_yaml_ng::Deserializer::from_str(&text)
                .map(|de| serde::Deserialize::deserialize(de).expect("samples are valid YAML"))
                .collect::<Vec<Value>>()
        })
        .collect()
}

fn sample(api_version: &str, kind: &str) -> Value {
    samples()
        .into_iter()
        .find(|d| d["apiVersion"] == api_version && d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {api_version} {kind} in {}", samples_dir().display()))
}

#[test]
fn the_samples_pass_and_cover_the_kinds_we_render() {
    let registry = kinds::registry();
    let mut problems = Vec::new();
    for file in yaml_files(&samples_dir()) {
        problems.extend(registry.check_yaml(&relative(&file), &read(&file)).1);
    }
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        problems.is_empty(),
        "valid samples fail:\n{}",
        list.join("\n")
    );

    let docs = samples();
    let wanted: std::collections::BTreeSet<(String, String)> = SAMPLED
        .iter()
        .map(|(v, k)| ((*v).to_owned(), (*k).to_owned()))
        .chain(rendered_kinds())
        .collect();
    for (api_version, kind) in &wanted {
        let (api_version, kind) = (api_version.as_str(), kind.as_str());
        assert!(
            registry.kinds().any(|(v, k)| v == api_version && k == kind),
            "{api_version} {kind} is not registered in kinds.rs"
        );
        assert!(
            docs.iter()
                .any(|d| d["apiVersion"] == *api_version && d["kind"] == *kind),
            "no valid {api_version} {kind} sample"
        );
    }
}

/// One change to a copy of a valid sample. Paths are JSON pointers (`/spec/replicas`).
enum Change {
    /// Renames the field at the pointer.
    Rename(&'static str, &'static str),
    /// Sets (or adds) the field at the pointer.
    Set(&'static str, Value),
    /// Removes the field at the pointer.
    Remove(&'static str),
    /// Moves the field at the first pointer to the second.
    Move(&'static str, &'static str),
}

/// A change to the sample of `kind` and the start of the `path: message` it must produce.
struct Case(&'static str, &'static str, Change, &'static str);

fn split(pointer: &str) -> (&str, &str) {
    pointer.rsplit_once('/').expect("a JSON pointer")
}

fn take(doc: &mut Value, pointer: &str) -> Value {
    let (parent, key) = split(pointer);
    let parent = doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("{pointer}"));
    match parent {
        Value::Object(map) => map.remove(key),
        Value::Array(items) => key.parse().ok().map(|i: usize| items.remove(i)),
        _ => None,
    }
    .unwrap_or_else(|| panic!("the sample has no {pointer}"))
}

fn put(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = split(pointer);
    let parent = doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("{pointer}"));
    parent
        .as_object_mut()
        .unwrap_or_else(|| panic!("{pointer}: parent is not an object"))
        .insert(key.to_string(), value);
}

fn apply(doc: &mut Value, change: &Change) {
    match change {
        Change::Rename(pointer, to) => {
            let value = take(doc, pointer);
            put(doc, &format!("{}/{to}", split(pointer).0), value);
        }
        Change::Set(pointer, value) => put(doc, pointer, value.clone()),
        Change::Remove(pointer) => drop(take(doc, pointer)),
        Change::Move(from, to) => {
            let value = take(doc, from);
            put(doc, to, value);
        }
    }
}

/// Each case must turn a passing sample into a failing one with the expected problem.
fn assert_cases(cases: &[Case]) {
    let registry = kinds::registry();
    let render = |doc: &Value| -> Vec<String> {
        registry
            .check_document(doc)
            .iter()
            .map(|f| format!("{}: {}", f.path, f.message))
            .collect()
    };
    let mut failures = Vec::new();
    for Case(api_version, kind, change, expected) in cases {
        let mut doc = sample(api_version, kind);
        let before = render(&doc);
        assert!(before.is_empty(), "sample {kind} fails: {before:#?}");
        apply(&mut doc, change);
        let found = render(&doc);
        if !found.iter().any(|p| p.starts_with(expected)) {
            failures.push(format!(
                "{api_version} {kind}: expected `{expected}`, found {found:#?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_misspelled_field_fails() {
    use Change::Rename;
    assert_cases(&[
        Case(
            "apps/v1",
            "Deployment",
            Rename(
                "/spec/template/spec/containers/0/imagePullPolicy",
                "imagePullPolcy",
            ),
            "spec.template.spec.containers[0].imagePullPolcy: unknown field",
        ),
        Case(
            "apps/v1",
            "Deployment",
            Rename("/metadata/labels", "label"),
            "metadata.label: unknown field",
        ),
        Case(
            "security.istio.io/v1",
            "AuthorizationPolicy",
            Rename("/spec/rules/0/from/0/source/principals", "principal"),
            "spec.rules[0].from[0].source.principal: unknown field",
        ),
        Case(
            "argoproj.io/v1alpha1",
            "Application",
            Rename("/spec/syncPolicy/automated/selfHeal", "selfheal"),
            "spec.syncPolicy.automated.selfheal: unknown field",
        ),
        Case(
            "argoproj.io/v1alpha1",
            "Application",
            Rename("/metadata/annotations", "anotations"),
            "metadata.anotations: unknown field",
        ),
        Case(
            "networking.istio.io/v1",
            "VirtualService",
            Rename("/spec/http/0/route/0/destination/host", "hostname"),
            "spec.http[0].route[0].destination.hostname: unknown field",
        ),
        Case(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            Rename("/spec/policyTypes", "policyType"),
            "spec.policyType: unknown field",
        ),
        Case(
            "external-secrets.io/v1",
            "ExternalSecret",
            Rename("/spec/refreshInterval", "refreshInterva"),
            "spec.refreshInterva: unknown field",
        ),
        Case(
            "kafka.strimzi.io/v1beta2",
            "KafkaTopic",
            Rename("/spec/partitions", "partition"),
            "spec.partition: unknown field",
        ),
        Case(
            "monitoring.coreos.com/v1",
            "ServiceMonitor",
            Rename("/spec/endpoints/0/interval", "scrapeInterval"),
            "spec.endpoints[0].scrapeInterval: unknown field",
        ),
        Case(
            "cert-manager.io/v1",
            "Certificate",
            Rename("/spec/dnsNames", "dnsName"),
            "spec.dnsName: unknown field",
        ),
        Case(
            "external-secrets.io/v1",
            "SecretStore",
            Rename(
                "/spec/provider/gcpsm/auth/workloadIdentity/serviceAccountRef",
                "serviceAccount",
            ),
            "spec.provider.gcpsm.auth.workloadIdentity.serviceAccount: unknown field",
        ),
    ]);
}

#[test]
fn a_misplaced_field_fails() {
    use Change::Move;
    assert_cases(&[
        Case(
            "apps/v1",
            "Deployment",
            Move("/spec/replicas", "/spec/template/spec/replicas"),
            "spec.template.spec.replicas: unknown field",
        ),
        Case(
            "security.istio.io/v1",
            "AuthorizationPolicy",
            Move("/spec/action", "/spec/rules/0/action"),
            "spec.rules[0].action: unknown field",
        ),
        Case(
            "argoproj.io/v1alpha1",
            "Application",
            Move("/spec/syncPolicy", "/spec/source/syncPolicy"),
            "spec.source.syncPolicy: unknown field",
        ),
        Case(
            "kafka.strimzi.io/v1beta2",
            "Kafka",
            Move("/spec/entityOperator", "/spec/kafka/entityOperator"),
            "spec.kafka.entityOperator: unknown field",
        ),
    ]);
}

#[test]
fn a_wrong_type_fails() {
    use Change::Set;
    assert_cases(&[
        Case(
            "apps/v1",
            "Deployment",
            Set("/spec/replicas", json!("2")),
            "spec.replicas: invalid type: string \"2\"",
        ),
        Case(
            "apps/v1",
            "Deployment",
            Set("/spec/template/spec/containers/0/env/0/value", json!(8090)),
            "spec.template.spec.containers[0].env[0].value: invalid type: integer",
        ),
        Case(
            "security.istio.io/v1",
            "AuthorizationPolicy",
            Set(
                "/spec/rules/0/from/0/source/principals",
                json!("cluster.local/ns/apps-public/sa/api-gateway"),
            ),
            "spec.rules[0].from[0].source.principals: invalid type: string",
        ),
        Case(
            "security.istio.io/v1",
            "AuthorizationPolicy",
            Set("/spec/action", json!("PERMIT")),
            "spec.action: unknown variant `PERMIT`",
        ),
        Case(
            "argoproj.io/v1alpha1",
            "Application",
            Set("/spec/syncPolicy/automated/prune", json!("yes")),
            "spec.syncPolicy.automated.prune: invalid type: string \"yes\", expected a boolean",
        ),
        Case(
            "argoproj.io/v1alpha1",
            "Application",
            Set("/spec/source/directory", json!("order.yaml")),
            "spec.source.directory: invalid type: string",
        ),
        Case(
            "security.istio.io/v1",
            "PeerAuthentication",
            Set("/spec/mtls/mode", json!("STRICTER")),
            "spec.mtls.mode: unknown variant `STRICTER`",
        ),
        Case(
            "kafka.strimzi.io/v1beta2",
            "KafkaTopic",
            Set("/spec/partitions", json!("6")),
            "spec.partitions: invalid type: string \"6\"",
        ),
    ]);
}

#[test]
fn a_missing_required_field_fails() {
    use Change::Remove;
    assert_cases(&[
        Case(
            "apps/v1",
            "Deployment",
            Remove("/spec/selector"),
            "spec: missing required field `selector`",
        ),
        Case(
            "apps/v1",
            "Deployment",
            Remove("/spec/template/spec/containers/0/name"),
            "spec.template.spec.containers[0]: missing required field `name`",
        ),
        Case(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            Remove("/spec/maxReplicas"),
            "spec: missing required field `maxReplicas`",
        ),
        Case(
            "argoproj.io/v1alpha1",
            "Application",
            Remove("/spec/destination"),
            "spec: missing field `destination`",
        ),
        Case(
            "argoproj.io/v1alpha1",
            "Application",
            Remove("/spec/source/repoURL"),
            "spec.source: missing field `repoURL`",
        ),
        Case(
            "external-secrets.io/v1",
            "ExternalSecret",
            Remove("/spec/data/0/remoteRef/key"),
            "spec.data[0].remoteRef: missing field `key`",
        ),
        Case(
            "kafka.strimzi.io/v1beta2",
            "Kafka",
            Remove("/spec/kafka/listeners"),
            "spec.kafka: missing field `listeners`",
        ),
    ]);
}

#[test]
fn an_unregistered_kind_or_version_fails() {
    let registry = kinds::registry();
    let text = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n\
                apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\n\
                metadata: {name: v, namespace: n}\nspec: {}\n";
    let (count, problems) = registry.check_yaml("widgets.yaml", text);
    let found: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(count, 2);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with(
            "widgets.yaml: Widget w: .: no schema is registered for apiVersion example.com/v1 kind Widget"
        ),
        "{found:#?}"
    );
    assert!(
        found[1].contains("(registered versions of VirtualService: networking.istio.io/v1)"),
        "{found:#?}"
    );
}

#[test]
fn invalid_yaml_fails() {
    let registry = kinds::registry();
    let (_, problems) = registry.check_yaml("broken.yaml", "apiVersion: v1\nkind: [Namespace\n");
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].message.starts_with("not valid YAML"));
}
