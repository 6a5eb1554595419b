//! `cargo xtask test`: the whole test suite, as CI runs it.
//!
//! Uses cargo-nextest when installed (faster: one process per test, parallel across the
//! workspace's test binaries), otherwise `cargo test`. Both talk to the real PostgreSQL and Redis
//! on localhost and to an embedded Kafka broker unless `KAFKA_BROKERS` is set.

use std::process::Command;

use anyhow::bail;
use clap::Args;

/// Arguments of `cargo xtask test`.
#[derive(Debug, Args)]
pub struct Test {
    /// Only these packages (e.g. `-p auth`); default: the whole workspace.
    #[arg(short, long = "package")]
    pub packages: Vec<String>,
    /// Use `cargo test` even when cargo-nextest is installed.
    #[arg(long)]
    pub no_nextest: bool,
    /// Extra arguments for the test runner (after `--`), e.g. a test name filter.
    #[arg(last = true)]
    pub rest: Vec<String>,
}

pub fn run(args: &Test) -> anyhow::Result<()> {
    let nextest = !args.no_nextest
        && Command::new("cargo")
            .args(["nextest", "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
    let mut cmd = Command::new("cargo");
    if nextest {
        cmd.args(["nextest", "run", "--no-fail-fast"]);
    } else {
        cmd.args(["test", "--no-fail-fast"]);
    }
    if args.packages.is_empty() {
        cmd.arg("--workspace");
    } else {
        for p in &args.packages {
            cmd.args(["-p", p]);
        }
    }
    cmd.env("INSTA_UPDATE", "no");
    if !args.rest.is_empty() {
        cmd.arg("--").args(&args.rest);
    }
    cmd.current_dir(crate::root());
    eprintln!("running: {cmd:?}");
    let status = cmd.status()?;
    if !status.success() {
        bail!("tests failed ({status})");
    }
    if nextest {
        // nextest does not run doctests; run them so examples in docs cannot rot.
        let status = Command::new("cargo")
            .args(["test", "--workspace", "--doc"])
            .current_dir(crate::root())
            .status()?;
        if !status.success() {
            bail!("doctests failed ({status})");
        }
    }
    Ok(())
}
