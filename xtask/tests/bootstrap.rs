//! The path from an empty GCP project to a running shop (issue: 14 manual steps, and an Airflow
//! that blocked every environment), checked offline:
//!
//! - terraform/bootstrap's locals are evaluated by `terraform console` (no provider needed):
//!   each child environment's zone is delegated from its parent's, and a read-only deploy key
//!   is made for exactly the secrets Argo CD and Airflow's git-sync read;
//! - the GitHub variables bootstrap sets are the ones the workflows read, under the names the
//!   github-oidc module gives the identities;
//! - the environment roots install exactly the Argo CD chart the rendered Application names,
//!   and the roots chart Helm can install verbatim;
//! - the ingress gateway takes Terraform's address by name;
//! - Airflow keeps its metadata on Cloud SQL and its keys in Secret Manager, migrates in an Argo
//!   CD Sync hook, and git-syncs a folder that exists, over SSH.
//!
//! Each check is a function over text or documents, proved by a bad case.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use hcl::{Body, Expression};
use serde_yaml_ng::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is in the workspace")
        .to_path_buf()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn rendered() -> (xtask::model::Platform, xtask::codegen::Files) {
    let platform = xtask::load_platform().expect("platform.toml is valid");
    let files = xtask::render::render(&platform).expect("the platform renders");
    (platform, files)
}

fn file<'a>(files: &'a xtask::codegen::Files, path: &str) -> &'a str {
    files
        .get(path)
        .unwrap_or_else(|| panic!("{path} is not rendered"))
}

fn yaml_documents(text: &str) -> Vec<Value> {
    use serde::Deserialize as _;
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

fn at<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(value, |v, key| &v[*key])
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path).as_str()
}

// --- terraform/bootstrap's locals, evaluated ---------------------------------------------------

/// Every `locals` attribute of the bootstrap root, by name, as HCL text.
fn bootstrap_locals() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let dir = repo_root().join("terraform/bootstrap");
    for entry in std::fs::read_dir(&dir).expect("terraform/bootstrap") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "tf") {
            continue;
        }
        let body: Body = hcl::parse(&std::fs::read_to_string(&path).expect("read")).expect("HCL");
        for block in body.blocks().filter(|b| b.identifier() == "locals") {
            for attribute in block.body().attributes() {
                let text = hcl::format::to_string(attribute.expr()).expect("format");
                out.insert(attribute.key().to_owned(), text);
            }
        }
    }
    out
}

/// Evaluates `expression` over the bootstrap's locals with `environments` replaced by the given
/// JSON (what the tfvars files would give), in a root with no provider: `terraform console`
/// needs no download. Locals that read data sources or files are left out.
fn evaluate(environments: &serde_json::Value, expression: &str) -> serde_json::Value {
    let mut locals = bootstrap_locals();
    locals.retain(|_, text| !text.contains("data.") && !text.contains("file("));
    locals.insert(
        "environments".into(),
        format!(
            "jsondecode({})",
            serde_json::to_string(&environments.to_string()).unwrap()
        ),
    );
    let mut main = String::from("locals {\n");
    for (name, text) in &locals {
        main.push_str(&format!("  {name} = {text}\n"));
    }
    main.push_str("}\n");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("main.tf"), main).expect("write");
    let mut child = Command::new("terraform")
        .arg("console")
        .current_dir(dir.path())
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("terraform is installed");
    {
        use std::io::Write as _;
        let stdin = child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "jsonencode({expression})").expect("write");
    }
    let out = child.wait_with_output().expect("terraform console");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "terraform console failed: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The value is the one line that is a quoted string; warnings may surround it.
    let line = stdout
        .lines()
        .find(|l| l.starts_with('"'))
        .unwrap_or_default();
    let quoted: String = serde_json::from_str(line).unwrap_or_else(|_| {
        panic!(
            "terraform console printed no value: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    serde_json::from_str(&quoted).expect("JSON")
}

/// The environments as terraform/bootstrap reads them: every rendered tfvars file.
fn tfvars_environments(files: &xtask::codegen::Files) -> serde_json::Value {
    let mut environments = serde_json::Map::new();
    for (path, contents) in files.iter() {
        let path = path.to_string_lossy();
        if let Some(env) = path
            .strip_prefix("terraform/envs/")
            .and_then(|p| p.strip_suffix("/platform.auto.tfvars.json"))
        {
            environments.insert(
                env.to_owned(),
                serde_json::from_str(contents).expect("JSON"),
            );
        }
    }
    serde_json::Value::Object(environments)
}

/// Issue: staging's zone had to be delegated by hand (NS and DS at prod's zone).
#[test]
fn bootstrap_delegates_each_child_zone_from_its_parent() {
    let (_, files) = rendered();
    let environments = tfvars_environments(&files);
    let parents = evaluate(&environments, "local.parents");
    assert_eq!(
        parents,
        serde_json::json!({"prod": null, "staging": "prod"}),
        "staging.shop.example.com is delegated from prod's zone; the apex from the registrar"
    );
    // A deeper environment goes under the nearest one, not the apex.
    let env = |domain: &str| serde_json::json!({"domain": domain, "github_repository": null});
    let nested = serde_json::json!({
        "prod": env("shop.example.com"),
        "staging": env("staging.shop.example.com"),
        "dev": env("dev.staging.shop.example.com"),
        "other": env("shop.example.org"),
    });
    let parents = evaluate(&nested, "local.parents");
    assert_eq!(
        parents,
        serde_json::json!({"dev": "staging", "other": null, "prod": null, "staging": "prod"})
    );
    // Bootstrap names each zone as the environment root and the ClusterIssuer look it up.
    let dns = read("terraform/bootstrap/dns.tf");
    assert!(dns.contains(r#"name       = "${each.value.platform_name}-${each.key}""#));
    assert!(
        read("terraform/modules/platform/main.tf")
            .contains(r#"name = "${var.platform_name}-${var.environment}""#)
    );
}

/// Issue: Argo CD got repository credentials by hand (a token pasted into `argocd repo add`).
#[test]
fn bootstrap_makes_a_deploy_key_for_every_secret_that_needs_one() {
    let (platform, files) = rendered();
    let environments = tfvars_environments(&files);
    let keys = evaluate(&environments, "local.deploy_keys");
    let got: BTreeSet<(String, String)> = keys
        .as_object()
        .expect("a map")
        .values()
        .map(|k| {
            (
                k["project"].as_str().unwrap().to_owned(),
                k["secret_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut want = BTreeSet::new();
    for env in platform.environments.values() {
        want.insert((env.gcp_project.clone(), "argocd-repository-key".to_owned()));
        for identity in xtask::render::component_identities() {
            for secret in identity.secrets_from(xtask::render::SecretSource::Bootstrap) {
                want.insert((env.gcp_project.clone(), secret.id.clone()));
            }
        }
    }
    assert!(want.contains(&("shop-prod-123".into(), "airflow-git-ssh-key".into())));
    assert_eq!(
        got, want,
        "one read-only deploy key per reader and environment"
    );
    // Not on GitHub: no key at all.
    let mut elsewhere = environments.clone();
    for env in elsewhere.as_object_mut().unwrap().values_mut() {
        env["github_repository"] = serde_json::Value::Null;
    }
    assert_eq!(
        evaluate(&elsewhere, "local.deploy_keys"),
        serde_json::json!({})
    );
    assert!(read("terraform/bootstrap/deploy_keys.tf").contains("read_only  = true"));
}

// --- GitHub variables ------------------------------------------------------------------------

/// The `vars.NAME` the workflows read.
fn workflow_variables(texts: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for text in texts {
        for (i, _) in text.match_indices("vars.") {
            let name: String = text[i + 5..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// The variable names github.tf sets for these environments: its `"GCP_…"` keys, with
/// `${upper(env)}` expanded.
fn bootstrap_variables(github_tf: &str, environments: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in github_tf.match_indices("\"GCP_") {
        let rest = &github_tf[i + 1..];
        let name = &rest[..rest.find('"').expect("closing quote")];
        if name.contains("${upper(env)}") {
            for env in environments {
                out.insert(name.replace("${upper(env)}", &env.to_uppercase()));
            }
        } else {
            out.insert(name.to_owned());
        }
    }
    for line in github_tf.lines() {
        if let Some(name) = line
            .trim()
            .strip_prefix("GCP_")
            .and_then(|l| l.split(' ').next())
        {
            out.insert(format!("GCP_{name}"));
        }
    }
    out
}

/// Issue: the workflows' variables were set by hand with `gh variable set`.
#[test]
fn bootstrap_sets_every_variable_the_workflows_read() {
    let (platform, _) = rendered();
    let environments: Vec<&str> = platform.environments.keys().map(String::as_str).collect();
    let workflows: Vec<String> = std::fs::read_dir(repo_root().join(".github/workflows"))
        .expect("workflows")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("read"))
        .collect();
    let github_tf = read("terraform/bootstrap/github.tf");
    let read_by_workflows = workflow_variables(&workflows);
    let set = bootstrap_variables(&github_tf, &environments);
    assert!(read_by_workflows.contains("GCP_WIF_PROVIDER_STAGING"));
    let missing: Vec<_> = read_by_workflows.difference(&set).collect();
    assert!(missing.is_empty(), "bootstrap does not set {missing:?}");
    // A workflow that reads a variable nobody sets is caught.
    let bad = workflow_variables(&["${{ vars.GCP_MISSING }}".to_owned()]);
    assert!(!bad.is_subset(&set));

    // The names are those github-oidc gives the pool, the provider and the accounts.
    let oidc_variables = read("terraform/modules/github-oidc/variables.tf");
    let oidc_main = read("terraform/modules/github-oidc/main.tf");
    let default_of = |name: &str| -> String {
        let body: Body = hcl::parse(&oidc_variables).expect("HCL");
        let block = body
            .blocks()
            .find(|b| b.identifier() == "variable" && b.labels()[0].as_str() == name)
            .unwrap_or_else(|| panic!("variable {name}"));
        match block
            .body()
            .attributes()
            .find(|a| a.key() == "default")
            .map(|a| a.expr())
        {
            Some(Expression::String(s)) => s.clone(),
            other => panic!("default of {name}: {other:?}"),
        }
    };
    assert!(github_tf.contains(&format!(
        r#"oidc_pool         = "{}""#,
        default_of("pool_id")
    )));
    assert!(github_tf.contains(&format!(
        r#"ci_account_prefix = "{}""#,
        default_of("service_account_prefix")
    )));
    assert!(oidc_main.contains(r#"workload_identity_pool_provider_id = "github""#));
    assert!(github_tf.contains(r#"oidc_provider     = "github""#));
}

// --- Argo CD, installed by Terraform ---------------------------------------------------------

/// What is wrong with the roots chart for Helm to install it verbatim.
fn roots_chart_problems(chart_yaml: &str, root_yaml: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let chart = yaml_documents(chart_yaml);
    let chart = chart.first().cloned().unwrap_or(Value::Null);
    if str_at(&chart, &["apiVersion"]) != Some("v2") {
        problems.push("Chart.yaml: apiVersion must be v2".into());
    }
    if str_at(&chart, &["version"]).is_none_or(|v| v.split('.').count() != 3) {
        problems.push("Chart.yaml: version must be x.y.z".into());
    }
    if root_yaml.contains("{{") {
        problems.push("root.yaml: Helm would read `{{` as a template".into());
    }
    let roots: Vec<Value> = yaml_documents(root_yaml)
        .into_iter()
        .filter(|d| str_at(d, &["kind"]) == Some("Application"))
        .collect();
    if roots.len() != 2 {
        problems.push(format!(
            "root.yaml: {} Applications, want the two roots",
            roots.len()
        ));
    }
    problems
}

/// Issue: Argo CD was installed by hand (`helm upgrade --install`, an unpinned chart at first),
/// and the root applied with `kubectl`.
#[test]
fn terraform_installs_the_argocd_chart_and_the_roots_the_rendered_files_name() {
    let (platform, files) = rendered();
    for env in platform.environments.values() {
        let app_path = format!("argocd/{}/independent/argocd.yaml", env.name);
        let app = &yaml_documents(file(&files, &app_path))[0];
        // What terraform/envs/<env>/main.tf reads from it.
        let version = str_at(app, &["spec", "source", "targetRevision"]).expect("version");
        assert!(
            version.split('.').all(|p| p.parse::<u32>().is_ok()) && version.split('.').count() == 3,
            "{app_path}: the chart version is exact, not {version:?}"
        );
        assert_eq!(str_at(app, &["spec", "source", "chart"]), Some("argo-cd"));
        assert!(str_at(app, &["spec", "source", "repoURL"]).is_some());
        assert_eq!(
            str_at(app, &["spec", "destination", "namespace"]),
            Some("argocd")
        );
        let values = at(app, &["spec", "source", "helm", "valuesObject"]);
        assert!(
            str_at(
                values,
                &[
                    "configs",
                    "cm",
                    "resource.customizations.health.argoproj.io_Application"
                ]
            )
            .is_some_and(|lua| lua.contains("obj.status.health")),
            "{app_path}: sync waves need Argo CD to assess Application health"
        );
        assert!(
            at(app, &["metadata", "finalizers"]).is_null(),
            "{app_path}: deleting Argo CD's own Application must not uninstall it"
        );
        let chart = file(&files, &format!("argocd/{}/bootstrap/Chart.yaml", env.name));
        let root = file(
            &files,
            &format!("argocd/{}/bootstrap/templates/root.yaml", env.name),
        );
        assert_eq!(roots_chart_problems(chart, root), Vec::<String>::new());
        // Argo CD reads the repository over SSH, as the key bootstrap registers allows.
        for doc in yaml_documents(root) {
            if let Some(url) = str_at(&doc, &["spec", "source", "repoURL"]) {
                assert_eq!(url, platform.git_ssh_url());
            }
        }
        let main = read(&format!("terraform/envs/{}/main.tf", env.name));
        assert!(main.contains("/independent/argocd.yaml"), "{}", env.name);
        assert!(main.contains("/bootstrap\""), "{}", env.name);
    }
    let chart = "apiVersion: v2\nname: r\nversion: 1.0.0\n";
    assert!(!roots_chart_problems(chart, "kind: Application\nx: {{ y }}\n").is_empty());
    assert!(!roots_chart_problems("apiVersion: v1\n", "").is_empty());
}

/// Issue: the ingress address was copied from `terraform output` into platform.toml.
#[test]
fn the_ingress_gateway_takes_terraforms_address_by_name() {
    let (platform, files) = rendered();
    for env in platform.environments.values() {
        let path = format!("argocd/{}/apps/istio-ingressgateway.yaml", env.name);
        let app = &yaml_documents(file(&files, &path))[0];
        let service = at(app, &["spec", "source", "helm", "valuesObject", "service"]);
        assert_eq!(
            str_at(
                service,
                &[
                    "annotations",
                    "networking.gke.io/load-balancer-ip-addresses"
                ]
            ),
            Some(format!("{}-ingress", platform.cluster_name(env)).as_str()),
            "{path}"
        );
        assert!(
            service.get("loadBalancerIP").is_none(),
            "{path}: no address in git"
        );
    }
    // The dns module reserves `<name>-ingress`, and the platform module names it
    // `<platform>-<env>` (the cluster's name).
    assert!(
        read("terraform/modules/dns/main.tf").contains(r#"name         = "${var.name}-ingress""#)
    );
}

// --- Airflow ---------------------------------------------------------------------------------

/// What is wrong with Airflow's values, given the keys of the Secret its identity's
/// ExternalSecret makes and whether the DAG folder exists.
fn airflow_problems(
    values: &Value,
    secret: &str,
    keys: &BTreeSet<String>,
    dags_exist: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    if at(values, &["postgresql", "enabled"]).as_bool() != Some(false) {
        problems.push("the chart's bundled PostgreSQL is not off".to_owned());
    }
    for (path, key) in [
        (&["data", "metadataSecretName"][..], "connection"),
        (&["fernetKeySecretName"][..], "fernet-key"),
        (&["jwtSecretName"][..], "jwt-secret"),
        (&["apiSecretKeySecretName"][..], "api-secret-key"),
        (&["dags", "gitSync", "sshKeySecret"][..], "gitSshKey"),
    ] {
        if str_at(values, path) != Some(secret) {
            problems.push(format!(
                "{} is not the ExternalSecret's Secret {secret}",
                path.join(".")
            ));
        } else if !keys.contains(key) {
            problems.push(format!("Secret {secret} has no key {key}"));
        }
    }
    let migrate = at(values, &["migrateDatabaseJob"]);
    if migrate["useHelmHooks"].as_bool() != Some(false)
        || str_at(migrate, &["jobAnnotations", "argocd.argoproj.io/hook"]) != Some("Sync")
    {
        problems.push("the migration is not an Argo CD Sync hook".to_owned());
    }
    if at(values, &["createUserJob", "enabled"]).as_bool() != Some(false) {
        problems
            .push("createUserJob would make a user with the chart's default password".to_owned());
    }
    let git = at(values, &["dags", "gitSync"]);
    if !str_at(git, &["repo"]).is_some_and(|r| r.starts_with("git@")) {
        problems.push("git-sync does not use SSH (the deploy key)".to_owned());
    }
    if str_at(git, &["knownHosts"]).is_none() {
        problems.push("git-sync does not check the host key".to_owned());
    }
    if !dags_exist {
        problems.push("git-sync's subPath is not a folder of this repository".to_owned());
    }
    problems
}

/// Issue: Airflow's bundled PostgreSQL image could not be pulled, its keys were made by chart
/// hooks (the fernet key rotated on every sync), the migration ran as a Helm hook Argo CD runs
/// too late, and git-sync pointed at a folder that did not exist, without credentials.
#[test]
fn airflow_keeps_its_metadata_on_cloud_sql_and_its_keys_in_secret_manager() {
    let (platform, files) = rendered();
    let identity = xtask::render::component_identities()
        .into_iter()
        .find(|i| i.name == "airflow")
        .expect("Airflow has an identity");
    for env in platform.environments.values() {
        let app = &yaml_documents(file(
            &files,
            &format!("argocd/{}/independent/airflow.yaml", env.name),
        ))[0];
        let values = at(app, &["spec", "source", "helm", "valuesObject"]);
        let secrets = file(
            &files,
            &format!("gitops/{}/platform/airflow/airflow.yaml", env.name),
        );
        let external = yaml_documents(secrets)
            .into_iter()
            .find(|d| str_at(d, &["kind"]) == Some("ExternalSecret"))
            .expect("Airflow's ExternalSecret");
        let target = str_at(&external, &["spec", "target", "name"])
            .expect("target")
            .to_owned();
        let keys: BTreeSet<String> = at(&external, &["spec", "data"])
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|d| str_at(d, &["secretKey"]).map(str::to_owned))
            .collect();
        let dags = str_at(values, &["dags", "gitSync", "subPath"]).expect("subPath");
        let dags_exist = repo_root().join(dags).is_dir();
        assert_eq!(
            airflow_problems(values, &target, &keys, dags_exist),
            Vec::<String>::new(),
            "{}",
            env.name
        );
        // Terraform makes the database, its IAM user and URL, and generates the keys.
        let tfvars: serde_json::Value = serde_json::from_str(file(
            &files,
            &format!("terraform/envs/{}/platform.auto.tfvars.json", env.name),
        ))
        .expect("JSON");
        let component = &tfvars["components"]["airflow"];
        assert_eq!(component["database"]["name"], "airflow");
        assert_eq!(
            component["database"]["url"],
            identity.database_url(env).unwrap().as_str()
        );
        let url = component["database"]["url"].as_str().expect("URL");
        let user_info = url
            .split_once("://")
            .and_then(|(_, rest)| rest.rsplit_once('@'))
            .map(|(user, _)| user)
            .expect("a user");
        assert!(!user_info.contains(':'), "no password in {url}");
        assert_eq!(
            tfvars["generated_secrets"]["airflow-fernet-key"],
            "fernet-key"
        );
        assert_eq!(
            component["bootstrap_secrets"]["gitSshKey"],
            "airflow-git-ssh-key"
        );
        // The grants job gives Airflow's IAM user its database.
        let grants = file(
            &files,
            &format!("gitops/{}/platform/database/db-grants.yaml", env.name),
        );
        assert!(grants.contains("\\connect \"airflow\""), "{}", env.name);
    }

    // Bad cases: each defect of the issue is reported.
    let good: Value = serde_yaml_ng::from_str(
        "postgresql: {enabled: false}\n\
         data: {metadataSecretName: s}\n\
         fernetKeySecretName: s\njwtSecretName: s\napiSecretKeySecretName: s\n\
         migrateDatabaseJob: {useHelmHooks: false, jobAnnotations: {argocd.argoproj.io/hook: Sync}}\n\
         createUserJob: {enabled: false}\n\
         dags: {gitSync: {repo: 'git@github.com:o/r.git', sshKeySecret: s, knownHosts: k}}\n",
    )
    .unwrap();
    let keys: BTreeSet<String> = [
        "connection",
        "fernet-key",
        "jwt-secret",
        "api-secret-key",
        "gitSshKey",
    ]
    .map(str::to_owned)
    .into();
    assert!(airflow_problems(&good, "s", &keys, true).is_empty());
    let bad = |change: &dyn Fn(&mut Value)| {
        let mut values = good.clone();
        change(&mut values);
        airflow_problems(&values, "s", &keys, true)
    };
    assert!(!bad(&|v| v["postgresql"]["enabled"] = Value::Bool(true)).is_empty());
    assert!(!bad(&|v| v["migrateDatabaseJob"]["useHelmHooks"] = Value::Bool(true)).is_empty());
    assert!(!bad(&|v| v["fernetKeySecretName"] = Value::from("airflow-fernet-key")).is_empty());
    assert!(
        !bad(&|v| v["dags"]["gitSync"]["repo"] = Value::from("https://github.com/o/r.git"))
            .is_empty()
    );
    assert!(!airflow_problems(&good, "s", &BTreeSet::new(), true).is_empty());
    assert!(!airflow_problems(&good, "s", &keys, false).is_empty());
}
