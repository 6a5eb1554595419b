//! Service images: which services need a new one, and the one each service runs.
//!
//! `images.toml` pins each built service to the commit its image was built from and the image's
//! digest (`cart = "<commit>@sha256:<digest>"`). The image pipeline writes it with
//! `cargo xtask images pin`, and `cargo xtask render` deploys `<registry>/<service>:<commit>@<digest>`
//! (Kubernetes pulls by the digest; the tag is for people). A service without a pin runs
//! `platform.image_tag`.
//!
//! `cargo xtask images affected` says which services need a new image: those without a pin, and
//! those whose inputs changed since the commit of their pin. A service's inputs are what its
//! binary is built from: the folders of the workspace crates it depends on (its own included,
//! found through Cargo.lock), the third-party packages of that same closure in Cargo.lock
//! (name, version, source and checksum), and the files every image shares (the Dockerfile and
//! the workspace's Cargo.toml and cargo configuration). So a change to `services/cart/` rebuilds
//! cart alone, a change to `crates/kit/` every service built on the kit, and a new version of a
//! crate only the services that link it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use crate::diagnostics::{Diagnostic, Report};
use crate::model::Platform;

/// The file of pins, at the repository root.
pub const PINS_FILE: &str = "images.toml";

/// Files every image is built from, whatever the service.
const SHARED_INPUTS: &[&str] = &[
    "Dockerfile",
    ".dockerignore",
    "Cargo.toml",
    ".cargo/config.toml",
];

/// The image a service runs: the commit it was built from and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub commit: String,
    /// `sha256:<64 hex digits>`.
    pub digest: String,
}

impl Pin {
    /// `<commit>@sha256:<hex>`, as `images.toml` and `images pin` write it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (commit, digest) = text
            .split_once('@')
            .ok_or_else(|| format!("{text:?} is not <commit>@sha256:<digest>"))?;
        let hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !hex(commit, 40) {
            return Err(format!(
                "{commit:?} is not a full commit SHA (40 lowercase hex digits)"
            ));
        }
        match digest.strip_prefix("sha256:") {
            Some(h) if hex(h, 64) => {}
            _ => {
                return Err(format!(
                    "{digest:?} is not an image digest (sha256: and 64 lowercase hex digits)"
                ));
            }
        }
        Ok(Self {
            commit: commit.to_owned(),
            digest: digest.to_owned(),
        })
    }
}

impl std::fmt::Display for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.commit, self.digest)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPins {
    #[serde(default)]
    images: BTreeMap<toml::Spanned<String>, toml::Spanned<String>>,
}

/// The pins of `source` (the text of `images.toml`), each naming a service of `platform`.
pub fn parse_pins(
    file: &str,
    source: &str,
    platform: &Platform,
) -> Result<BTreeMap<String, Pin>, Report> {
    let report = |diagnostics| Report {
        file: file.to_owned(),
        source: source.to_owned(),
        diagnostics,
    };
    let raw: RawPins = toml::from_str(source).map_err(|e| {
        report(vec![
            Diagnostic::new(e.span().unwrap_or(0..0), e.message().trim()).help(
                "write `[images]` and one `<service> = \"<commit>@sha256:<digest>\"` per line",
            ),
        ])
    })?;
    let mut pins = BTreeMap::new();
    let mut diagnostics = Vec::new();
    for (service, value) in raw.images {
        if !platform.services.contains_key(service.get_ref()) {
            diagnostics.push(
                Diagnostic::new(
                    service.span(),
                    format!("{:?} is not a service of platform.toml", service.get_ref()),
                )
                .help("remove the line, or pin one of the services platform.toml declares"),
            );
            continue;
        }
        match Pin::parse(value.get_ref()) {
            Ok(pin) => {
                pins.insert(service.into_inner(), pin);
            }
            Err(message) => diagnostics.push(Diagnostic::new(value.span(), message).help(
                "write what `cargo xtask images pin <service>=<commit>@<digest>` writes, e.g. \
                 \"3b5d…(40 hex)@sha256:9f2c…(64 hex)\"",
            )),
        }
    }
    if diagnostics.is_empty() {
        Ok(pins)
    } else {
        Err(report(diagnostics))
    }
}

/// `images.toml`'s text with `pins` set (other lines, comments and layout kept); refuses a
/// service platform.toml does not declare, changing nothing.
pub fn set_pins(
    source: &str,
    pins: &[(String, Pin)],
    platform: &Platform,
) -> anyhow::Result<String> {
    let mut doc: toml_edit::DocumentMut = source.parse().context("images.toml is not TOML")?;
    if doc.get("images").is_none() {
        doc["images"] = toml_edit::table();
    }
    let table = doc["images"]
        .as_table_mut()
        .context("images.toml: `images` must be a table")?;
    for (service, pin) in pins {
        if !platform.services.contains_key(service) {
            bail!("{service:?} is not a service of platform.toml: nothing pinned");
        }
        table[service.as_str()] = toml_edit::value(pin.to_string());
    }
    table.sort_values();
    let text = doc.to_string();
    parse_pins(PINS_FILE, &text, platform).map_err(|report| anyhow::anyhow!("{report}"))?;
    Ok(text)
}

/// What `images.toml` starts as.
const PINS_HEADER: &str = "\
# The image each service runs: the commit it was built from and the image's digest.
# Written by the image pipeline (`cargo xtask images pin`, .github/workflows/images.yml) and
# reviewed like any change; `cargo xtask render` deploys them. A service without a line runs
# `platform.image_tag` from platform.toml.
[images]
";

/// One package of a Cargo.lock.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub checksum: Option<String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
}

#[derive(Deserialize)]
struct Lock {
    #[serde(default, rename = "package")]
    packages: Vec<LockedPackage>,
}

/// Parses a Cargo.lock.
pub fn parse_lock(text: &str) -> anyhow::Result<Vec<LockedPackage>> {
    Ok(toml::from_str::<Lock>(text)
        .context("Cargo.lock is not a lock file")?
        .packages)
}

/// Every package `root` (a workspace crate) builds from, itself included, by (name, version);
/// dependency lists are not compared, only the packages they reach.
pub fn closure(
    lock: &[LockedPackage],
    root: &str,
) -> BTreeSet<(String, String, Option<String>, Option<String>)> {
    // A dependency is written `name`, `name version` or `name version (source)`.
    let find = |dep: &str| {
        let mut parts = dep.splitn(3, ' ');
        let name = parts.next().unwrap_or_default();
        let version = parts.next();
        lock.iter()
            .find(|p| p.name == name && version.is_none_or(|v| p.version == v))
    };
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&LockedPackage> = lock
        .iter()
        .filter(|p| p.name == root && p.source.is_none())
        .collect();
    while let Some(package) = stack.pop() {
        let key = (
            package.name.clone(),
            package.version.clone(),
            package.source.clone(),
            package.checksum.clone(),
        );
        if seen.insert(key) {
            stack.extend(package.dependencies.iter().filter_map(|d| find(d)));
        }
    }
    seen
}

/// Why a service needs a new image; `None` when its pinned image is still what its inputs
/// build.
///
/// `changed` is the files changed since the pin's commit, `lock_then` and `lock_now` the
/// Cargo.lock of that commit and of now, `member_dirs` each workspace crate's folder by name.
pub fn needs_image(
    service: &str,
    changed: &[String],
    lock_then: &[LockedPackage],
    lock_now: &[LockedPackage],
    member_dirs: &BTreeMap<String, String>,
) -> Option<String> {
    if let Some(file) = changed.iter().find(|f| SHARED_INPUTS.contains(&f.as_str())) {
        return Some(format!("{file} changed"));
    }
    let now = closure(lock_now, service);
    for (name, ..) in now.iter().filter(|p| p.2.is_none()) {
        let Some(dir) = member_dirs.get(name) else {
            continue;
        };
        let prefix = format!("{dir}/");
        if let Some(file) = changed.iter().find(|f| f.starts_with(&prefix)) {
            return Some(format!("{file} changed ({name})"));
        }
    }
    let then = closure(lock_then, service);
    if then != now {
        let added: Vec<String> = now
            .difference(&then)
            .filter(|p| p.2.is_some())
            .map(|(name, version, ..)| format!("{name} {version}"))
            .collect();
        return Some(if added.is_empty() {
            "its dependencies in Cargo.lock changed".to_owned()
        } else {
            format!("Cargo.lock: {}", added.join(", "))
        });
    }
    None
}

/// Arguments of `cargo xtask images`.
#[derive(Debug, clap::Args)]
pub struct Images {
    #[command(subcommand)]
    pub command: ImagesCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ImagesCommand {
    /// List the services that need a new image (no pin, or inputs changed since the pin's
    /// commit), with the reason on stderr.
    Affected {
        /// Print a JSON array of service names on stdout (for a CI matrix).
        #[arg(long)]
        json: bool,
    },
    /// Pin services to built images in images.toml (comments kept, validated), then
    /// `cargo xtask render` deploys them.
    Pin {
        /// `<service>=<commit>@sha256:<digest>`, one per service.
        #[arg(required = true, value_name = "SERVICE=COMMIT@DIGEST")]
        pins: Vec<String>,
    },
}

pub fn run(args: &Images) -> anyhow::Result<()> {
    let root = crate::root();
    let platform = crate::load_platform()?;
    match &args.command {
        ImagesCommand::Affected { json } => {
            let affected = affected(&root, &platform)?;
            for (service, reason) in &affected {
                eprintln!("{service}: {reason}");
            }
            let names: Vec<&str> = affected.iter().map(|(s, _)| s.as_str()).collect();
            if *json {
                println!("{}", serde_json::to_string(&names)?);
            } else if names.is_empty() {
                eprintln!("every service's image is up to date");
            }
            Ok(())
        }
        ImagesCommand::Pin { pins } => {
            let mut parsed = Vec::new();
            for arg in pins {
                let (service, pin) = arg.split_once('=').with_context(|| {
                    format!("{arg:?}: write <service>=<commit>@sha256:<digest>")
                })?;
                let pin = Pin::parse(pin).map_err(|e| anyhow::anyhow!("{service}: {e}"))?;
                parsed.push((service.to_owned(), pin));
            }
            let path = root.join(PINS_FILE);
            let source = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => PINS_HEADER.to_owned(),
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            };
            let updated = set_pins(&source, &parsed, &platform)?;
            if updated != source {
                std::fs::write(&path, updated)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            for (service, pin) in &parsed {
                println!("{service} = {pin}");
            }
            println!("run `cargo xtask render` to deploy them");
            Ok(())
        }
    }
}

/// The services that need a new image, each with the reason, in name order.
pub fn affected(root: &Path, platform: &Platform) -> anyhow::Result<Vec<(String, String)>> {
    let lock_now = parse_lock(
        &std::fs::read_to_string(root.join("Cargo.lock")).context("cannot read Cargo.lock")?,
    )?;
    let member_dirs = member_dirs(root)?;
    // Services built together share a pin commit: ask git once per commit, not per service.
    let mut since: BTreeMap<&str, Option<SincePin>> = BTreeMap::new();
    let mut out = Vec::new();
    for name in platform.services.keys() {
        let reason = match platform.images.get(name) {
            None => Some("no image pinned in images.toml".to_owned()),
            Some(pin) => {
                if !since.contains_key(pin.commit.as_str()) {
                    let known = git(
                        root,
                        &["cat-file", "-e", &format!("{}^{{commit}}", pin.commit)],
                    );
                    let inputs = match known {
                        Err(_) => None,
                        Ok(_) => Some((
                            git(root, &["diff", "--name-only", &pin.commit, "HEAD"])?
                                .lines()
                                .map(str::to_owned)
                                .collect(),
                            parse_lock(&git(
                                root,
                                &["show", &format!("{}:Cargo.lock", pin.commit)],
                            )?)?,
                        )),
                    };
                    since.insert(&pin.commit, inputs);
                }
                match &since[pin.commit.as_str()] {
                    None => Some(format!(
                        "pinned commit {} is not in this clone (fetch the full history)",
                        &pin.commit[..7]
                    )),
                    Some((changed, lock_then)) => {
                        needs_image(name, changed, lock_then, &lock_now, &member_dirs)
                    }
                }
            }
        };
        if let Some(reason) = reason {
            out.push((name.clone(), reason));
        }
    }
    Ok(out)
}

/// What changed since a pin's commit: the files, and that commit's Cargo.lock.
type SincePin = (Vec<String>, Vec<LockedPackage>);

/// Each workspace crate's folder, relative to the root, by package name (`cargo metadata`).
fn member_dirs(root: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let output = Command::new(crate::up::env_var("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let root = root.canonicalize()?;
    let mut dirs = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let (Some(name), Some(manifest)) =
            (package["name"].as_str(), package["manifest_path"].as_str())
        else {
            continue;
        };
        let dir = Path::new(manifest).parent().unwrap_or(Path::new(""));
        if let Ok(relative) = dir.strip_prefix(&root) {
            dirs.insert(name.to_owned(), relative.to_string_lossy().into_owned());
        }
    }
    Ok(dirs)
}

fn git(root: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .context("cannot run git")?;
    if !output.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace: cart on kit, product on kit, kit on serde; xtask alone.
    fn lock(serde_version: &str) -> Vec<LockedPackage> {
        parse_lock(&format!(
            r#"
version = 4

[[package]]
name = "cart"
version = "0.1.0"
dependencies = ["kit", "redis"]

[[package]]
name = "product"
version = "0.1.0"
dependencies = ["kit"]

[[package]]
name = "kit"
version = "0.1.0"
dependencies = ["serde 1.0.{serde_version}"]

[[package]]
name = "redis"
version = "0.32.7"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aa"

[[package]]
name = "serde"
version = "1.0.{serde_version}"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "{serde_version}"
"#
        ))
        .unwrap()
    }

    fn dirs() -> BTreeMap<String, String> {
        [
            ("cart", "services/cart"),
            ("product", "services/product"),
            ("kit", "crates/kit"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect()
    }

    fn needs(service: &str, changed: &[&str], then: &str, now: &str) -> Option<String> {
        let changed: Vec<String> = changed.iter().map(|s| (*s).to_owned()).collect();
        needs_image(service, &changed, &lock(then), &lock(now), &dirs())
    }

    #[test]
    fn a_service_needs_an_image_when_its_own_code_changed_and_only_then() {
        let changed = ["services/cart/src/routes/carts.rs"];
        assert!(
            needs("cart", &changed, "200", "200")
                .unwrap()
                .contains("carts.rs")
        );
        assert_eq!(needs("product", &changed, "200", "200"), None);
        // A folder whose name merely starts like a member's is not that member.
        assert_eq!(
            needs("cart", &["services/cartography/x.rs"], "200", "200"),
            None
        );
    }

    #[test]
    fn a_shared_crate_rebuilds_the_services_built_on_it() {
        let changed = ["crates/kit/src/lib.rs"];
        assert!(needs("cart", &changed, "200", "200").is_some());
        assert!(needs("product", &changed, "200", "200").is_some());
        assert_eq!(
            needs(
                "cart",
                &["docs/deploy.md", "xtask/src/main.rs"],
                "200",
                "200"
            ),
            None
        );
    }

    #[test]
    fn a_new_dependency_version_rebuilds_only_the_services_that_link_it() {
        assert!(
            needs("cart", &["Cargo.lock"], "200", "201")
                .unwrap()
                .contains("serde 1.0.201")
        );
        // redis changes in no lock here; serde reaches product through kit too.
        assert!(needs("product", &["Cargo.lock"], "200", "201").is_some());
        let mut now = lock("200");
        now.iter_mut().find(|p| p.name == "redis").unwrap().version = "0.32.8".into();
        let changed = vec!["Cargo.lock".to_owned()];
        assert!(needs_image("cart", &changed, &lock("200"), &now, &dirs()).is_some());
        assert_eq!(
            needs_image("product", &changed, &lock("200"), &now, &dirs()),
            None
        );
    }

    #[test]
    fn files_every_image_is_built_from_rebuild_every_service() {
        for file in ["Dockerfile", "Cargo.toml", ".dockerignore"] {
            assert!(needs("product", &[file], "200", "200").is_some(), "{file}");
        }
        // A crate's own Cargo.toml is that crate's.
        assert_eq!(
            needs("product", &["services/cart/Cargo.toml"], "200", "200"),
            None
        );
    }

    #[test]
    fn pins_are_validated_with_file_line_and_help() {
        let platform = crate::model::Platform::parse(
            "platform.toml",
            &std::fs::read_to_string(crate::root().join("platform.toml")).unwrap(),
        )
        .unwrap();
        let good = format!(
            "[images]\ncart = \"{}@sha256:{}\"\n",
            "a".repeat(40),
            "b".repeat(64)
        );
        assert_eq!(parse_pins(PINS_FILE, &good, &platform).unwrap().len(), 1);
        for (bad, expected) in [
            (
                "[images]\nbasket = \"x\"\n",
                "images.toml:2:1: error: \"basket\" is not a service",
            ),
            (
                "[images]\ncart = \"latest\"\n",
                "images.toml:2:8: error: \"latest\" is not <commit>@sha256:<digest>",
            ),
            (
                &format!(
                    "[images]\ncart = \"{}@sha256:{}\"\n",
                    "a".repeat(7),
                    "b".repeat(64)
                ),
                "is not a full commit SHA",
            ),
            (
                &format!(
                    "[images]\ncart = \"{}@md5:{}\"\n",
                    "a".repeat(40),
                    "b".repeat(32)
                ),
                "is not an image digest",
            ),
        ] {
            let report = parse_pins(PINS_FILE, bad, &platform)
                .unwrap_err()
                .to_string();
            assert!(report.contains(expected), "{bad:?}: {report}");
            assert!(report.contains("help:"), "{report}");
        }
        // Pinning keeps the rest of the file and refuses an unknown service.
        let pins = vec![(
            "product".to_owned(),
            Pin::parse(&format!("{}@sha256:{}", "c".repeat(40), "d".repeat(64))).unwrap(),
        )];
        let text = set_pins(&format!("# kept\n{good}"), &pins, &platform).unwrap();
        assert!(text.starts_with("# kept\n[images]\ncart = "), "{text}");
        assert!(text.contains("product = \"cccc"), "{text}");
        let unknown = vec![("basket".to_owned(), pins[0].1.clone())];
        assert!(set_pins(&good, &unknown, &platform).is_err());
    }
}
