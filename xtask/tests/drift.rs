//! The committed generated files match platform.toml: the same check as `cargo xtask check`, so
//! `cargo test` alone catches a stale or hand-edited manifest.

use std::path::Path;

use xtask::model::Platform;

#[test]
fn generated_files_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let platform = Platform::load(&root.join("platform.toml")).unwrap_or_else(|e| panic!("{e}"));
    let files = xtask::render::render(&platform).unwrap();
    let drift = files.diff(root).unwrap();
    let report: String = drift.iter().map(|d| d.report()).collect();
    assert!(
        drift.is_empty(),
        "{report}\n{} generated files differ from platform.toml: run `cargo xtask render` and commit the result",
        drift.len()
    );
}
