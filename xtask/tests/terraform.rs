//! Static checks of `terraform/`, without providers: here `terraform init`/`validate` cannot
//! download the Google provider, so every `.tf` file is parsed with `hcl-rs` and checked for
//! what `validate` would catch between our own modules and roots, plus our conventions:
//!
//! - every module has `main.tf`, `variables.tf`, `outputs.tf`, `versions.tf` (with
//!   `required_version` and versioned `required_providers`) and `README.md`, and no `provider`;
//! - every variable has a type and a description, every output a description;
//! - every module call passes only variables the module declares and every variable without a
//!   default; every `module.X.Y` names a call `X` whose module declares output `Y`;
//! - every `moved` block moves to an address the configuration declares (through the module
//!   calls it names) from one it no longer declares;
//! - the rendered `platform.auto.tfvars.json` sets only variables the root declares, and every
//!   root variable without a default; each environment root's GCS backend is its project's
//!   `<project>-tfstate` bucket (what terraform/bootstrap creates);
//! - each README's inputs/outputs tables (between `<!-- BEGIN_TF_DOCS -->` and
//!   `<!-- END_TF_DOCS -->`) match the variables and outputs;
//! - every Google service account a rendered manifest names is one Terraform creates.
//!
//! Each check is a function over parsed text, so the negative tests feed it small bad examples.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hcl::{Block, Body, Expression};

const MODULE_FILES: &[&str] = &[
    "main.tf",
    "variables.tf",
    "outputs.tf",
    "versions.tf",
    "README.md",
];
const BEGIN_DOCS: &str = "<!-- BEGIN_TF_DOCS -->";
const END_DOCS: &str = "<!-- END_TF_DOCS -->";
/// Set to rewrite the README tables instead of failing on a difference.
const UPDATE_DOCS: &str = "UPDATE_TF_DOCS";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

// ---------------------------------------------------------------------------------------------
// The parsed configuration

/// One Terraform configuration directory (a module or a root), parsed.
#[derive(Debug, Default)]
struct Config {
    /// Path relative to the repository root, for messages.
    dir: String,
    /// Every file in the directory by name (`.tf` and others), with its text.
    files: BTreeMap<String, String>,
    variables: BTreeMap<String, Variable>,
    outputs: BTreeMap<String, Output>,
    calls: BTreeMap<String, Call>,
    providers: Vec<String>,
    /// Provider requirements without `source` or `version`, found while parsing.
    versions: Vec<String>,
    /// `(type, bucket)` of `terraform { backend "<type>" { bucket = ... } }`.
    backend: Option<(String, Option<String>)>,
    /// Number of `terraform {}` blocks, and whether one sets `required_version`.
    terraform_blocks: usize,
    required_version: bool,
    /// `(module, Some(output))` for `module.X.Y`, `(module, None)` for a bare `module.X`
    /// (outside `moved` blocks, whose addresses [`check_moved`] resolves).
    references: Vec<(String, Option<String>)>,
    /// `<type>.<name>` of every `resource` block.
    resources: BTreeSet<String>,
    /// `(from, to)` of every `moved` block, as written.
    moved: Vec<(String, String)>,
    problems: Vec<String>,
}

#[derive(Debug)]
struct Variable {
    type_: Option<String>,
    description: Option<String>,
    default: Option<String>,
}

#[derive(Debug)]
struct Output {
    description: Option<String>,
    sensitive: bool,
}

#[derive(Debug)]
struct Call {
    source: String,
    arguments: BTreeSet<String>,
}

/// Arguments of a `module` block that are not the module's variables.
const META_ARGUMENTS: &[&str] = &[
    "source",
    "version",
    "count",
    "for_each",
    "depends_on",
    "providers",
];

impl Config {
    /// Parses `files` (name → text) of the directory `dir`.
    fn parse(dir: &str, files: BTreeMap<String, String>) -> Self {
        let mut config = Config {
            dir: dir.to_owned(),
            ..Config::default()
        };
        for (name, text) in &files {
            if !name.ends_with(".tf") {
                continue;
            }
            match hcl::parse(text) {
                Ok(body) => config.add(name, &body),
                Err(e) => config
                    .problems
                    .push(format!("{dir}/{name}: not valid HCL: {e}")),
            }
            config.references.extend(module_references(text));
        }
        config.files = files;
        config
    }

    fn add(&mut self, file: &str, body: &Body) {
        for block in body.blocks() {
            let label = block
                .labels()
                .first()
                .map(|l| l.as_str().to_owned())
                .unwrap_or_default();
            match block.identifier() {
                "variable" => {
                    self.variables.insert(
                        label,
                        Variable {
                            type_: attribute(block, "type").map(expression_text),
                            description: string_attribute(block, "description"),
                            default: attribute(block, "default").map(expression_text),
                        },
                    );
                }
                "output" => {
                    self.outputs.insert(
                        label,
                        Output {
                            description: string_attribute(block, "description"),
                            sensitive: matches!(
                                attribute(block, "sensitive"),
                                Some(Expression::Bool(true))
                            ),
                        },
                    );
                }
                "module" => {
                    let arguments = block
                        .body()
                        .attributes()
                        .map(|a| a.key().to_owned())
                        .filter(|k| !META_ARGUMENTS.contains(&k.as_str()))
                        .collect();
                    self.calls.insert(
                        label,
                        Call {
                            source: string_attribute(block, "source").unwrap_or_default(),
                            arguments,
                        },
                    );
                }
                "provider" => self.providers.push(format!("{file}: provider \"{label}\"")),
                "resource" => {
                    let labels: Vec<&str> = block.labels().iter().map(|l| l.as_str()).collect();
                    self.resources.insert(labels.join("."));
                }
                "moved" => {
                    let address = |key| attribute(block, key).map(expression_text);
                    match (address("from"), address("to")) {
                        (Some(from), Some(to)) => self.moved.push((from, to)),
                        _ => self.problems.push(format!(
                            "{}/{file}: a moved block without from or to",
                            self.dir
                        )),
                    }
                }
                "terraform" => {
                    self.terraform_blocks += 1;
                    self.required_version |= attribute(block, "required_version").is_some();
                    self.versions.extend(versions_problems(file, block));
                    if let Some(backend) =
                        block.body().blocks().find(|b| b.identifier() == "backend")
                    {
                        let kind = backend.labels().first().map(|l| l.as_str().to_owned());
                        self.backend = Some((
                            kind.unwrap_or_default(),
                            string_attribute(backend, "bucket"),
                        ));
                    }
                }
                _ => {}
            }
        }
    }

    /// Loads every file of a directory of the repository.
    fn load(dir: &Path) -> Self {
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                files.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
        let relative = dir.strip_prefix(repo_root()).unwrap_or(dir);
        Self::parse(&relative.display().to_string(), files)
    }
}

fn attribute<'a>(block: &'a Block, key: &str) -> Option<&'a Expression> {
    block
        .body()
        .attributes()
        .find(|a| a.key() == key)
        .map(|a| a.expr())
}

fn string_attribute(block: &Block, key: &str) -> Option<String> {
    match attribute(block, key)? {
        Expression::String(s) => Some(s.clone()),
        other => Some(expression_text(other)),
    }
}

/// An expression on one line, as HCL.
fn expression_text(expr: &Expression) -> String {
    let text = hcl::format::to_string(expr).unwrap_or_else(|_| format!("{expr:?}"));
    let mut one_line = String::new();
    for word in text.split_whitespace() {
        if !one_line.is_empty()
            && !one_line.ends_with(['(', '{', '['])
            && !word.starts_with([')', '}', ']', ','])
        {
            one_line.push(' ');
        }
        one_line.push_str(word);
    }
    one_line
}

/// Problems of a `terraform {}` block: a required provider without `source` or `version`.
fn versions_problems(file: &str, block: &Block) -> Vec<String> {
    let mut problems = Vec::new();
    for providers in block
        .body()
        .blocks()
        .filter(|b| b.identifier() == "required_providers")
    {
        for provider in providers.body().attributes() {
            let Expression::Object(object) = provider.expr() else {
                problems.push(format!(
                    "{file}: provider {} is not {{ source, version }}",
                    provider.key()
                ));
                continue;
            };
            for key in ["source", "version"] {
                if !object.keys().any(|k| k.to_string() == key) {
                    problems.push(format!(
                        "{file}: required provider {} has no {key}",
                        provider.key()
                    ));
                }
            }
        }
    }
    problems
}

/// Every `module.X` and `module.X.Y` (also `module.X[0].Y`, `module.X[*].Y`) in HCL text,
/// skipping comment lines and top-level `moved { ... }` blocks (their addresses name module
/// calls of the past or of child modules; [`check_moved`] checks them).
fn module_references(text: &str) -> Vec<(String, Option<String>)> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut references = Vec::new();
    let mut in_moved = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if in_moved {
            in_moved = line.trim_end() != "}";
            continue;
        }
        if line.starts_with("moved") && line.trim_end().ends_with('{') {
            in_moved = true;
            continue;
        }
        if trimmed.starts_with('#') || trimmed.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("module.") {
            let before = rest[..at].chars().next_back();
            let after = &rest[at + "module.".len()..];
            rest = after;
            if before.is_some_and(|c| is_ident(c) || c == '.') {
                continue;
            }
            let name: String = after.chars().take_while(|c| is_ident(*c)).collect();
            if name.is_empty() {
                continue;
            }
            let mut tail = &after[name.len()..];
            if tail.starts_with('[') {
                tail = tail.find(']').map_or("", |end| &tail[end + 1..]);
            }
            let output = tail
                .strip_prefix('.')
                .map(|t| t.chars().take_while(|c| is_ident(*c)).collect::<String>())
                .filter(|o| !o.is_empty());
            references.push((name, output));
        }
    }
    references
}

// ---------------------------------------------------------------------------------------------
// The checks: each returns its problems, one line each

/// A module: the five files, no provider blocks, versions pinned.
fn check_module_layout(module: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    for file in MODULE_FILES {
        if !module.files.contains_key(*file) {
            problems.push(format!("{}: {file} is missing", module.dir));
        }
    }
    for provider in &module.providers {
        problems.push(format!(
            "{}/{provider}: modules configure no providers (the roots do)",
            module.dir
        ));
    }
    problems.extend(check_versions(module));
    problems
}

/// `required_version` and versioned providers, in a `terraform {}` block.
fn check_versions(config: &Config) -> Vec<String> {
    let mut problems: Vec<String> = config
        .versions
        .iter()
        .map(|p| format!("{}/{p}", config.dir))
        .collect();
    if config.terraform_blocks == 0 {
        problems.push(format!(
            "{}: no terraform {{ required_version, required_providers }} block",
            config.dir
        ));
    } else if !config.required_version {
        problems.push(format!(
            "{}: terraform {{}} has no required_version",
            config.dir
        ));
    }
    problems
}

/// Every variable typed and described, every output described.
fn check_declarations(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, v) in &config.variables {
        if v.type_.is_none() {
            problems.push(format!("{}: variable {name:?} has no type", config.dir));
        }
        if v.description.as_deref().is_none_or(str::is_empty) {
            problems.push(format!(
                "{}: variable {name:?} has no description",
                config.dir
            ));
        }
    }
    for (name, o) in &config.outputs {
        if o.description.as_deref().is_none_or(str::is_empty) {
            problems.push(format!(
                "{}: output {name:?} has no description",
                config.dir
            ));
        }
    }
    problems
}

/// Module calls against the modules they call; `module.X.Y` against the calls and outputs.
/// `modules` is keyed by each call's `source` as written.
fn check_calls(caller: &Config, modules: &BTreeMap<String, &Config>) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, call) in &caller.calls {
        let Some(module) = modules.get(&call.source) else {
            problems.push(format!(
                "{}: module {name:?} calls {:?}, which is not a module of this repository",
                caller.dir, call.source
            ));
            continue;
        };
        for argument in &call.arguments {
            if !module.variables.contains_key(argument) {
                problems.push(format!(
                    "{}: module {name:?} passes {argument:?}, which {} does not declare",
                    caller.dir, module.dir
                ));
            }
        }
        for (variable, v) in &module.variables {
            if v.default.is_none() && !call.arguments.contains(variable) {
                problems.push(format!(
                    "{}: module {name:?} does not pass the required variable {variable:?} of {}",
                    caller.dir, module.dir
                ));
            }
        }
    }
    for (name, output) in &caller.references {
        let Some(call) = caller.calls.get(name) else {
            problems.push(format!(
                "{}: module.{name} is referenced but there is no module {name:?}",
                caller.dir
            ));
            continue;
        };
        let (Some(output), Some(module)) = (output, modules.get(&call.source)) else {
            continue;
        };
        if !module.outputs.contains_key(output) {
            problems.push(format!(
                "{}: module.{name}.{output} is referenced but {} has no output {output:?}",
                caller.dir, module.dir
            ));
        }
    }
    problems
}

/// The directory a module call's `source` names, from the caller's directory (both relative to
/// the repository root).
fn source_dir(caller_dir: &str, source: &str) -> String {
    let mut parts: Vec<&str> = caller_dir.split('/').collect();
    for part in source.split('/') {
        match part {
            "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// Whether `address` (`module.a[0].module.b.type.name`, `module.a`, `type.name`) is declared in
/// `config`, following module calls through `modules` (keyed by directory); `Err` says which
/// part is not.
fn resolve_address(
    config: &Config,
    address: &str,
    modules: &BTreeMap<String, &Config>,
) -> Result<(), String> {
    let parts: Vec<&str> = address
        .split('.')
        .map(|p| p.split('[').next().unwrap_or(p))
        .collect();
    let mut current = config;
    let mut rest = parts.as_slice();
    while let ["module", name, tail @ ..] = rest {
        let Some(call) = current.calls.get(*name) else {
            return Err(format!("{} has no module {name:?}", current.dir));
        };
        let dir = source_dir(&current.dir, &call.source);
        let Some(module) = modules.get(&dir) else {
            return Err(format!("{} is not a module of this repository", dir));
        };
        current = module;
        rest = tail;
    }
    match rest {
        [] => Ok(()),
        [kind, name] if current.resources.contains(&format!("{kind}.{name}")) => Ok(()),
        [kind, name] => Err(format!("{} has no resource {kind}.{name}", current.dir)),
        _ => Err(format!("{address:?} is not a resource or module address")),
    }
}

/// `moved` blocks: each `to` is declared (through the calls it names) and no `from` still is.
/// `modules` is keyed by directory.
fn check_moved(config: &Config, modules: &BTreeMap<String, &Config>) -> Vec<String> {
    let mut problems = Vec::new();
    for (from, to) in &config.moved {
        if let Err(why) = resolve_address(config, to, modules) {
            problems.push(format!(
                "{}: moved to {to}, which is not declared: {why}",
                config.dir
            ));
        }
        if resolve_address(config, from, modules).is_ok() {
            problems.push(format!(
                "{}: moved from {from}, which is still declared",
                config.dir
            ));
        }
    }
    problems
}

/// The rendered tfvars against the root's variables.
fn check_tfvars(root: &Config, file: &str, json: &str) -> Vec<String> {
    let value: serde_json::Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => return vec![format!("{}/{file}: not JSON: {e}", root.dir)],
    };
    let Some(object) = value.as_object() else {
        return vec![format!("{}/{file}: not a JSON object", root.dir)];
    };
    let mut problems = Vec::new();
    for key in object.keys() {
        if !root.variables.contains_key(key) {
            problems.push(format!(
                "{}/{file}: sets {key:?}, which the root does not declare as a variable",
                root.dir
            ));
        }
    }
    for (name, v) in &root.variables {
        if v.default.is_none() && !object.contains_key(name) {
            problems.push(format!(
                "{}: variable {name:?} has no default and {file} does not set it",
                root.dir
            ));
        }
    }
    problems
}

/// An environment root keeps its state in GCS, in the bucket terraform/bootstrap creates for its
/// project (`<project>-tfstate`).
fn check_backend(root: &Config, project: &str) -> Vec<String> {
    let want = format!("{project}-tfstate");
    match &root.backend {
        Some((kind, Some(bucket))) if kind == "gcs" && *bucket == want => Vec::new(),
        Some((kind, bucket)) => vec![format!(
            "{}: backend \"{kind}\" with bucket {bucket:?}; want backend \"gcs\" with bucket {want:?} (created by terraform/bootstrap)",
            root.dir
        )],
        None => vec![format!("{}: no backend: state would be local", root.dir)],
    }
}

/// The README block between the markers, as it should read.
fn docs_block(config: &Config) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = format!("{BEGIN_DOCS}\n## Inputs\n\n");
    if config.variables.is_empty() {
        out.push_str("No inputs.\n");
    } else {
        out.push_str("| Name | Description | Type | Default | Required |\n");
        out.push_str("|------|-------------|------|---------|:--------:|\n");
        for (name, v) in &config.variables {
            let default = v
                .default
                .as_deref()
                .map_or("n/a".to_owned(), |d| format!("`{}`", cell(d)));
            out.push_str(&format!(
                "| `{name}` | {} | `{}` | {default} | {} |\n",
                cell(v.description.as_deref().unwrap_or_default()),
                cell(v.type_.as_deref().unwrap_or("any")),
                if v.default.is_none() { "yes" } else { "no" },
            ));
        }
    }
    out.push_str("\n## Outputs\n\n");
    if config.outputs.is_empty() {
        out.push_str("No outputs.\n");
    } else {
        out.push_str("| Name | Description | Sensitive |\n");
        out.push_str("|------|-------------|:---------:|\n");
        for (name, o) in &config.outputs {
            out.push_str(&format!(
                "| `{name}` | {} | {} |\n",
                cell(o.description.as_deref().unwrap_or_default()),
                if o.sensitive { "yes" } else { "no" },
            ));
        }
    }
    out.push_str(END_DOCS);
    out
}

/// The README's tables against the declarations: `Ok(None)` when fresh, `Ok(Some(new README))`
/// when stale, `Err` when the markers are missing.
fn check_docs(config: &Config) -> Result<Option<String>, String> {
    let readme = config
        .files
        .get("README.md")
        .ok_or_else(|| format!("{}: README.md is missing", config.dir))?;
    let (Some(begin), Some(end)) = (readme.find(BEGIN_DOCS), readme.find(END_DOCS)) else {
        return Err(format!(
            "{}/README.md: no {BEGIN_DOCS} ... {END_DOCS} block",
            config.dir
        ));
    };
    let have = &readme[begin..end + END_DOCS.len()];
    let want = docs_block(config);
    Ok((have != want).then(|| {
        format!(
            "{}{want}{}",
            &readme[..begin],
            &readme[end + END_DOCS.len()..]
        )
    }))
}

// ---------------------------------------------------------------------------------------------
// The repository

struct Repository {
    modules: Vec<Config>,
    roots: Vec<Config>,
}

fn repository() -> Repository {
    let terraform = repo_root().join("terraform");
    let dirs = |dir: &Path| -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        dirs.sort();
        dirs
    };
    let modules: Vec<Config> = dirs(&terraform.join("modules"))
        .iter()
        .map(|d| Config::load(d))
        .collect();
    let mut roots: Vec<Config> = dirs(&terraform.join("envs"))
        .iter()
        .map(|d| Config::load(d))
        .collect();
    roots.push(Config::load(&terraform.join("bootstrap")));
    Repository { modules, roots }
}

impl Repository {
    /// Modules by the `source` a configuration in `caller_dir` would write for them (the
    /// relative path from there).
    fn modules_seen_from(&self, caller_dir: &str) -> BTreeMap<String, &Config> {
        self.modules
            .iter()
            .map(|m| (relative_path(caller_dir, &m.dir), m))
            .collect()
    }

    fn all(&self) -> impl Iterator<Item = &Config> {
        self.modules.iter().chain(&self.roots)
    }

    /// Modules by directory (relative to the repository root).
    fn modules_by_dir(&self) -> BTreeMap<String, &Config> {
        self.modules.iter().map(|m| (m.dir.clone(), m)).collect()
    }
}

/// The relative path from directory `from` to `to` (both relative to the same root).
fn relative_path(from: &str, to: &str) -> String {
    let from: Vec<&str> = from.split('/').collect();
    let to: Vec<&str> = to.split('/').collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    parts.join("/")
}

fn assert_none(problems: Vec<String>) {
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn terraform_parses_and_modules_have_their_files_and_no_providers() {
    let repo = repository();
    assert!(
        repo.modules.len() >= 9,
        "found only {} modules",
        repo.modules.len()
    );
    let mut problems = Vec::new();
    for config in repo.all() {
        problems.extend(config.problems.iter().cloned());
    }
    for module in &repo.modules {
        problems.extend(check_module_layout(module));
    }
    for root in &repo.roots {
        problems.extend(check_versions(root));
        for file in ["README.md", "versions.tf", "variables.tf", "outputs.tf"] {
            if !root.files.contains_key(file) {
                problems.push(format!("{}: {file} is missing", root.dir));
            }
        }
    }
    assert_none(problems);
}

#[test]
fn every_variable_and_output_is_typed_and_described() {
    let repo = repository();
    assert_none(repo.all().flat_map(check_declarations).collect());
}

#[test]
fn module_calls_and_references_agree_with_the_modules() {
    let repo = repository();
    let mut problems = Vec::new();
    for root in &repo.roots {
        assert!(!root.calls.is_empty(), "{} calls no module", root.dir);
        problems.extend(check_calls(root, &repo.modules_seen_from(&root.dir)));
    }
    for module in &repo.modules {
        problems.extend(check_calls(module, &repo.modules_seen_from(&module.dir)));
    }
    for config in repo.all() {
        problems.extend(check_moved(config, &repo.modules_by_dir()));
    }
    assert_none(problems);
}

/// The environment roots differ only in settings: each calls terraform/modules/platform once
/// and declares no resources of its own, so what one environment gets the others get too.
#[test]
fn environment_roots_compose_the_platform_module() {
    let repo = repository();
    let platform = repo
        .modules
        .iter()
        .find(|m| m.dir == "terraform/modules/platform")
        .expect("terraform/modules/platform exists");
    let mut problems = Vec::new();
    for root in repo
        .roots
        .iter()
        .filter(|r| r.dir.starts_with("terraform/envs/"))
    {
        let sources: Vec<String> = root
            .calls
            .values()
            .map(|c| source_dir(&root.dir, &c.source))
            .collect();
        // The platform module, and Argo CD's install, which needs the root's Kubernetes and Helm
        // providers (configured from the platform module's cluster, so never inside it).
        let mut sources = sources;
        sources.sort();
        let want = ["terraform/modules/argocd".to_owned(), platform.dir.clone()];
        if sources != want {
            problems.push(format!(
                "{}: calls {sources:?}; want exactly one call each of {want:?}",
                root.dir
            ));
        }
        if !root.resources.is_empty() {
            problems.push(format!(
                "{}: declares resources {:?}; put them in {}",
                root.dir, root.resources, platform.dir
            ));
        }
        for output in platform.outputs.keys() {
            if !root.outputs.contains_key(output) {
                problems.push(format!(
                    "{}: does not forward output {output:?} of {}",
                    root.dir, platform.dir
                ));
            }
        }
    }
    assert_none(problems);
}

#[test]
fn rendered_tfvars_set_exactly_the_roots_variables_and_backends_match_the_projects() {
    let platform = xtask::load_platform().expect("platform.toml is valid");
    let files = xtask::render::render(&platform).expect("the platform renders");
    let repo = repository();
    let mut problems = Vec::new();
    for root in &repo.roots {
        if let Some(env) = root.dir.strip_prefix("terraform/envs/")
            && !platform.environments.contains_key(env)
        {
            problems.push(format!(
                "{}: platform.toml declares no [environments.{env}]; remove the root or declare it",
                root.dir
            ));
        }
    }
    for env in platform.environments.keys() {
        let dir = format!("terraform/envs/{env}");
        let root = repo
            .roots
            .iter()
            .find(|r| r.dir == dir)
            .unwrap_or_else(|| panic!("environment {env:?} has no Terraform root {dir}"));
        let file = "platform.auto.tfvars.json";
        let json = files
            .get(&format!("{dir}/{file}"))
            .unwrap_or_else(|| panic!("{dir}/{file} is not rendered"));
        problems.extend(check_tfvars(root, file, json));
        problems.extend(check_backend(root, &platform.environments[env].gcp_project));
    }
    assert_none(problems);
}

#[test]
fn readme_tables_match_variables_and_outputs() {
    let repo = repository();
    #[allow(clippy::disallowed_methods)] // a developer's switch for this test, not a setting
    let update = std::env::var_os(UPDATE_DOCS).is_some();
    let mut problems = Vec::new();
    for config in repo.all() {
        match check_docs(config) {
            Ok(None) => {}
            Ok(Some(fresh)) if update => {
                std::fs::write(repo_root().join(&config.dir).join("README.md"), fresh).unwrap();
            }
            Ok(Some(_)) => problems.push(format!(
                "{}/README.md: the inputs/outputs tables are stale; expected:\n{}\n",
                config.dir,
                docs_block(config)
            )),
            Err(problem) => problems.push(problem),
        }
    }
    assert!(
        problems.is_empty(),
        "\n{}\nrun `{UPDATE_DOCS}=1 cargo test -p xtask --test terraform readme` to rewrite the tables\n",
        problems.join("\n")
    );
}

/// The workflows use the CI account of least privilege: jobs outside a GitHub environment (pull
/// requests, the prod plan) only the read-only plan account, and plan without taking the lock;
/// the apply account of `<env>` only in jobs running in the environment `<env>` (the only
/// subject it admits); the images jobs only the images account, without a credentials file
/// where the workspace is a build context.
#[test]
fn workflows_use_the_ci_account_of_least_privilege() {
    let mut problems = Vec::new();
    for file in ["terraform.yml", "images.yml"] {
        let path = repo_root().join(".github/workflows").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let workflow: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        let jobs = workflow["jobs"].as_mapping().unwrap();
        for (name, job) in jobs {
            let name = name.as_str().unwrap();
            let environment = job["environment"].as_str();
            let steps = job["steps"].as_sequence().cloned().unwrap_or_default();
            let checks_out = steps.iter().any(|step| {
                step["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/checkout@"))
            });
            for step in &steps {
                let run = step["run"].as_str().unwrap_or_default();
                if environment.is_none() && run.contains(" plan ") && !run.contains("-lock=false") {
                    problems.push(format!(
                        "{file}/{name}: plans outside an environment without -lock=false"
                    ));
                }
                if !step["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("google-github-actions/auth@"))
                {
                    continue;
                }
                let account = step["with"]["service_account"].as_str().unwrap_or_default();
                // A matrix account stands for every account the matrix lists.
                let accounts: Vec<&str> = if account == "${{ matrix.service_account }}" {
                    job["strategy"]["matrix"]["include"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .map(|entry| entry["service_account"].as_str().unwrap_or_default())
                        .collect()
                } else {
                    vec![account]
                };
                for account in accounts {
                    let ok = match (file, environment) {
                        ("images.yml", _) => account == "${{ vars.GCP_IMAGES_SA }}",
                        (_, None) => account.starts_with("${{ vars.GCP_PLAN_SA_"),
                        (_, Some(env)) => {
                            account
                                == format!("${{{{ vars.GCP_APPLY_SA_{} }}}}", env.to_uppercase())
                        }
                    };
                    if !ok {
                        problems.push(format!(
                            "{file}/{name}: environment {environment:?} authenticates as {account:?}"
                        ));
                    }
                }
                if file == "images.yml"
                    && checks_out
                    && step["with"]["create_credentials_file"].as_bool() != Some(false)
                {
                    problems.push(format!(
                        "{file}/{name}: checks out a build context and lets auth write a credentials file into it"
                    ));
                }
            }
        }
        if text.contains("GCP_TERRAFORM_SA") {
            problems.push(format!(
                "{file}: names the former single CI account GCP_TERRAFORM_SA_*"
            ));
        }
    }
    assert_none(problems);
}

/// Every `<id>@<project>.iam.gserviceaccount.com` in rendered manifests is created by Terraform:
/// a service's `svc-<name>` or a platform component's (`components`), in the environment's
/// project.
#[test]
fn every_google_service_account_the_manifests_name_is_created_by_terraform() {
    let platform = xtask::load_platform().expect("platform.toml is valid");
    let files = xtask::render::render(&platform).expect("the platform renders");
    for env in platform.environments.values() {
        let tfvars = rendered_tfvars(&files, &env.name);
        let mut created: BTreeSet<String> = tfvars["services"]
            .as_object()
            .unwrap()
            .values()
            .map(|s| s["service_account_id"].as_str().unwrap().to_owned())
            .collect();
        created.extend(
            tfvars["components"]
                .as_object()
                .unwrap()
                .values()
                .map(|c| c["service_account_id"].as_str().unwrap().to_owned()),
        );
        // Accounts the platform module creates where the registry is (Cloud Build's).
        if tfvars["artifact_registry"]["project"].as_str() == Some(env.gcp_project.as_str()) {
            created.extend(
                registry_accounts()
                    .iter()
                    .map(|suffix| format!("{}-{suffix}", platform.name)),
            );
        }
        for s in platform.services.values() {
            let email = s.gcp_service_account(env);
            let id = email.split('@').next().unwrap();
            assert!(created.contains(id), "{email} is not created by Terraform");
        }
        let manifests = files
            .iter()
            .filter(|(path, _)| !path.starts_with("terraform"))
            .map(|(path, text)| (path.display().to_string(), text.as_str()));
        let (named, problems) = accounts_not_created(&created, &env.gcp_project, manifests);
        assert!(
            named > platform.services.len(),
            "only {named} service account mentions found in the {} manifests",
            env.name
        );
        assert_none(problems);
    }
}

/// The `<suffix>` of every `google_service_account` the platform module creates with
/// `account_id = "${var.platform_name}-<suffix>"` and `count = local.holds_registry ? 1 : 0`
/// (only in the project that holds the registry).
fn registry_accounts() -> Vec<String> {
    let main = std::fs::read_to_string(repo_root().join("terraform/modules/platform/main.tf"))
        .expect("the platform module");
    let body = hcl::parse(&main).expect("valid HCL");
    body.blocks()
        .filter(|b| {
            b.identifier() == "resource" && b.labels()[0].as_str() == "google_service_account"
        })
        .filter(|b| {
            attribute(b, "count")
                .map(expression_text)
                .is_some_and(|count| count.contains("local.holds_registry"))
        })
        .filter_map(|b| {
            let id = attribute(b, "account_id").map(expression_text)?;
            let suffix = id
                .trim_matches('"')
                .strip_prefix("${var.platform_name}-")?
                .to_owned();
            (!suffix.contains("${")).then_some(suffix)
        })
        .collect()
}

/// The rendered `platform.auto.tfvars.json` of `env`, parsed.
fn rendered_tfvars(files: &xtask::codegen::Files, env: &str) -> serde_json::Value {
    let path = format!("terraform/envs/{env}/platform.auto.tfvars.json");
    let text = files
        .get(&path)
        .unwrap_or_else(|| panic!("{path} is rendered"));
    serde_json::from_str(text).expect("the tfvars are JSON")
}

const SERVICE_ACCOUNT_SUFFIX: &str = ".iam.gserviceaccount.com";

/// How many Google service accounts of `project` the files name, and those not in `created`.
fn accounts_not_created<'a>(
    created: &BTreeSet<String>,
    project: &str,
    files: impl Iterator<Item = (String, &'a str)>,
) -> (usize, Vec<String>) {
    let mut named = 0;
    let mut problems = Vec::new();
    for (path, text) in files {
        for email in emails(text, SERVICE_ACCOUNT_SUFFIX) {
            let Some((id, account_project)) = email
                .trim_end_matches(SERVICE_ACCOUNT_SUFFIX)
                .split_once('@')
            else {
                continue;
            };
            if account_project != project {
                continue;
            }
            named += 1;
            if !created.contains(id) {
                problems.push(format!(
                    "{path} names {email}, which Terraform does not create"
                ));
            }
        }
    }
    (named, problems)
}

/// Every `local@domain<suffix>` in `text`.
fn emails(text: &str, suffix: &str) -> Vec<String> {
    let is_part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_';
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(suffix) {
        let end = from + at;
        let start = text[..end]
            .rfind(|c: char| !(is_part(c) || c == '@'))
            .map_or(0, |i| i + 1);
        let candidate = &text[start..end];
        if candidate.contains('@') {
            found.push(format!("{candidate}{suffix}"));
        }
        from = end + suffix.len();
    }
    found
}

// ---------------------------------------------------------------------------------------------
// Negative tests: each check fires on a small bad example

fn config(dir: &str, files: &[(&str, &str)]) -> Config {
    Config::parse(
        dir,
        files
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect(),
    )
}

const GOOD_VERSIONS: &str = r#"
terraform {
  required_version = ">= 1.6"
  required_providers {
    google = { source = "hashicorp/google", version = ">= 6.20, < 7.0" }
  }
}
"#;

const GOOD_VARIABLES: &str = r#"
variable "name" {
  type        = string
  description = "The name."
}
variable "size" {
  type        = number
  description = "The size."
  default     = 1
}
"#;

const GOOD_OUTPUTS: &str = r#"
output "id" {
  description = "The id."
  value       = "x"
}
"#;

fn good_module() -> Config {
    config(
        "terraform/modules/thing",
        &[
            ("main.tf", "locals {\n  x = 1\n}\n"),
            ("variables.tf", GOOD_VARIABLES),
            ("outputs.tf", GOOD_OUTPUTS),
            ("versions.tf", GOOD_VERSIONS),
            ("README.md", "# thing\n"),
        ],
    )
}

fn problems_of(root_main: &str) -> Vec<String> {
    let module = good_module();
    let root = config("terraform/envs/test", &[("main.tf", root_main)]);
    let modules = BTreeMap::from([("../../modules/thing".to_owned(), &module)]);
    check_calls(&root, &modules)
}

#[test]
fn the_good_example_passes_every_check() {
    let module = good_module();
    assert_none(check_module_layout(&module));
    assert_none(check_declarations(&module));
    assert_none(problems_of(
        r#"
module "thing" {
  source = "../../modules/thing"
  count  = 1
  name   = "a"
}
output "id" {
  description = "x"
  value       = module.thing[0].id
}
"#,
    ));
}

#[test]
fn a_missing_file_a_provider_block_or_unpinned_versions_are_reported() {
    let module = config(
        "terraform/modules/bad",
        &[
            ("main.tf", "provider \"google\" {\n  project = \"p\"\n}\n"),
            ("variables.tf", GOOD_VARIABLES),
            (
                "versions.tf",
                "terraform {\n  required_providers {\n    google = { source = \"hashicorp/google\" }\n  }\n}\n",
            ),
        ],
    );
    let problems = check_module_layout(&module).join("\n");
    for expected in [
        "outputs.tf is missing",
        "README.md is missing",
        "modules configure no providers",
        "has no required_version",
        "required provider google has no version",
    ] {
        assert!(problems.contains(expected), "{expected:?} in\n{problems}");
    }
}

#[test]
fn an_untyped_or_undescribed_variable_or_output_is_reported() {
    let module = config(
        "terraform/modules/bad",
        &[
            (
                "variables.tf",
                "variable \"a\" {\n  description = \"A.\"\n}\nvariable \"b\" {\n  type = string\n}\n",
            ),
            ("outputs.tf", "output \"c\" {\n  value = 1\n}\n"),
        ],
    );
    let problems = check_declarations(&module).join("\n");
    for expected in [
        "variable \"a\" has no type",
        "variable \"b\" has no description",
        "output \"c\" has no description",
    ] {
        assert!(problems.contains(expected), "{expected:?} in\n{problems}");
    }
}

#[test]
fn an_undeclared_argument_or_a_missing_required_variable_is_reported() {
    let problems = problems_of(
        r#"
module "thing" {
  source = "../../modules/thing"
  nmae   = "typo"
}
"#,
    )
    .join("\n");
    assert!(
        problems.contains("passes \"nmae\", which terraform/modules/thing does not declare"),
        "{problems}"
    );
    assert!(
        problems.contains("does not pass the required variable \"name\""),
        "{problems}"
    );
}

#[test]
fn an_unknown_module_or_output_reference_is_reported() {
    let problems = problems_of(
        r#"
module "thing" {
  source = "../../modules/thing"
  name   = "a"
}
module "other" {
  source = "../../modules/nothing"
}
locals {
  a = module.thing.identifier
  b = "${module.missing.id}"
}
"#,
    )
    .join("\n");
    for expected in [
        "module.thing.identifier is referenced but terraform/modules/thing has no output \"identifier\"",
        "module.missing is referenced but there is no module \"missing\"",
        "calls \"../../modules/nothing\", which is not a module of this repository",
    ] {
        assert!(problems.contains(expected), "{expected:?} in\n{problems}");
    }
}

#[test]
fn tfvars_keys_must_be_declared_and_required_variables_set() {
    let root = config("terraform/envs/test", &[("variables.tf", GOOD_VARIABLES)]);
    assert_none(check_tfvars(&root, "x.json", r#"{"name": "a"}"#));
    let problems = check_tfvars(&root, "x.json", r#"{"size": 2, "colour": "red"}"#).join("\n");
    assert!(
        problems.contains("sets \"colour\", which the root does not declare"),
        "{problems}"
    );
    assert!(
        problems.contains("variable \"name\" has no default and x.json does not set it"),
        "{problems}"
    );
}

#[test]
fn a_backend_other_than_the_projects_state_bucket_is_reported() {
    let backend = |text: &str| config("terraform/envs/test", &[("backend.tf", text)]);
    let good = backend("terraform {\n  backend \"gcs\" {\n    bucket = \"p-1-tfstate\"\n  }\n}\n");
    assert_none(check_backend(&good, "p-1"));
    let wrong = check_backend(&good, "p-2").join("\n");
    assert!(
        wrong.contains("want backend \"gcs\" with bucket \"p-2-tfstate\""),
        "{wrong}"
    );
    let local = backend("terraform {\n  required_version = \"~> 1.11\"\n}\n");
    assert!(check_backend(&local, "p-1")[0].contains("no backend"));
}

#[test]
fn a_stale_readme_table_is_reported_and_a_fresh_one_passes() {
    let mut module = good_module();
    module.files.insert(
        "README.md".into(),
        format!("# thing\n\n{BEGIN_DOCS}\n| old |\n{END_DOCS}\n"),
    );
    let fresh = check_docs(&module).unwrap().expect("the table is stale");
    assert!(
        fresh.contains("| `name` | The name. | `string` | n/a | yes |"),
        "{fresh}"
    );
    assert!(
        fresh.contains("| `size` | The size. | `number` | `1` | no |"),
        "{fresh}"
    );
    assert!(fresh.contains("| `id` | The id. | no |"), "{fresh}");
    module.files.insert("README.md".into(), fresh);
    assert_eq!(check_docs(&module), Ok(None));
    module
        .files
        .insert("README.md".into(), "# no markers\n".into());
    assert!(
        check_docs(&module)
            .unwrap_err()
            .contains("no <!-- BEGIN_TF_DOCS -->")
    );
}

#[test]
fn a_service_account_terraform_does_not_create_is_reported() {
    let created = BTreeSet::from(["svc-order".to_owned()]);
    let files = [(
        "a.yaml".to_owned(),
        "iam.gke.io/gcp-service-account: svc-order@p-1.iam.gserviceaccount.com\n\
             other: \"svc-ordr@p-1.iam.gserviceaccount.com\"\n\
             elsewhere: svc-x@other-project.iam.gserviceaccount.com\n",
    )];
    let (named, problems) = accounts_not_created(&created, "p-1", files.into_iter());
    assert_eq!(named, 2);
    assert_eq!(
        problems,
        ["a.yaml names svc-ordr@p-1.iam.gserviceaccount.com, which Terraform does not create"]
    );
}

#[test]
fn module_references_are_found_in_expressions_and_templates_but_not_comments() {
    let refs = module_references(
        "a = module.x.y\n# module.commented.out\nb = \"${module.t[0].u}\"\nc = [module.bare]\nd = one(module.s[*].o)\ne = var.module.z\n",
    );
    let want: Vec<(String, Option<String>)> = vec![
        ("x".into(), Some("y".into())),
        ("t".into(), Some("u".into())),
        ("bare".into(), None),
        ("s".into(), Some("o".into())),
    ];
    assert_eq!(refs, want);
}

#[test]
fn a_moved_block_to_an_undeclared_address_or_from_a_declared_one_is_reported() {
    let module = good_module();
    let mut module_with_resource = good_module();
    module_with_resource
        .resources
        .insert("google_thing.x".into());
    let root = config(
        "terraform/envs/test",
        &[(
            "main.tf",
            r#"
module "thing" {
  source = "../../modules/thing"
  name   = "a"
}
resource "google_thing" "y" {
}
moved {
  from = google_thing.x
  to   = module.thing.google_thing.x
}
moved {
  from = module.old
  to   = module.thing
}
moved {
  from = google_thing.y
  to   = module.thing.google_thing.z
}
moved {
  from = module.gone
  to   = module.missing.google_thing.x
}
"#,
        )],
    );
    assert!(
        root.references.iter().all(|(name, _)| name == "thing"),
        "{:?}",
        root.references
    );
    let modules = BTreeMap::from([("terraform/modules/thing".to_owned(), &module_with_resource)]);
    let problems = check_moved(&root, &modules).join("\n");
    for expected in [
        "moved to module.thing.google_thing.z, which is not declared: terraform/modules/thing has no resource google_thing.z",
        "moved from google_thing.y, which is still declared",
        "moved to module.missing.google_thing.x, which is not declared: terraform/envs/test has no module \"missing\"",
    ] {
        assert!(problems.contains(expected), "{expected:?} in\n{problems}");
    }
    assert_eq!(problems.lines().count(), 3, "{problems}");
    let without = BTreeMap::from([("terraform/modules/thing".to_owned(), &module)]);
    assert!(
        check_moved(&root, &without)
            .join("\n")
            .contains("moved to module.thing.google_thing.x, which is not declared")
    );
}

/// Issue: a secret a machine can make was left empty until a person filled it, and the service's
/// ExternalSecret (so its Deployment) waited. Every declared secret of kind `random` or
/// `ed25519-key` is in the rendered `generated_secrets`, the secrets module writes a version for
/// each kind from an ephemeral value through the write-only `secret_data_wo` (never
/// `secret_data`, which would keep it in state), and `provided` secrets are not generated.
#[test]
fn machine_made_secrets_are_generated_by_terraform_and_kept_out_of_state() {
    let platform = xtask::load_platform().expect("platform.toml is valid");
    let files = xtask::render::render(&platform).expect("the platform renders");
    let mut kinds_seen = BTreeSet::new();
    for env in platform.environments.values() {
        let tfvars = rendered_tfvars(&files, &env.name);
        let generated = tfvars["generated_secrets"].as_object().expect("a map");
        for s in platform.services.values() {
            for name in &s.secrets {
                let kind = platform.secrets[name].kind;
                let id = format!("{}-{name}", s.name);
                assert_eq!(
                    generated.get(&id).and_then(|k| k.as_str()),
                    kind.generated().then(|| kind.as_str()),
                    "{id} ({}) in {}",
                    kind.as_str(),
                    env.name
                );
                if kind.generated() {
                    kinds_seen.insert(kind.as_str());
                }
            }
        }
    }
    assert_eq!(
        kinds_seen,
        BTreeSet::from(["ed25519-key", "random"]),
        "platform.toml declares both machine-made kinds"
    );
    // The components' generated keys (Airflow's fernet key and API/JWT secrets) too.
    for env in platform.environments.values() {
        let tfvars = rendered_tfvars(&files, &env.name);
        for identity in xtask::render::component_identities() {
            for secret in &identity.secrets {
                if let xtask::render::SecretSource::Generated(kind) = secret.source {
                    assert_eq!(
                        tfvars["generated_secrets"][&secret.id].as_str(),
                        Some(kind),
                        "{} of {} in {}",
                        secret.id,
                        identity.name,
                        env.name
                    );
                    assert_eq!(
                        tfvars["components"][identity.name]["secrets"][secret.key].as_str(),
                        Some(secret.id.as_str()),
                        "Terraform creates {} in {}",
                        secret.id,
                        env.name
                    );
                }
            }
        }
    }

    let main = std::fs::read_to_string(repo_root().join("terraform/modules/secrets/main.tf"))
        .expect("the secrets module");
    let body = hcl::parse(&main).expect("valid HCL");
    let ephemeral: BTreeSet<String> = body
        .blocks()
        .filter(|b| b.identifier() == "ephemeral")
        .map(|b| b.labels()[0].as_str().to_owned())
        .collect();
    assert_eq!(
        ephemeral,
        BTreeSet::from(["random_password".to_owned(), "tls_private_key".to_owned()]),
        "generated values come from ephemeral resources"
    );
    let versions: Vec<&Block> = body
        .blocks()
        .filter(|b| {
            b.identifier() == "resource"
                && b.labels()[0].as_str() == "google_secret_manager_secret_version"
        })
        .collect();
    assert_eq!(versions.len(), 3, "one version resource per generated kind");
    for version in versions {
        let label = version.labels()[1].as_str();
        assert!(
            attribute(version, "secret_data").is_none(),
            "{label}: secret_data would keep the value in state"
        );
        let written = attribute(version, "secret_data_wo")
            .map(expression_text)
            .unwrap_or_default();
        assert!(
            written.contains("ephemeral."),
            "{label}: secret_data_wo must come from an ephemeral resource, not {written:?}"
        );
        assert!(
            attribute(version, "secret_data_wo_version").is_some(),
            "{label}"
        );
    }
}
