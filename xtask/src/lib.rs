//! The platform generator and developer commands behind `cargo xtask`.
//!
//! [`model`] parses and validates platform.toml; [`render`] derives every generated file from
//! the model; [`codegen`] is the one write path (render writes, check diffs); [`scaffold`]
//! creates service crates; [`image_tag`] sets the deployed image tag; [`up`] runs the platform
//! locally; [`seed`] loads the demo catalogue; [`test`] runs the suite.

use std::path::PathBuf;

pub mod bench;
pub mod codegen;
pub mod diagnostics;
pub mod guard;
pub mod image_tag;
pub mod images;
pub mod load;
pub mod model;
pub mod render;
pub mod scaffold;
pub mod seed;
pub mod settings;
pub mod test;
pub mod up;

/// The repository root (the workspace this xtask belongs to).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// Loads and validates the repository's platform.toml.
pub fn load_platform() -> anyhow::Result<model::Platform> {
    let path = root().join("platform.toml");
    let source = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let mut platform = model::Platform::parse("platform.toml", &source)?;
    let pins = root().join(images::PINS_FILE);
    match std::fs::read_to_string(&pins) {
        Ok(text) => platform.images = images::parse_pins(images::PINS_FILE, &text, &platform)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!("cannot read {}: {e}", pins.display()),
    }
    Ok(platform)
}

pub fn render_command() -> anyhow::Result<()> {
    let platform = load_platform()?;
    let files = render::render(&platform)?;
    let changes = files.write(&root())?;
    for change in &changes {
        println!("{}", change.summary());
    }
    println!(
        "rendered {} files from platform.toml: {} changed",
        files.len(),
        changes.len()
    );
    Ok(())
}

pub fn check_command() -> anyhow::Result<()> {
    let platform = load_platform()?;
    let files = render::render(&platform)?;
    let drift = files.diff(&root())?;
    if drift.is_empty() {
        println!(
            "{} generated files are up to date with platform.toml",
            files.len()
        );
        return guard::check_repository(&root());
    }
    for d in &drift {
        eprint!("{}", d.report());
    }
    anyhow::bail!(
        "{} generated files differ from platform.toml: run `cargo xtask render` and commit the result",
        drift.len()
    )
}
