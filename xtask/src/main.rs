//! `cargo xtask`: the generator and developer commands of the platform.
//!
//! One Rust program for every chore (rendering, drift checks, scaffolding, running the platform
//! locally, running the tests), so the same commands work on every machine and in CI.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::{
    bench, check_command, diagnostics, image_tag, images, load, render_command, scaffold, seed,
    test, up,
};

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
    /// Fail with a diff when any generated file is stale, missing or hand-edited; then run the
    /// guard rules (policies/guard) over the rendered manifests.
    Check,
    /// Create a service: crate from templates/service, platform.toml entry, rendered manifests.
    NewService(scaffold::NewService),
    /// Run the whole platform locally: stores, embedded Kafka, every service; Ctrl-C stops it.
    Up(up::Up),
    /// Load the demo catalogue and an admin account into a running platform (idempotent).
    Seed(seed::Seed),
    /// Run the test suite (cargo nextest, or cargo test when nextest is missing).
    Test(test::Test),
    /// Measure request paths against baselines in the same run (release builds, pinned CPUs):
    /// the kit vs bare axum, product vs pgbench, cart vs redis-benchmark, the gateway vs direct.
    Bench(bench::Bench),
    /// Drive a running platform with weighted shopper journeys (browse, search, cart, sign in,
    /// checkout) from virtual users for a while; a summary per step (req/s, p50/p95/p99, errors).
    Load(load::Load),
    /// Set platform.image_tag, the tag of services images.toml does not pin (comments kept,
    /// validated).
    ImageTag(image_tag::ImageTag),
    /// Which services need a new image (the cargo dependency graph since each pin's commit),
    /// and pinning built images by digest in images.toml: the image pipeline's edits.
    Images(images::Images),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Render => render_command(),
        Command::Check => check_command(),
        Command::NewService(args) => scaffold::run(&args),
        Command::Up(args) => up::run(&args),
        Command::Seed(args) => seed::run(&args),
        Command::Test(args) => test::run(&args),
        Command::ImageTag(args) => image_tag::run(&args),
        Command::Images(args) => images::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Load(args) => load::run(&args),
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
