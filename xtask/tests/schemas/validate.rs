//! The schema check behind `tests/schemas.rs`: each YAML document is read as JSON (as kubectl
//! sends it), its `apiVersion`/`kind` picks a registered Rust type generated from the kind's real
//! schema, and the document is deserialized into that type. Three things are reported, each with
//! the field's path:
//!
//! - a field the schema does not have (misspelled or misplaced): `serde_ignored` sees every field
//!   the type skipped;
//! - a value of the wrong type or an enum value the schema does not allow: the serde error, located
//!   by `serde_path_to_error`;
//! - a missing required field: serde for the kopium-generated CRD types (required fields are not
//!   `Option`), and the OpenAPI `required` lists (k8s-openapi's `schemars` schemas) for core kinds,
//!   whose Rust types default missing required fields instead of failing.
//!
//! Not checked: patterns, formats, bounds and CEL rules of the schemas (the API server checks them
//! at apply time).

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// One problem found in one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, relative to the repository root.
    pub file: String,
    /// `Kind namespace/name` (or `document N` when the document has no kind or name).
    pub document: String,
    /// Where in the document, e.g. `spec.template.spec.containers[0].image` (`.` is the root).
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}: {}",
            self.file, self.document, self.path, self.message
        )
    }
}

/// A problem inside one document, before it is attributed to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    pub message: String,
}

type Check = fn(&Value) -> Vec<Finding>;

/// The kinds a manifest may contain, keyed by `(apiVersion, kind)`.
#[derive(Default)]
pub struct Registry {
    kinds: BTreeMap<(String, String), Check>,
}

impl Registry {
    /// A Kubernetes built-in kind from k8s-openapi.
    pub fn core<T>(mut self) -> Self
    where
        T: DeserializeOwned + JsonSchema + k8s_openapi::Resource,
    {
        self.insert(T::API_VERSION, T::KIND, check_core::<T>);
        self
    }

    /// A custom resource from a kopium-generated `kcr_*` crate.
    pub fn custom<T>(mut self) -> Self
    where
        T: DeserializeOwned + kube::Resource<DynamicType = ()>,
    {
        self.insert(
            &T::api_version(&()),
            &T::kind(&()),
            check_typed::<T> as Check,
        );
        self
    }

    fn insert(&mut self, api_version: &str, kind: &str, check: Check) {
        let key = (api_version.to_string(), kind.to_string());
        assert!(
            self.kinds.insert(key, check).is_none(),
            "{api_version} {kind} is registered twice"
        );
    }

    /// Every registered `(apiVersion, kind)`.
    pub fn kinds(&self) -> impl Iterator<Item = &(String, String)> {
        self.kinds.keys()
    }

    /// Checks one document (already parsed from YAML).
    pub fn check_document(&self, doc: &Value) -> Vec<Finding> {
        let api_version = doc.get("apiVersion").and_then(Value::as_str);
        let kind = doc.get("kind").and_then(Value::as_str);
        let (Some(api_version), Some(kind)) = (api_version, kind) else {
            return vec![finding(".", "the document has no apiVersion and kind")];
        };
        match self.kinds.get(&(api_version.to_string(), kind.to_string())) {
            Some(check) => check(doc),
            None => {
                let known: Vec<&str> = self
                    .kinds
                    .keys()
                    .filter(|(_, k)| k == kind)
                    .map(|(v, _)| v.as_str())
                    .collect();
                let hint = if known.is_empty() {
                    String::new()
                } else {
                    format!(" (registered versions of {kind}: {})", known.join(", "))
                };
                vec![finding(
                    ".",
                    &format!(
                        "no schema is registered for apiVersion {api_version} kind {kind}{hint}: \
                         add its type to xtask/tests/schemas/kinds.rs"
                    ),
                )]
            }
        }
    }

    /// Checks every document of one YAML file; `file` names it in the problems.
    /// Returns the number of documents checked and the problems found.
    pub fn check_yaml(&self, file: &str, text: &str) -> (usize, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut count = 0;
        for (index, de) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
            let doc = match Value::deserialize(de) {
                Ok(Value::Null) => continue, // an empty document (comments only)
                Ok(doc) => doc,
                Err(e) => {
                    problems.push(Problem {
                        file: file.to_string(),
                        document: format!("document {}", index + 1),
                        path: ".".into(),
                        message: format!("not valid YAML: {e}"),
                    });
                    break; // the parser cannot resume after an error
                }
            };
            count += 1;
            let document = label(&doc, index);
            problems.extend(self.check_document(&doc).into_iter().map(
                |Finding { path, message }| Problem {
                    file: file.to_string(),
                    document: document.clone(),
                    path,
                    message,
                },
            ));
        }
        (count, problems)
    }
}

/// `Deployment apps-core/order`, or `document 3` when kind or name is missing.
fn label(doc: &Value, index: usize) -> String {
    let kind = doc.get("kind").and_then(Value::as_str);
    let meta = doc.get("metadata");
    let name = meta.and_then(|m| m.get("name")).and_then(Value::as_str);
    let namespace = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str);
    match (kind, name, namespace) {
        (Some(kind), Some(name), Some(ns)) => format!("{kind} {ns}/{name}"),
        (Some(kind), Some(name), None) => format!("{kind} {name}"),
        _ => format!("document {}", index + 1),
    }
}

fn finding(path: &str, message: &str) -> Finding {
    Finding {
        path: path.to_string(),
        message: message.to_string(),
    }
}

fn check_core<T>(doc: &Value) -> Vec<Finding>
where
    T: DeserializeOwned + JsonSchema,
{
    let mut findings = check_typed::<T>(doc);
    let schema = k8s_openapi::schemars::schema_for!(T);
    let schema = schema.as_value();
    let empty = Map::new();
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    missing_required(doc, schema, defs, &mut String::new(), &mut findings);
    findings
}

/// The callback type is the same for every kind, so the deserializers of shared types (PodSpec,
/// ObjectMeta, ...) are compiled once, not once per kind.
type OnIgnored<'a> = &'a mut dyn FnMut(serde_ignored::Path<'_>);

fn check_typed<T: DeserializeOwned>(doc: &Value) -> Vec<Finding> {
    let mut unknown = Vec::new();
    let mut on_ignored = |path: serde_ignored::Path<'_>| {
        let path = render_ignored(&path);
        // The CRD types take apiVersion and kind from their Rust type, not from the document.
        if path != "apiVersion" && path != "kind" {
            unknown.push(finding(
                &path,
                "unknown field (not in the schema of this kind)",
            ));
        }
    };
    let result = {
        let mut on_ignored: OnIgnored<'_> = &mut on_ignored;
        let de = serde_ignored::Deserializer::new(doc, &mut on_ignored);
        serde_path_to_error::deserialize::<_, T>(de)
    };
    let mut findings = Vec::new();
    if let Err(e) = result {
        findings.push(finding(&e.path().to_string(), &e.inner().to_string()));
    }
    findings.extend(unknown);
    findings
}

/// serde_ignored's path in serde_path_to_error's notation: `a.b[0].c`.
fn render_ignored(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", render_ignored(parent)),
        Path::Map { parent, key } => join(&render_ignored(parent), key),
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => render_ignored(parent),
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Walks the document along its JSON schema and reports required properties that are absent
/// (or null). Types and unknown fields are left to serde.
fn missing_required(
    doc: &Value,
    schema: &Value,
    defs: &Map<String, Value>,
    path: &mut String,
    out: &mut Vec<Finding>,
) {
    let schema = resolve(schema, defs);
    match doc {
        Value::Object(fields) => {
            let required = schema.get("required").and_then(Value::as_array);
            for name in required.into_iter().flatten().filter_map(Value::as_str) {
                if fields.get(name).is_none_or(Value::is_null) {
                    let at = if path.is_empty() { "." } else { path.as_str() };
                    out.push(finding(at, &format!("missing required field `{name}`")));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (name, value) in fields {
                let Some(sub) = properties.and_then(|p| p.get(name)).or(additional) else {
                    continue;
                };
                let len = path.len();
                *path = join(path, name);
                missing_required(value, sub, defs, path, out);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            let Some(sub) = schema.get("items") else {
                return;
            };
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                missing_required(item, sub, defs, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Follows `$ref: #/$defs/NAME` links.
fn resolve<'a>(mut schema: &'a Value, defs: &'a Map<String, Value>) -> &'a Value {
    while let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| defs.get(name))
    {
        schema = target;
    }
    schema
}
