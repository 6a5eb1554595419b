//! Guard rules: security and operability invariants over the rendered manifests.
//!
//! `cargo xtask check` runs them after the drift check (and `xtask/tests/guard.rs` runs them in
//! `cargo test`), over every YAML document under `gitops/`, `policies/` and `argocd/` and the
//! Terraform inputs `terraform/envs/<env>/platform.auto.tfvars.json`. Rules are data: each is
//! a [`Rule`] with an id, a one-line description and one function; [`RULES`] lists them all,
//! and `policies/guard/README.md` lists the same table ([`rules_markdown`], checked by a test).
//!
//! A finding reads `file: Kind ns/name: rule-id: message`. The environment of a file is the
//! folder after its top-level one (`gitops/<env>/...`, `policies/istio/<env>/...`,
//! `terraform/envs/<env>/...`).
//!
//! The rules know this platform: its call graph, identities, secret ownership, namespaces and
//! components. What a stock scanner checks on any manifest (non-root, read-only root filesystem,
//! no privilege escalation, capabilities, resources, probes, image tags) is left to checkov,
//! which `.ci/run` runs over every rendered environment, with each skip justified in place.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize as _;
use serde_yaml_ng::Value;

/// Folders whose YAML documents the rules read.
pub const MANIFEST_DIRS: &[&str] = &["gitops", "policies", "argocd"];

/// The Terraform inputs of an environment, rendered from platform.toml.
pub fn tfvars_path(env: &str) -> PathBuf {
    Path::new("terraform/envs")
        .join(env)
        .join("platform.auto.tfvars.json")
}

/// Kinds whose pod template the workload rules inspect.
const WORKLOAD_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
];

/// One guard rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    /// One line: what must hold.
    pub description: &'static str,
    check: fn(&Sources, &mut Report),
}

/// Every rule, in the order they run and are listed.
pub const RULES: &[Rule] = &[
    Rule {
        id: "pdb-for-replicated-deployments",
        description: "Every Deployment with more than one replica is selected by a PodDisruptionBudget in its namespace.",
        check: pdb_for_replicated_deployments,
    },
    Rule {
        id: "namespace-default-deny-authz",
        description: "Every namespace with workloads has a default-deny Istio AuthorizationPolicy (policies/istio/<env>/<ns>/default-deny.yaml).",
        check: namespace_default_deny_authz,
    },
    Rule {
        id: "namespace-default-deny-network",
        description: "Every namespace with workloads has a default-deny NetworkPolicy (podSelector {}, Ingress without rules).",
        check: namespace_default_deny_network,
    },
    Rule {
        id: "no-secrets",
        description: "No `kind: Secret` object is committed: secret values live in Secret Manager and arrive through ExternalSecrets.",
        check: no_secrets,
    },
    Rule {
        id: "external-secret-keys-in-terraform",
        description: "Every ExternalSecret remote key is a Secret Manager secret in terraform/envs/<env>/platform.auto.tfvars.json.",
        check: external_secret_keys_in_terraform,
    },
    Rule {
        id: "external-secret-own-store",
        description: "No ClusterSecretStore exists; every ExternalSecret reads through a SecretStore of its own namespace (no per-entry sourceRef.storeRef, no dataFrom.find) that authenticates as one workload's ServiceAccount (Workload Identity), and reads only that workload's secrets (per platform.auto.tfvars.json).",
        check: external_secret_own_store,
    },
    Rule {
        id: "workload-secrets-own-identity",
        description: "A Secret that a workload's pods read (env, envFrom, volumes) and an ExternalSecret writes must be fetched through a SecretStore that authenticates as the pods' own ServiceAccount: no workload reads a Secret fetched with another's identity.",
        check: workload_secrets_own_identity,
    },
    Rule {
        id: "nothing-outside-gates-the-shop",
        description: "No Application under argocd/<env>/apps/ (the root's sync waves, where each wave waits for the one before to be healthy) syncs what waits on the outside world or on people (a cert-manager Certificate or Issuer) or a data tool chart (Airflow, Metabase, Spark operator); those live under argocd/<env>/independent/, without a sync wave and retried without limit.",
        check: nothing_outside_gates_the_shop,
    },
    Rule {
        id: "istio-webhooks-left-to-istiod",
        description: "Every Argo CD Application of Istio's `base` or `istiod` chart ignores the webhook fields istiod patches at run time (ValidatingWebhookConfiguration `failurePolicy` and `caBundle`) and syncs with RespectIgnoreDifferences=true, so self-heal does not revert them.",
        check: istio_webhooks_left_to_istiod,
    },
];

/// The markdown table of [`RULES`], as `policies/guard/README.md` lists it.
pub fn rules_markdown() -> String {
    let mut out = String::from("| id | rule |\n|---|---|\n");
    for rule in RULES {
        out.push_str(&format!("| `{}` | {} |\n", rule.id, rule.description));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// One YAML document of a file.
#[derive(Debug, Clone)]
pub struct Document {
    pub file: PathBuf,
    pub value: Value,
}

impl Document {
    fn str_at(&self, path: &[&str]) -> Option<&str> {
        get(&self.value, path).and_then(Value::as_str)
    }

    pub fn kind(&self) -> &str {
        self.str_at(&["kind"]).unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.str_at(&["metadata", "name"]).unwrap_or("")
    }

    pub fn namespace(&self) -> &str {
        self.str_at(&["metadata", "namespace"]).unwrap_or("")
    }

    /// The environment, from the file's path.
    pub fn env(&self) -> &str {
        env_of(&self.file).unwrap_or("")
    }

    /// `Kind ns/name` (or `Kind name` for cluster-scoped objects).
    fn object(&self) -> String {
        if self.namespace().is_empty() {
            format!("{} {}", self.kind(), self.name())
        } else {
            format!("{} {}/{}", self.kind(), self.namespace(), self.name())
        }
    }
}

fn env_of(path: &Path) -> Option<&str> {
    let parts: Vec<&str> = path.iter().filter_map(|p| p.to_str()).collect();
    match parts.as_slice() {
        ["policies", _, env, ..] | ["terraform", "envs", env, ..] => Some(env),
        [_, env, _, ..] => Some(env),
        _ => None,
    }
}

/// What the rules read: YAML documents and each environment's Terraform inputs.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    pub documents: Vec<Document>,
    /// Parsed `platform.auto.tfvars.json` per environment that has one.
    pub tfvars: BTreeMap<String, serde_json::Value>,
}

impl Sources {
    /// Builds the inputs from (path, text) pairs: `.yaml`/`.yml`/`.json` manifests are split
    /// into documents, `terraform/envs/<env>/platform.auto.tfvars.json` files are parsed as JSON,
    /// anything else is ignored.
    pub fn from_files<P: AsRef<Path>, S: AsRef<str>>(
        files: impl IntoIterator<Item = (P, S)>,
    ) -> anyhow::Result<Self> {
        let mut sources = Self::default();
        for (path, text) in files {
            let (path, text) = (path.as_ref(), text.as_ref());
            // Argo CD applies `.json` manifests too, and JSON is YAML.
            let is_tfvars = path
                .file_name()
                .is_some_and(|n| n == "platform.auto.tfvars.json");
            let is_manifest = !is_tfvars
                && path
                    .extension()
                    .is_some_and(|e| e == "yaml" || e == "yml" || e == "json");
            if is_manifest {
                for doc in serde_yaml_ng::Deserializer::from_str(text) {
                    let value = Value::deserialize(doc)
                        .with_context(|| format!("{}: not valid YAML", path.display()))?;
                    if !value.is_null() {
                        sources.documents.push(Document {
                            file: path.to_path_buf(),
                            value,
                        });
                    }
                }
            } else if is_tfvars {
                let env = env_of(path).unwrap_or_default().to_owned();
                let value = serde_json::from_str(text)
                    .with_context(|| format!("{}: not valid JSON", path.display()))?;
                sources.tfvars.insert(env, value);
            }
        }
        Ok(sources)
    }

    /// Reads the repository under `root`: YAML under [`MANIFEST_DIRS`] and every environment's
    /// Terraform inputs.
    pub fn load(root: &Path) -> anyhow::Result<Self> {
        let mut files = Vec::new();
        for dir in MANIFEST_DIRS {
            collect(root, &root.join(dir), &mut files)?;
        }
        if let Ok(envs) = std::fs::read_dir(root.join("terraform/envs")) {
            for env in envs.flatten() {
                let path = tfvars_path(&env.file_name().to_string_lossy());
                if root.join(&path).is_file() {
                    files.push(path);
                }
            }
        }
        files.sort();
        let texts = files
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(root.join(&p))
                    .with_context(|| format!("cannot read {}", p.display()))?;
                Ok((p, text))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Self::from_files(texts)
    }

    fn workloads(&self) -> impl Iterator<Item = &Document> {
        self.documents
            .iter()
            .filter(|d| WORKLOAD_KINDS.contains(&d.kind()))
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            out.push(path.strip_prefix(root)?.to_path_buf());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Findings

/// One broken rule on one object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub file: PathBuf,
    /// `Kind ns/name`.
    pub object: String,
    pub rule: &'static str,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}: {}",
            self.file.display(),
            self.object,
            self.rule,
            self.message
        )
    }
}

/// What a run of the rules found.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Rules that had nothing to check yet, with the reason (not failures).
    pub pending: Vec<String>,
    rule: &'static str,
}

impl Report {
    fn fail(&mut self, doc: &Document, message: impl Into<String>) {
        self.findings.push(Finding {
            file: doc.file.clone(),
            object: doc.object(),
            rule: self.rule,
            message: message.into(),
        });
    }

    fn pending(&mut self, message: impl Into<String>) {
        self.pending
            .push(format!("{}: {}", self.rule, message.into()));
    }

    /// Findings of one rule.
    pub fn of(&self, rule: &str) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.rule == rule).collect()
    }
}

/// Runs every rule over `sources`; findings sorted by file, object and rule.
pub fn run(sources: &Sources) -> Report {
    let mut report = Report::default();
    for rule in RULES {
        report.rule = rule.id;
        (rule.check)(sources, &mut report);
    }
    report.findings.sort();
    report.findings.dedup();
    report
}

/// `cargo xtask check`'s guard step: runs every rule over the repository under `root`.
pub fn check_repository(root: &Path) -> anyhow::Result<()> {
    let sources = Sources::load(root)?;
    let report = run(&sources);
    for pending in &report.pending {
        println!("guard: pending {pending}");
    }
    if report.findings.is_empty() {
        println!(
            "guard: {} rules hold over {} documents",
            RULES.len(),
            sources.documents.len()
        );
        return Ok(());
    }
    for finding in &report.findings {
        eprintln!("{finding}");
    }
    anyhow::bail!(
        "{} guard findings (rules: policies/guard/README.md): fix platform.toml or the templates, then re-render",
        report.findings.len()
    )
}

// ---------------------------------------------------------------------------------------------
// YAML helpers

fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

fn seq(value: Option<&Value>) -> &[Value] {
    value
        .and_then(Value::as_sequence)
        .map_or(&[], Vec::as_slice)
}

/// The pod spec of a workload (CronJobs nest it one template deeper).
fn pod_spec(doc: &Document) -> Option<&Value> {
    let path: &[&str] = match doc.kind() {
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        "Pod" => &["spec"],
        _ => &["spec", "template", "spec"],
    };
    get(&doc.value, path)
}

fn pod_labels(doc: &Document) -> Option<&serde_yaml_ng::Mapping> {
    get(&doc.value, &["spec", "template", "metadata", "labels"]).and_then(Value::as_mapping)
}

/// Every container of a pod spec (init containers included) with its name.
fn containers(pod: &Value) -> impl Iterator<Item = (&str, &Value)> {
    seq(pod.get("initContainers"))
        .iter()
        .chain(seq(pod.get("containers")))
        .map(|c| (c.get("name").and_then(Value::as_str).unwrap_or("?"), c))
}

// ---------------------------------------------------------------------------------------------
// Rules

fn pdb_for_replicated_deployments(sources: &Sources, report: &mut Report) {
    let pdbs: Vec<&Document> = sources
        .documents
        .iter()
        .filter(|d| d.kind() == "PodDisruptionBudget")
        .collect();
    for doc in sources.workloads().filter(|d| d.kind() == "Deployment") {
        let replicas = get(&doc.value, &["spec", "replicas"])
            .and_then(Value::as_u64)
            .unwrap_or(1);
        if replicas <= 1 {
            continue;
        }
        let labels = pod_labels(doc);
        let covered = pdbs.iter().any(|pdb| {
            pdb.env() == doc.env()
                && pdb.namespace() == doc.namespace()
                && get(&pdb.value, &["spec", "selector", "matchLabels"])
                    .and_then(Value::as_mapping)
                    .is_some_and(|want| {
                        !want.is_empty()
                            && want
                                .iter()
                                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
                    })
        });
        if !covered {
            report.fail(
                doc,
                format!("{replicas} replicas but no PodDisruptionBudget selects its pods"),
            );
        }
    }
}

/// The first workload of each (environment, namespace), in file order.
fn workload_namespaces(sources: &Sources) -> BTreeMap<(String, String), &Document> {
    let mut out = BTreeMap::new();
    for doc in sources.workloads() {
        out.entry((doc.env().to_owned(), doc.namespace().to_owned()))
            .or_insert(doc);
    }
    out
}

fn is_empty_or_absent(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::Mapping(m)) => m.is_empty(),
        Some(Value::Sequence(s)) => s.is_empty(),
        Some(_) => false,
    }
}

/// An ALLOW AuthorizationPolicy over the whole namespace without rules: it matches no request,
/// so everything not allowed by another policy is denied.
fn is_default_deny_authz(doc: &Document) -> bool {
    let spec = doc.value.get("spec");
    let action = spec
        .and_then(|s| s.get("action"))
        .and_then(Value::as_str)
        .unwrap_or("ALLOW");
    doc.kind() == "AuthorizationPolicy"
        && action == "ALLOW"
        && is_empty_or_absent(spec.and_then(|s| s.get("selector")))
        && is_empty_or_absent(spec.and_then(|s| s.get("targetRef")))
        && is_empty_or_absent(spec.and_then(|s| s.get("targetRefs")))
        && is_empty_or_absent(spec.and_then(|s| s.get("rules")))
}

fn namespace_default_deny_authz(sources: &Sources, report: &mut Report) {
    for ((env, ns), workload) in workload_namespaces(sources) {
        let file = Path::new("policies/istio")
            .join(&env)
            .join(&ns)
            .join("default-deny.yaml");
        let found = sources
            .documents
            .iter()
            .any(|d| d.file == file && d.namespace() == ns && is_default_deny_authz(d));
        if !found {
            report.fail(
                workload,
                format!(
                    "namespace {ns} has workloads but {} holds no default-deny AuthorizationPolicy (ALLOW, no selector, no rules)",
                    file.display()
                ),
            );
        }
    }
}

/// A NetworkPolicy over every pod of its namespace that denies ingress (and egress, when it
/// names Egress) unless another policy allows it.
fn is_default_deny_network(doc: &Document) -> bool {
    let spec = doc.value.get("spec");
    let types: Vec<&str> = seq(spec.and_then(|s| s.get("policyTypes")))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    doc.kind() == "NetworkPolicy"
        && spec
            .and_then(|s| s.get("podSelector"))
            .is_some_and(|p| is_empty_or_absent(Some(p)))
        && types.contains(&"Ingress")
        && is_empty_or_absent(spec.and_then(|s| s.get("ingress")))
        && (!types.contains(&"Egress") || is_empty_or_absent(spec.and_then(|s| s.get("egress"))))
}

fn namespace_default_deny_network(sources: &Sources, report: &mut Report) {
    for ((env, ns), workload) in workload_namespaces(sources) {
        let found = sources
            .documents
            .iter()
            .any(|d| d.env() == env && d.namespace() == ns && is_default_deny_network(d));
        if !found {
            report.fail(
                workload,
                format!(
                    "namespace {ns} has workloads but no default-deny NetworkPolicy (podSelector {{}}, policyTypes [Ingress], no ingress rules)"
                ),
            );
        }
    }
}

fn no_secrets(sources: &Sources, report: &mut Report) {
    for doc in sources.documents.iter().filter(|d| d.kind() == "Secret") {
        report.fail(
            doc,
            "a Secret is committed to git: store the value in Secret Manager and render an ExternalSecret",
        );
    }
}

/// Istio's charts whose ValidatingWebhookConfiguration istiod patches once it is ready: `base`
/// ships `istiod-default-validator` with `failurePolicy: Ignore` and istiod sets it to `Fail`
/// (and fills `caBundle`); `istiod` ships its own validator and injector.
const ISTIO_PATCHED_CHARTS: &[&str] = &["base", "istiod"];

fn istio_webhooks_left_to_istiod(sources: &Sources, report: &mut Report) {
    for doc in sources
        .documents
        .iter()
        .filter(|d| d.kind() == "Application")
    {
        let chart = doc.str_at(&["spec", "source", "chart"]).unwrap_or("");
        let repo = doc.str_at(&["spec", "source", "repoURL"]).unwrap_or("");
        if !repo.contains("istio") || !ISTIO_PATCHED_CHARTS.contains(&chart) {
            continue;
        }
        let ignored: Vec<&str> = seq(get(&doc.value, &["spec", "ignoreDifferences"]))
            .iter()
            .filter(|entry| {
                entry.get("kind").and_then(Value::as_str) == Some("ValidatingWebhookConfiguration")
            })
            .flat_map(|entry| {
                seq(entry.get("jqPathExpressions"))
                    .iter()
                    .chain(seq(entry.get("jsonPointers")))
                    .filter_map(Value::as_str)
            })
            .collect();
        for field in ["failurePolicy", "caBundle"] {
            if !ignored.iter().any(|path| path.ends_with(field)) {
                report.fail(
                    doc,
                    format!(
                        "istiod patches the webhooks' {field} of the `{chart}` chart: add a ValidatingWebhookConfiguration ignoreDifferences entry for `.webhooks[]?...{field}` (render it with patched_webhooks in xtask/src/render/components.rs)"
                    ),
                );
            }
        }
        let respects = seq(get(&doc.value, &["spec", "syncPolicy", "syncOptions"]))
            .iter()
            .any(|o| o.as_str() == Some("RespectIgnoreDifferences=true"));
        if !respects {
            report.fail(
                doc,
                "without syncOptions RespectIgnoreDifferences=true a sync still reverts the ignored webhook fields",
            );
        }
    }
}

/// Charts of data tools: the shop runs without them, so they never gate its sync waves.
const DATA_TOOL_CHARTS: &[&str] = &["airflow", "metabase", "spark-operator"];

/// cert-manager kinds whose health waits on the outside world (DNS, the ACME server).
const CERT_MANAGER_KINDS: &[&str] = &["Certificate", "Issuer", "ClusterIssuer"];

/// Whether Application `app`, whose source is the folder `path`, syncs `file`: directly in the
/// folder, or below it with `directory.recurse`, and named by `directory.include` when it is set
/// (literal names, or a `{a,b}` list of them, as the renderer writes it).
fn syncs_file(app: &Document, path: &Path, file: &Path) -> bool {
    let recurse = get(&app.value, &["spec", "source", "directory", "recurse"])
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let placed = if recurse {
        file.starts_with(path)
    } else {
        file.parent() == Some(path)
    };
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let included = app
        .str_at(&["spec", "source", "directory", "include"])
        .is_none_or(|include| {
            include
                .trim_start_matches('{')
                .trim_end_matches('}')
                .split(',')
                .any(|pattern| pattern.trim() == name)
        });
    placed && included
}

fn nothing_outside_gates_the_shop(sources: &Sources, report: &mut Report) {
    use crate::render::{ARGOCD_APPS, ARGOCD_INDEPENDENT};
    for app in sources
        .documents
        .iter()
        .filter(|d| d.kind() == "Application")
    {
        let parts: Vec<&str> = app.file.iter().filter_map(|p| p.to_str()).collect();
        match parts.as_slice() {
            ["argocd", _, folder, _] if *folder == ARGOCD_INDEPENDENT => {
                independent_application(app, report);
            }
            ["argocd", _, folder, _] if *folder == ARGOCD_APPS => {
                waved_application(sources, app, report);
            }
            _ => {}
        }
    }
}

/// An Application under the independent root: no wave, retried without limit.
fn independent_application(app: &Document, report: &mut Report) {
    let wave = ["metadata", "annotations", "argocd.argoproj.io/sync-wave"];
    if get(&app.value, &wave).is_some() {
        report.fail(
            app,
            "has a sync wave under the independent root, where nothing waits in waves: remove it",
        );
    }
    let limit = get(&app.value, &["spec", "syncPolicy", "retry", "limit"]).and_then(Value::as_i64);
    if limit.is_none_or(|limit| limit >= 0) {
        report.fail(
            app,
            "must retry until what it needs exists (syncPolicy.retry.limit: -1): nothing orders it after its dependencies",
        );
    }
}

/// An Application in the root's sync waves: no data tool, nothing cert-manager issues.
fn waved_application(sources: &Sources, app: &Document, report: &mut Report) {
    let chart = app.str_at(&["spec", "source", "chart"]).unwrap_or("");
    if DATA_TOOL_CHARTS.contains(&chart) {
        report.fail(
            app,
            format!(
                "the data tool `{chart}` is in the root's sync waves, so the shop waits for it: render it under argocd/<env>/independent/ (wave: None in xtask/src/render/components.rs)"
            ),
        );
    }
    let Some(path) = app.str_at(&["spec", "source", "path"]) else {
        return;
    };
    for doc in sources.documents.iter().filter(|d| {
        CERT_MANAGER_KINDS.contains(&d.kind())
            && d.str_at(&["apiVersion"])
                .is_some_and(|v| v.starts_with("cert-manager.io/"))
            && syncs_file(app, Path::new(path), &d.file)
    }) {
        report.fail(
            app,
            format!(
                "syncs {} {} ({}), whose health waits on DNS and the ACME server, in the root's sync waves: render its Application under argocd/<env>/independent/",
                doc.kind(),
                doc.name(),
                doc.file.display()
            ),
        );
    }
}

/// The remote keys an ExternalSecret reads (`data[].remoteRef.key`, `dataFrom[].extract.key`).
fn remote_keys(doc: &Document) -> Vec<&str> {
    let spec = doc.value.get("spec");
    let data = seq(spec.and_then(|s| s.get("data")))
        .iter()
        .filter_map(|d| get(d, &["remoteRef", "key"]));
    let from = seq(spec.and_then(|s| s.get("dataFrom")))
        .iter()
        .filter_map(|d| get(d, &["extract", "key"]));
    data.chain(from).filter_map(Value::as_str).collect()
}

/// The Secret Manager secret ids one workload of a `platform.auto.tfvars.json` owns: the values
/// of its `secrets` and `*_secrets` maps (those terraform/bootstrap writes) and every
/// `*_secret_id` string, nested ones included (the store and database URLs Terraform writes).
fn workload_secret_ids(workload: &serde_json::Value) -> BTreeSet<String> {
    use serde_json::Value as Json;
    let mut ids = BTreeSet::new();
    for (key, value) in workload.as_object().into_iter().flatten() {
        match value {
            Json::String(id) if key.ends_with("_secret_id") => {
                ids.insert(id.clone());
            }
            Json::Object(secrets) if key == "secrets" || key.ends_with("_secrets") => {
                ids.extend(secrets.values().filter_map(Json::as_str).map(str::to_owned));
            }
            Json::Object(_) => ids.extend(workload_secret_ids(value)),
            _ => {}
        }
    }
    ids
}

/// What one environment's `platform.auto.tfvars.json` declares, as the secret rules read it.
struct TerraformInputs {
    /// (namespace, Kubernetes service account) → the secret ids that workload owns: each entry
    /// of `services` (its service account is named after it) and of `components`
    /// (`kubernetes_service_account`).
    workloads: BTreeMap<(String, String), BTreeSet<String>>,
    /// Every secret id: those of every workload, and a top-level `secrets` variable (a map keyed
    /// by id, or a list of ids).
    secret_ids: BTreeSet<String>,
}

impl TerraformInputs {
    fn read(tfvars: &serde_json::Value) -> Self {
        use serde_json::Value as Json;
        let mut workloads = BTreeMap::new();
        let mut secret_ids = BTreeSet::new();
        for (group, account_key) in [
            ("services", None),
            ("components", Some("kubernetes_service_account")),
        ] {
            let entries = tfvars.get(group).and_then(Json::as_object);
            for (name, workload) in entries.into_iter().flatten() {
                let owned = workload_secret_ids(workload);
                secret_ids.extend(owned.iter().cloned());
                let namespace = workload.get("namespace").and_then(Json::as_str);
                let account = match account_key {
                    Some(key) => workload.get(key).and_then(Json::as_str),
                    None => Some(name.as_str()),
                };
                if let (Some(namespace), Some(account)) = (namespace, account) {
                    workloads.insert((namespace.to_owned(), account.to_owned()), owned);
                }
            }
        }
        match tfvars.get("secrets") {
            Some(Json::Array(items)) => {
                secret_ids.extend(items.iter().filter_map(Json::as_str).map(str::to_owned));
            }
            Some(Json::Object(map)) => secret_ids.extend(map.keys().cloned()),
            _ => {}
        }
        Self {
            workloads,
            secret_ids,
        }
    }
}

/// Each environment's Terraform inputs, read once per rule.
fn terraform_inputs(sources: &Sources) -> BTreeMap<&str, TerraformInputs> {
    sources
        .tfvars
        .iter()
        .map(|(env, tfvars)| (env.as_str(), TerraformInputs::read(tfvars)))
        .collect()
}

fn external_secret_keys_in_terraform(sources: &Sources, report: &mut Report) {
    let terraform = terraform_inputs(sources);
    for doc in sources
        .documents
        .iter()
        .filter(|d| d.kind() == "ExternalSecret")
    {
        let env = doc.env();
        let Some(inputs) = terraform.get(env) else {
            report.fail(
                doc,
                format!(
                    "{} is missing, so its remote keys cannot be checked against Terraform's secrets",
                    tfvars_path(env).display()
                ),
            );
            continue;
        };
        for key in remote_keys(doc) {
            if !inputs.secret_ids.contains(key) {
                report.fail(
                    doc,
                    format!(
                        "remote key {key} is not a secret in {}: Terraform does not create it",
                        tfvars_path(env).display()
                    ),
                );
            }
        }
    }
    if !sources
        .documents
        .iter()
        .any(|d| d.kind() == "ExternalSecret")
    {
        report.pending("no ExternalSecret is rendered yet");
    }
}

/// The SecretStore an ExternalSecret reads through, when it names one rendered in its namespace.
fn secret_store_of<'a>(sources: &'a Sources, external: &Document) -> Option<&'a Document> {
    let (kind, name) = store_ref(external);
    sources.documents.iter().find(|d| {
        kind == "SecretStore"
            && d.kind() == "SecretStore"
            && d.env() == external.env()
            && d.namespace() == external.namespace()
            && d.name() == name
    })
}

/// The Kubernetes ServiceAccount a SecretStore authenticates as (GCP Workload Identity).
fn store_account(store: &Document) -> Option<&str> {
    store.str_at(&[
        "spec",
        "provider",
        "gcpsm",
        "auth",
        "workloadIdentity",
        "serviceAccountRef",
        "name",
    ])
}

/// The Secrets a pod spec reads: `env[].valueFrom.secretKeyRef`, `envFrom[].secretRef`, secret
/// and projected volumes.
fn pod_secrets(pod: &Value) -> BTreeSet<&str> {
    let mut names = BTreeSet::new();
    for (_, container) in containers(pod) {
        for var in seq(container.get("env")) {
            names.extend(get(var, &["valueFrom", "secretKeyRef", "name"]).and_then(Value::as_str));
        }
        for from in seq(container.get("envFrom")) {
            names.extend(get(from, &["secretRef", "name"]).and_then(Value::as_str));
        }
    }
    for volume in seq(pod.get("volumes")) {
        names.extend(get(volume, &["secret", "secretName"]).and_then(Value::as_str));
        for source in seq(get(volume, &["projected", "sources"])) {
            names.extend(get(source, &["secret", "name"]).and_then(Value::as_str));
        }
    }
    names
}

fn workload_secrets_own_identity(sources: &Sources, report: &mut Report) {
    for doc in sources.workloads() {
        let Some(pod) = pod_spec(doc) else { continue };
        let account = pod
            .get("serviceAccountName")
            .and_then(Value::as_str)
            .unwrap_or("default");
        for secret in pod_secrets(pod) {
            let writer = sources.documents.iter().find(|d| {
                d.kind() == "ExternalSecret"
                    && d.env() == doc.env()
                    && d.namespace() == doc.namespace()
                    && d.str_at(&["spec", "target", "name"]).unwrap_or(d.name()) == secret
            });
            // Secrets of other writers (cert-manager, operators) carry no Google identity.
            let Some(writer) = writer else { continue };
            // A store that is missing or names no account is external-secret-own-store's finding.
            if let Some(reads_as) = secret_store_of(sources, writer).and_then(store_account)
                && reads_as != account
            {
                report.fail(
                    doc,
                    format!(
                        "reads Secret {secret}, fetched by ExternalSecret {} as ServiceAccount {reads_as}, but its pods run as {account}",
                        writer.name(),
                    ),
                );
            }
        }
    }
}

/// The store an ExternalSecret names: (kind, name); ESO's default kind is SecretStore.
fn store_ref(doc: &Document) -> (&str, &str) {
    let kind = doc
        .str_at(&["spec", "secretStoreRef", "kind"])
        .unwrap_or("SecretStore");
    let name = doc
        .str_at(&["spec", "secretStoreRef", "name"])
        .unwrap_or("");
    (kind, name)
}

fn external_secret_own_store(sources: &Sources, report: &mut Report) {
    let terraform = terraform_inputs(sources);
    for doc in sources
        .documents
        .iter()
        .filter(|d| d.kind() == "ClusterSecretStore")
    {
        report.fail(
            doc,
            "a ClusterSecretStore lets ExternalSecrets of every namespace read through one identity: render a SecretStore per workload instead",
        );
    }
    for doc in sources
        .documents
        .iter()
        .filter(|d| d.kind() == "ExternalSecret")
    {
        let overrides = seq(get(&doc.value, &["spec", "data"]))
            .iter()
            .chain(seq(get(&doc.value, &["spec", "dataFrom"])))
            .any(|entry| get(entry, &["sourceRef", "storeRef"]).is_some());
        if overrides {
            report.fail(
                doc,
                "an entry names its own store (sourceRef.storeRef): read every key through the ExternalSecret's secretStoreRef",
            );
            continue;
        }
        let finds = seq(get(&doc.value, &["spec", "dataFrom"]))
            .iter()
            .any(|entry| entry.get("find").is_some());
        if finds {
            report.fail(
                doc,
                "dataFrom.find reads whatever secrets match, which no review can check: name each key (data[].remoteRef.key)",
            );
            continue;
        }
        let (kind, name) = store_ref(doc);
        if kind != "SecretStore" {
            report.fail(
                doc,
                format!("reads through {kind} {name}: use the SecretStore of its own workload, in its namespace"),
            );
            continue;
        }
        let Some(store) = secret_store_of(sources, doc) else {
            report.fail(
                doc,
                format!(
                    "SecretStore {name} is not rendered in namespace {}",
                    doc.namespace()
                ),
            );
            continue;
        };
        let Some(account) = store_account(store) else {
            report.fail(
                doc,
                format!(
                    "SecretStore {name} names no workloadIdentity.serviceAccountRef, so it reads as the operator's own identity: name the workload's ServiceAccount"
                ),
            );
            continue;
        };
        let Some(inputs) = terraform.get(doc.env()) else {
            // external-secret-keys-in-terraform reports the missing file.
            continue;
        };
        let key = (doc.namespace().to_owned(), account.to_owned());
        let Some(owned) = inputs.workloads.get(&key) else {
            report.fail(
                doc,
                format!(
                    "SecretStore {name} authenticates as {}/{account}, which has no Google identity in {}",
                    doc.namespace(),
                    tfvars_path(doc.env()).display()
                ),
            );
            continue;
        };
        for remote in remote_keys(doc) {
            // A key Terraform does not create at all is external-secret-keys-in-terraform's.
            if !owned.contains(remote) && inputs.secret_ids.contains(remote) {
                report.fail(
                    doc,
                    format!(
                        "remote key {remote} is not a secret of {}/{account}, the identity SecretStore {name} reads as",
                        doc.namespace()
                    ),
                );
            }
        }
    }
}
