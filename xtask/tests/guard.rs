//! Tests of the guard rules (`xtask::guard`): every rule fires on a small bad repository and
//! stays quiet on a good one, the repository itself holds every rule, and
//! `policies/guard/README.md` lists exactly the rules the code has.
//!
//! The good repository is one namespace with a replicated Deployment, its
//! PodDisruptionBudget, a CronJob, the namespace's default-deny AuthorizationPolicy and
//! NetworkPolicy, an ExternalSecret reading through the workload's SecretStore, and the Terraform
//! inputs that declare its key (and a second workload's, in the same namespace). Each bad case
//! changes one line of it (or adds one file), so exactly one rule should fire.

use std::collections::BTreeMap;
use std::path::Path;

use xtask::guard::{self, RULES, Sources};

const DEPLOYMENT: &str = "gitops/prod/web/web.yaml";
const STORE_FILE: &str = "gitops/prod/web/store.yaml";
const AUTHZ: &str = "policies/istio/prod/web/default-deny.yaml";
const NETPOL: &str = "gitops/prod/namespaces/network-policies.yaml";
const TFVARS: &str = "terraform/envs/prod/platform.auto.tfvars.json";

const WEB: &str = r#"---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      securityContext:
        runAsUser: 65532
      serviceAccountName: web
      containers:
        - name: web
          image: registry.example.com/shop/web:0123abc
          env:
            - name: SESSION_KEY
              valueFrom:
                secretKeyRef: { name: web-secrets, key: session-key }
          livenessProbe:
            httpGet: { path: /healthz, port: 8080 }
          readinessProbe:
            httpGet: { path: /readyz, port: 8080 }
          resources:
            requests: { cpu: 100m, memory: 128Mi }
            limits: { cpu: 500m, memory: 256Mi }
          securityContext:
            runAsNonRoot: true
            readOnlyRootFilesystem: true
            allowPrivilegeEscalation: false
            capabilities:
              drop:
                - ALL
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
  namespace: web
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app: web
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: web
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          securityContext:
            runAsNonRoot: true
          containers:
            - name: nightly
              image: registry.example.com/shop/web@sha256:0000000000000000000000000000000000000000000000000000000000000000
              resources:
                requests: { cpu: 50m, memory: 64Mi }
                limits: { cpu: 200m, memory: 128Mi }
              securityContext:
                readOnlyRootFilesystem: true
                allowPrivilegeEscalation: false
                capabilities: { drop: [ALL] }
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: web-secrets
  namespace: web
spec:
  secretStoreRef: { kind: SecretStore, name: web }
  target: { name: web-secrets }
  data:
    - secretKey: session-key
      remoteRef:
        key: web-session-key
    - secretKey: DATABASE_URL
      remoteRef:
        key: web-database-url
"#;

/// The env entry of web's container that reads its ExternalSecret's Secret.
const WEB_SECRET_ENV: &str = "          env:
            - name: SESSION_KEY
              valueFrom:
                secretKeyRef: { name: web-secrets, key: session-key }
";

const STORE: &str = r"---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: web
  namespace: web
spec:
  provider:
    gcpsm:
      projectID: shop-prod
      auth:
        workloadIdentity:
          clusterLocation: europe-west1
          clusterName: shop-prod
          serviceAccountRef:
            name: web
";

const DEFAULT_DENY_AUTHZ: &str = r"---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: default-deny
  namespace: web
spec: {}
";

const DEFAULT_DENY_NETPOL: &str = r"---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: web
spec:
  podSelector: {}
  policyTypes:
    - Ingress
";

const TERRAFORM_INPUTS: &str = r#"{"services": {"web": {"namespace": "web", "secrets": {"session-key": "web-session-key"}, "database_url_secret_id": "web-database-url", "redis_url_secret_id": null}, "api": {"namespace": "web", "secrets": {"api-key": "api-key"}}}, "components": {"alerts": {"namespace": "monitoring", "kubernetes_service_account": "alerts", "secrets": {"hook": "alerts-hook"}}}}"#;

const ISTIO_BASE: &str = "argocd/prod/apps/istio-base.yaml";

/// Istio's `base` chart, leaving the webhook fields istiod patches to istiod.
const ISTIO_BASE_APP: &str = "---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: prod-istio-base
  namespace: argocd
spec:
  project: prod-components
  source:
    repoURL: https://istio-release.storage.googleapis.com/charts
    chart: base
    targetRevision: \"1.27.3\"
  destination:
    server: https://kubernetes.default.svc
    namespace: istio-system
  ignoreDifferences:
    - group: admissionregistration.k8s.io
      kind: ValidatingWebhookConfiguration
      jqPathExpressions:
        - .webhooks[]?.clientConfig.caBundle
        - .webhooks[]?.failurePolicy
  syncPolicy:
    automated: { prune: true, selfHeal: true }
    syncOptions:
      - CreateNamespace=true
      - RespectIgnoreDifferences=true
";

const CERTIFICATE: &str = "gitops/prod/platform/certificates/ingress.yaml";
const CERTIFICATES_APP: &str = "argocd/prod/independent/certificates.yaml";

/// The ingress certificate, and the Application that syncs it under the independent root.
const CERTIFICATE_YAML: &str = "---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: ingress-tls
  namespace: istio-ingress
spec:
  secretName: ingress-tls
  dnsNames: [shop.example.com]
  issuerRef: { kind: ClusterIssuer, name: letsencrypt }
";
const CERTIFICATES_APP_YAML: &str = "---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: prod-certificates
  namespace: argocd
spec:
  project: prod-components
  source:
    repoURL: https://github.com/example/shop.git
    targetRevision: prod
    path: gitops/prod/platform/certificates
    directory: { recurse: true }
  destination:
    server: https://kubernetes.default.svc
    namespace: istio-ingress
  syncPolicy:
    automated: { prune: true, selfHeal: true }
    retry:
      limit: -1
";

type Repo = BTreeMap<&'static str, String>;

fn good() -> Repo {
    BTreeMap::from([
        (DEPLOYMENT, WEB.to_owned()),
        (STORE_FILE, STORE.to_owned()),
        (AUTHZ, DEFAULT_DENY_AUTHZ.to_owned()),
        (NETPOL, DEFAULT_DENY_NETPOL.to_owned()),
        (TFVARS, TERRAFORM_INPUTS.to_owned()),
        (ISTIO_BASE, ISTIO_BASE_APP.to_owned()),
        (CERTIFICATE, CERTIFICATE_YAML.to_owned()),
        (CERTIFICATES_APP, CERTIFICATES_APP_YAML.to_owned()),
    ])
}

fn run(repo: &Repo) -> guard::Report {
    guard::run(&Sources::from_files(repo.iter().map(|(p, t)| (*p, t))).expect("valid inputs"))
}

/// The good repository with `from` replaced by `to` (once, and it must occur) in `file`.
fn edit(file: &'static str, from: &str, to: &str) -> Repo {
    let mut repo = good();
    let text = repo.get_mut(file).expect("a file of the good repository");
    assert!(text.contains(from), "{file} does not contain {from:?}");
    *text = text.replacen(from, to, 1);
    repo
}

/// One bad repository per case: (rule that must fire, what is wrong, the repository).
fn bad_cases() -> Vec<(&'static str, &'static str, Repo)> {
    let mut with_secret = good();
    with_secret.insert(
        "gitops/prod/web/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\n  namespace: web\nstringData:\n  password: hunter2\n".into(),
    );
    let mut without_tfvars = good();
    without_tfvars.remove(TFVARS);
    let mut without_netpol = good();
    without_netpol.insert(
        NETPOL,
        DEFAULT_DENY_NETPOL.replace("namespace: web", "namespace: other"),
    );
    let mut without_any_netpol = good();
    without_any_netpol.remove(NETPOL);
    let mut without_authz = good();
    without_authz.remove(AUTHZ);
    let mut with_cluster_store = good();
    with_cluster_store.insert(
        "gitops/prod/platform/store.yaml",
        STORE
            .replace("kind: SecretStore", "kind: ClusterSecretStore")
            .replace("  namespace: web\n", ""),
    );
    let mut without_store = good();
    without_store.remove(STORE_FILE);
    // web mounts the Secret of api, fetched through api's store as api.
    let mut api_secret_volume = good();
    api_secret_volume.insert(
        "gitops/prod/web/api.yaml",
        STORE.replace("name: web", "name: api")
            + "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: api-secrets\n  namespace: web\nspec:\n  secretStoreRef: { kind: SecretStore, name: api }\n  target: { name: api-secrets }\n  data:\n    - secretKey: api-key\n      remoteRef:\n        key: api-key\n",
    );
    let web = api_secret_volume.get_mut(DEPLOYMENT).expect("web");
    *web = web.replacen(
        "      containers:\n        - name: web\n",
        "      volumes:\n        - name: other\n          secret: { secretName: api-secrets }\n      containers:\n        - name: web\n",
        1,
    );
    // The pods and the store agree on the account, which Terraform does not know.
    let mut ghost_account = edit(
        STORE_FILE,
        "            name: web",
        "            name: ghost",
    );
    let web = ghost_account.get_mut(DEPLOYMENT).expect("web");
    *web = web.replace("serviceAccountName: web", "serviceAccountName: ghost");
    // The certificate's Application back in the root's waves.
    let mut certificates_in_waves = good();
    let app = certificates_in_waves
        .remove(CERTIFICATES_APP)
        .expect("the certificates Application");
    certificates_in_waves.insert("argocd/prod/apps/certificates.yaml", app);
    let mut airflow_in_waves = good();
    airflow_in_waves.insert(
        "argocd/prod/apps/airflow.yaml",
        ISTIO_BASE_APP
            .replace("istio-base", "airflow")
            .replace("chart: base", "chart: airflow"),
    );
    vec![
        (
            "nothing-outside-gates-the-shop",
            "the certificate in the root's sync waves",
            certificates_in_waves,
        ),
        (
            "nothing-outside-gates-the-shop",
            "Airflow in the root's sync waves",
            airflow_in_waves,
        ),
        (
            "nothing-outside-gates-the-shop",
            "an independent Application with a wave",
            edit(
                CERTIFICATES_APP,
                "  namespace: argocd\n",
                "  namespace: argocd\n  annotations:\n    argocd.argoproj.io/sync-wave: \"1\"\n",
            ),
        ),
        (
            "nothing-outside-gates-the-shop",
            "an independent Application that gives up",
            edit(CERTIFICATES_APP, "limit: -1", "limit: 10"),
        ),
        (
            "istio-webhooks-left-to-istiod",
            "istio-base reverting istiod's failurePolicy",
            edit(ISTIO_BASE, "        - .webhooks[]?.failurePolicy\n", ""),
        ),
        (
            "istio-webhooks-left-to-istiod",
            "ignored fields a sync still reverts",
            edit(ISTIO_BASE, "      - RespectIgnoreDifferences=true\n", ""),
        ),
        (
            "pdb-for-replicated-deployments",
            "PDB selects other pods",
            edit(
                DEPLOYMENT,
                "      app: web\n---\napiVersion: batch",
                "      app: api\n---\napiVersion: batch",
            ),
        ),
        (
            "namespace-default-deny-authz",
            "policy allows everything",
            edit(AUTHZ, "spec: {}", "spec:\n  rules:\n    - {}"),
        ),
        ("namespace-default-deny-authz", "no policy", without_authz),
        (
            "namespace-default-deny-network",
            "policy allows all ingress",
            edit(
                NETPOL,
                "    - Ingress",
                "    - Ingress\n  ingress:\n    - {}",
            ),
        ),
        (
            "namespace-default-deny-network",
            "policy in another namespace",
            without_netpol,
        ),
        (
            "namespace-default-deny-network",
            "no NetworkPolicy at all",
            without_any_netpol,
        ),
        ("no-secrets", "a committed Secret", with_secret),
        (
            "external-secret-keys-in-terraform",
            "key Terraform does not create",
            edit(TFVARS, "web-session-key", "web-other-key"),
        ),
        (
            "external-secret-keys-in-terraform",
            "no Terraform inputs",
            without_tfvars,
        ),
        (
            "external-secret-own-store",
            "reads through a ClusterSecretStore",
            edit(
                DEPLOYMENT,
                "kind: SecretStore, name: web",
                "kind: ClusterSecretStore, name: web",
            ),
        ),
        (
            "external-secret-own-store",
            "a ClusterSecretStore is committed",
            with_cluster_store,
        ),
        (
            "external-secret-own-store",
            "the SecretStore is not rendered",
            without_store,
        ),
        (
            "external-secret-own-store",
            "the store reads as the operator",
            edit(
                STORE_FILE,
                "          serviceAccountRef:\n            name: web\n",
                "",
            ),
        ),
        (
            "external-secret-own-store",
            "the store reads as an account without a Google identity",
            ghost_account,
        ),
        (
            "external-secret-own-store",
            "a key of another workload of the namespace",
            edit(DEPLOYMENT, "key: web-session-key", "key: api-key"),
        ),
        (
            "workload-secrets-own-identity",
            "pods of another ServiceAccount read the Secret",
            edit(
                DEPLOYMENT,
                "serviceAccountName: web",
                "serviceAccountName: api",
            ),
        ),
        (
            "workload-secrets-own-identity",
            "a secret volume of another workload's Secret",
            api_secret_volume,
        ),
        (
            "external-secret-own-store",
            "keys found by pattern",
            edit(
                DEPLOYMENT,
                "  data:\n    - secretKey: session-key\n",
                "  dataFrom:\n    - find: { name: { regexp: \".*\" } }\n  data:\n    - secretKey: session-key\n",
            ),
        ),
        (
            "external-secret-own-store",
            "an entry overrides the store",
            edit(
                DEPLOYMENT,
                "      remoteRef:\n        key: web-session-key\n",
                "      remoteRef:\n        key: web-session-key\n      sourceRef:\n        storeRef: { kind: ClusterSecretStore, name: everything }\n",
            ),
        ),
    ]
}

#[test]
fn the_good_repository_holds_every_rule() {
    let report = run(&good());
    let findings: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(report.pending.is_empty(), "{:#?}", report.pending);
}

#[test]
fn each_rule_fires_on_its_bad_manifest_and_only_it() {
    for (rule, what, repo) in bad_cases() {
        let report = run(&repo);
        let findings: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
        assert!(
            !report.of(rule).is_empty(),
            "{rule} stayed quiet on {what}: {findings:#?}"
        );
        assert!(
            report.findings.iter().all(|f| f.rule == rule),
            "{what} should break {rule} only: {findings:#?}"
        );
    }
}

#[test]
fn every_rule_has_a_bad_case() {
    let cases = bad_cases();
    for rule in RULES {
        assert!(
            cases.iter().any(|(id, ..)| *id == rule.id),
            "rule {} has no bad case in xtask/tests/guard.rs",
            rule.id
        );
    }
    let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), RULES.len(), "rule ids are unique");
}

#[test]
fn findings_name_file_object_rule_and_problem() {
    let report = run(&edit(
        ISTIO_BASE,
        "      - RespectIgnoreDifferences=true\n",
        "",
    ));
    let lines: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "argocd/prod/apps/istio-base.yaml: Application argocd/prod-istio-base: istio-webhooks-left-to-istiod: without syncOptions RespectIgnoreDifferences=true a sync still reverts the ignored webhook fields"
        ]
    );
}

#[test]
fn the_terraform_rule_is_pending_until_external_secrets_exist() {
    let mut repo = good();
    repo.insert(
        DEPLOYMENT,
        WEB.split("---\napiVersion: external-secrets.io")
            .next()
            .unwrap()
            .replace(WEB_SECRET_ENV, ""),
    );
    let report = run(&repo);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    let pending = report.pending.join("\n");
    assert!(
        pending.contains("external-secret-keys-in-terraform"),
        "{pending}"
    );
}

#[test]
fn the_repository_holds_every_rule() {
    let sources = Sources::load(&xtask::root()).expect("the repository's manifests parse");
    assert!(
        sources.documents.len() > 100 && sources.tfvars.len() == 2,
        "the repository's manifests and both environments' Terraform inputs are read"
    );
    let report = guard::run(&sources);
    let findings: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert!(
        findings.is_empty(),
        "{}\nfix platform.toml or the templates, then `cargo xtask render`",
        findings.join("\n")
    );
    assert!(
        report.pending.is_empty(),
        "no rule is left pending: {:?}",
        report.pending
    );
}

#[test]
fn the_readme_lists_the_rules_of_the_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let readme = std::fs::read_to_string(root.join("policies/guard/README.md")).unwrap();
    let listed = readme
        .split("<!-- rules:start -->\n")
        .nth(1)
        .and_then(|rest| rest.split("<!-- rules:end -->").next())
        .expect("policies/guard/README.md has <!-- rules:start --> and <!-- rules:end --> markers");
    let want = guard::rules_markdown();
    assert_eq!(
        listed, want,
        "policies/guard/README.md does not list the rules of xtask/src/guard.rs; put this between its markers:\n{want}"
    );
}

#[test]
fn bare_pods_in_json_manifests_are_checked_too() {
    let mut repo = good();
    repo.insert(
        "gitops/prod/lonely/debug.json",
        r#"{"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "debug", "namespace": "lonely"},
            "spec": {"containers": [{"name": "sh", "image": "busybox:1.36"}]}}"#
            .to_owned(),
    );
    let report = run(&repo);
    let rules: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
    assert!(rules.contains(&"namespace-default-deny-authz"), "{rules:?}");
    assert!(
        rules.contains(&"namespace-default-deny-network"),
        "{rules:?}"
    );
}
