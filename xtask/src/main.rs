//! `cargo xtask`: the generator and developer commands of the platform.
//!
//! One Rust program for every chore (rendering, drift checks, scaffolding, running the platform
//! locally, running the tests), so the same commands work on every machine and in CI.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod codegen;
mod diagnostics;
mod model;
mod render;
mod scaffold;
mod test;
mod up;

/// Developer commands for the shop platform. Everything generated is derived from platform.toml.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Rewrite every generated file (manifests, policies, Argo CD apps) from platform.toml.
    Render,
    /// Fail with a diff when any generated file is stale, missing or hand-edited.
    Check,
    /// Create a service: crate from templates/service, platform.toml entry, rendered manifests.
    NewService(scaffold::NewService),
    /// Run the whole platform locally: stores, embedded Kafka, every service; Ctrl-C stops it.
    Up(up::Up),
    /// Run the test suite (cargo nextest, or cargo test when nextest is missing).
    Test(test::Test),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Render => render_command(),
        Command::Check => check_command(),
        Command::NewService(args) => scaffold::run(&args),
        Command::Up(args) => up::run(&args),
        Command::Test(args) => test::run(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // A platform.toml report is already multi-line and self-explanatory.
            if let Some(report) = error.downcast_ref::<diagnostics::Report>() {
                eprintln!("{report}");
            } else {
                eprintln!("error: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}

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
    Ok(model::Platform::parse("platform.toml", &source)?)
}

fn render_command() -> anyhow::Result<()> {
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

fn check_command() -> anyhow::Result<()> {
    let platform = load_platform()?;
    let files = render::render(&platform)?;
    let drift = files.diff(&root())?;
    if drift.is_empty() {
        println!("{} generated files are up to date with platform.toml", files.len());
        return Ok(());
    }
    for d in &drift {
        eprint!("{}", d.report());
    }
    anyhow::bail!(
        "{} generated files differ from platform.toml: run `cargo xtask render` and commit the result",
        drift.len()
    )
}
