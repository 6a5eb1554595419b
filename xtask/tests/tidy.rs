//! Tidy checks over the whole repository, run by `cargo test`: conventions that keep the code
//! base uniform and that review alone would miss.

use std::path::{Path, PathBuf};

use xtask::model::Platform;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Tracked-looking source files under `dir` (skipping build output and vendored folders).
fn files_under(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !matches!(
                name.as_ref(),
                "target" | "node_modules" | ".git" | "snapshots"
            ) && !name.starts_with('.')
            {
                files_under(&path, extension, out);
            }
        } else if path.extension().is_some_and(|e| e == extension) {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let mut files = Vec::new();
    for dir in ["xtask", "crates", "services", "e2e"] {
        files_under(&root().join(dir), "rs", &mut files);
    }
    assert!(files.len() > 50, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not open with a `//!` paragraph saying what they are for: {missing:#?}"
    );
}

#[test]
fn services_and_crates_agree() {
    let platform = Platform::load(&root().join("platform.toml")).unwrap();
    let crates: Vec<String> = std::fs::read_dir(root().join("services"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for name in platform.services.keys() {
        assert!(
            crates.contains(name),
            "[services.{name}] has no crate: run `cargo xtask new-service {name} --from-platform`"
        );
    }
    for name in &crates {
        assert!(
            platform.services.contains_key(name),
            "services/{name} is not declared in platform.toml"
        );
    }
}

#[test]
fn dependencies_come_from_the_workspace() {
    let mut manifests = Vec::new();
    for dir in ["xtask", "crates", "services", "e2e"] {
        files_under(&root().join(dir), "toml", &mut manifests);
    }
    let manifests: Vec<PathBuf> = manifests
        .into_iter()
        .filter(|p| p.ends_with("Cargo.toml"))
        .collect();
    assert!(manifests.len() >= 20);
    let mut offenders = Vec::new();
    for manifest in &manifests {
        let doc: toml::Table = std::fs::read_to_string(manifest).unwrap().parse().unwrap();
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            let Some(deps) = doc.get(section).and_then(|d| d.as_table()) else {
                continue;
            };
            for (name, spec) in deps {
                let inherited = spec
                    .as_table()
                    .and_then(|t| t.get("workspace"))
                    .and_then(toml::Value::as_bool)
                    == Some(true);
                if !inherited {
                    offenders.push(format!(
                        "{}: {section}.{name}",
                        manifest.strip_prefix(root()).unwrap().display()
                    ));
                }
            }
        }
        let lints = doc
            .get("lints")
            .and_then(|l| l.get("workspace"))
            .and_then(toml::Value::as_bool);
        assert_eq!(
            lints,
            Some(true),
            "{} must have [lints] workspace = true",
            manifest.display()
        );
    }
    assert!(
        offenders.is_empty(),
        "declare these in [workspace.dependencies] and use `workspace = true`: {offenders:#?}"
    );
}

#[test]
fn every_service_has_its_rendered_declaration() {
    let platform = Platform::load(&root().join("platform.toml")).unwrap();
    for s in platform.services.values() {
        let path = root().join(xtask::render::rust::platform_rs_path(s));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask render`)", path.display()));
        let header = xtask::codegen::RUST_HEADER.replace("{service}", &s.name);
        assert!(
            text.starts_with(&header),
            "{} does not start with the generated-file header",
            path.display()
        );
        let lib = std::fs::read_to_string(root().join("services").join(&s.name).join("src/lib.rs"))
            .unwrap();
        assert!(
            lib.contains("pub mod platform;"),
            "services/{}/src/lib.rs must declare `pub mod platform;` (the rendered declaration)",
            s.name
        );
    }
}

#[test]
fn committed_generated_files_carry_the_header() {
    let mut files = Vec::new();
    for dir in xtask::codegen::OWNED_DIRS {
        files_under(&root().join(dir), "yaml", &mut files);
    }
    assert!(
        files.len() > 100,
        "found only {} generated files",
        files.len()
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with(xtask::codegen::YAML_HEADER),
            "{} does not start with the generated-file header: it was written by hand",
            file.display()
        );
    }
}

#[test]
fn every_event_type_is_carried_by_its_declared_topic() {
    let platform = Platform::load(&root().join("platform.toml")).unwrap();
    for event in events::CATALOG {
        let topic = platform.topics.get(event.topic).unwrap_or_else(|| {
            panic!(
                "event {} is published on {}, which platform.toml does not declare",
                event.name, event.topic
            )
        });
        assert!(
            topic.events.iter().any(|e| e == event.name),
            "topic {} in platform.toml does not list event {}: add it to its events",
            event.topic,
            event.name
        );
    }
}
