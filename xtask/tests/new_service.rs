//! `cargo xtask new-service`: a valid request plans the crate and the platform.toml entry; an
//! invalid one is refused with one line. (`plan` computes and never writes; that the command
//! changes nothing on a refusal is .ci/new-service-roundtrip's check, on the real binary.)

use std::path::{Path, PathBuf};

use clap::Parser;
use xtask::model::Platform;
use xtask::scaffold::{NewService, plan};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: NewService,
}

fn args(line: &str) -> NewService {
    Cli::try_parse_from(std::iter::once("new-service").chain(line.split_whitespace()))
        .unwrap_or_else(|e| panic!("{e}"))
        .args
}

/// A copy of the repository's platform.toml and its services' crates (their `Cargo.toml`
/// only) in a temporary root.
fn sandbox() -> (tempfile::TempDir, PathBuf) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo.join("platform.toml"), dir.path().join("platform.toml")).unwrap();
    for entry in std::fs::read_dir(repo.join("services")).unwrap().flatten() {
        let crate_dir = dir.path().join("services").join(entry.file_name());
        std::fs::create_dir_all(&crate_dir).unwrap();
        std::fs::write(crate_dir.join("Cargo.toml"), "").unwrap();
    }
    let root = dir.path().to_path_buf();
    (dir, root)
}

fn refused(line: &str) -> String {
    let (_dir, root) = sandbox();
    refused_in(&root, line)
}

fn refused_in(root: &Path, line: &str) -> String {
    let error = plan(root, &args(line))
        .err()
        .unwrap_or_else(|| panic!("`{line}` should be refused"))
        .to_string();
    assert!(!error.contains('\n'), "one line: {error}");
    error
}

#[test]
fn plans_a_complete_service() {
    let (_dir, root) = sandbox();
    let before = Platform::load(&root.join("platform.toml")).unwrap();
    let (files, text) = plan(
        &root,
        &args("loyalty --tier core --postgres --redis --verify-tokens --produces loyalty.v1 --calls product --route /v1/loyalty --secret loyalty-api-key=random --secret partner-webhook-secret"),
    )
    .unwrap();
    let platform = Platform::parse("platform.toml", &text).unwrap();
    let loyalty = &platform.services["loyalty"];
    assert_eq!(loyalty.namespace, "apps-core");
    assert_eq!(loyalty.calls, ["product"]);
    assert!(loyalty.verify_tokens);
    assert!(platform.topics.contains_key("loyalty.v1"));
    assert!(
        platform.services["api-gateway"]
            .calls
            .contains(&"loyalty".to_owned())
    );
    let highest = before.services.values().map(|s| s.port).max().unwrap();
    assert_eq!(loyalty.port, highest + 1, "the next free port");
    // A new secret is declared with its kind; a declared one is reused as it is.
    assert_eq!(
        platform.secrets["loyalty-api-key"].kind,
        xtask::model::SecretKind::Random
    );
    assert_eq!(
        platform.secrets["partner-webhook-secret"].description,
        before.secrets["partner-webhook-secret"].description
    );
    // Comments in platform.toml survive the edit.
    assert!(text.contains("# platform.toml: the single source of truth"));
    let paths: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    assert_eq!(
        paths,
        [
            "services/loyalty/Cargo.toml",
            "services/loyalty/migrations/README.md",
            "services/loyalty/src/config.rs",
            "services/loyalty/src/lib.rs",
            "services/loyalty/src/main.rs",
            "services/loyalty/src/routes/mod.rs",
            "services/loyalty/src/startup.rs",
            "services/loyalty/tests/api/helpers.rs",
            "services/loyalty/tests/api/main.rs",
        ],
        "its src/platform.rs comes from `cargo xtask render`, not the scaffold"
    );
    let config = files.get("services/loyalty/src/config.rs").unwrap();
    assert!(config.contains("LOYALTY_API_KEY"));
}

#[test]
fn refuses_a_bad_name() {
    assert!(refused("Bad_Name --tier core").contains("invalid service name"));
}

#[test]
fn refuses_an_existing_crate() {
    assert!(refused("auth --tier core").contains("services/auth already exists"));
}

#[test]
fn refuses_a_service_platform_toml_declares() {
    let (_dir, root) = sandbox();
    std::fs::remove_dir_all(root.join("services/auth")).unwrap();
    let error = refused_in(&root, "auth --tier core");
    assert!(error.contains("already exists in platform.toml"), "{error}");
}

#[test]
fn refuses_a_taken_port() {
    assert!(refused("loyalty --tier core --port 8085").contains("already used by \"auth\""));
}

#[test]
fn refuses_a_taken_route() {
    assert!(
        refused("loyalty --tier core --route /v1/orders").contains("already served by \"order\"")
    );
}

#[test]
fn refuses_an_unknown_call_target() {
    assert!(refused("loyalty --tier core --calls nosuch").contains("no such service"));
}

#[test]
fn refuses_an_unknown_tier() {
    assert!(refused("loyalty --tier edge").contains("unknown tier"));
}

#[test]
fn refuses_consuming_an_undeclared_topic() {
    assert!(refused("loyalty --tier core --consumes nothing.v1").contains("not declared"));
}

#[test]
fn refuses_an_unknown_secret_kind() {
    let error = refused("loyalty --tier core --secret loyalty-key=password");
    assert!(
        error.contains("secret kind \"password\" is not known"),
        "{error}"
    );
}
