//! Image builds: `cloudbuild.yaml` rendered from the real platform.toml builds and pushes one
//! image per service, tagged with the commit, to the platform's registry; the shared
//! `Dockerfile` builds any service by name into a distroless, non-root runtime image.
//! (Freshness of the committed cloudbuild.yaml is tests/drift.rs; fixture snapshots are
//! tests/render.rs.)

use std::collections::BTreeSet;
use std::path::Path;

use serde_yaml_ng::Value;
use xtask::codegen::YAML_HEADER;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn cloudbuild_builds_one_image_per_service_tagged_with_the_commit() {
    let platform = xtask::load_platform().unwrap();
    let files = xtask::render::render(&platform).unwrap();
    let text = files
        .get("cloudbuild.yaml")
        .expect("cloudbuild.yaml is rendered");
    assert!(text.starts_with(YAML_HEADER));
    let doc: Value = serde_yaml_ng::from_str(text).unwrap();

    let steps = doc["steps"].as_sequence().expect("steps");
    assert_eq!(steps.len(), platform.services.len(), "one step per service");
    let mut pushed = BTreeSet::new();
    for (step, name) in steps.iter().zip(platform.services.keys()) {
        assert_eq!(step["id"].as_str(), Some(format!("build-{name}").as_str()));
        assert_eq!(step["name"].as_str(), Some("gcr.io/cloud-builders/docker"));
        let args = strings(&step["args"]);
        assert_eq!(args.first(), Some(&"build"), "{name}: {args:?}");
        assert_eq!(
            args.last(),
            Some(&"."),
            "{name}: the context is the repository"
        );
        assert!(
            args.contains(&format!("SERVICE={name}").as_str()),
            "{name}: {args:?}"
        );
        for tag in ["$SHORT_SHA", "$COMMIT_SHA"] {
            let image = format!("{}/{name}:{tag}", platform.registry);
            assert!(
                args.contains(&image.as_str()),
                "{name} is not tagged {image}"
            );
            pushed.insert(image);
        }
    }
    let images: BTreeSet<String> = strings(&doc["images"])
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        images, pushed,
        "images lists exactly the tags the steps build"
    );
}

#[test]
fn the_dockerfile_builds_any_service_into_a_distroless_non_root_image() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    for needle in [
        "ARG SERVICE",
        "cargo chef cook --profile image --locked -p \"${SERVICE}\"",
        "cargo build --profile image --locked -p \"${SERVICE}\"",
        "cp \"target/image/${SERVICE}\" /service",
        "LIBZ_SYS_STATIC=1",
        "FROM gcr.io/distroless/cc-debian12:nonroot",
        "USER 65532:65532",
        "ENTRYPOINT [\"/usr/local/bin/service\"]",
    ] {
        assert!(dockerfile.contains(needle), "Dockerfile lacks {needle:?}");
    }
    let runtime = dockerfile
        .rsplit("\nFROM ")
        .next()
        .expect("a runtime stage");
    assert!(
        !runtime.contains("\nRUN "),
        "the runtime stage has no shell to RUN anything in"
    );
    // The profile the Dockerfile names exists and is what images need.
    let manifest: toml::Table = std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let image = &manifest["profile"]["image"];
    assert_eq!(image["inherits"].as_str(), Some("release"));
    assert_eq!(image["lto"].as_str(), Some("fat"));
    assert_eq!(image["codegen-units"].as_integer(), Some(1));
    assert_eq!(image["strip"].as_bool(), Some(true));
    assert!(
        image.get("panic").is_none(),
        "the kit catches panics: they must unwind"
    );
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    for excluded in ["target/", ".git/", "gitops/", "terraform/"] {
        assert!(
            ignore.lines().any(|l| l == excluded),
            ".dockerignore lacks {excluded}"
        );
    }
}
