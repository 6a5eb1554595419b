//! `cargo xtask test`: the whole test suite, as CI runs it.
//!
//! Uses cargo-nextest when installed (faster: one process per test, parallel across the
//! workspace's test binaries), otherwise `cargo test`. Both talk to the real PostgreSQL and Redis
//! on localhost and to an embedded Kafka broker unless `KAFKA_BROKERS` is set.
//!
//! Snapshots are never written here (`INSTA_UPDATE=no`): review changes with `cargo insta
//! review`. A full run also rejects snapshot files no test references any more (insta reports
//! the ones it reads through `INSTA_SNAPSHOT_REFERENCES_FILE`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
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
    let full_run = args.packages.is_empty() && args.rest.is_empty();
    let references = std::env::temp_dir().join(format!("insta-references-{}", std::process::id()));
    let _ = std::fs::remove_file(&references);
    if full_run {
        cmd.env("INSTA_SNAPSHOT_REFERENCES_FILE", &references);
    }
    if !args.rest.is_empty() {
        cmd.arg("--").args(&args.rest);
    }
    cmd.current_dir(crate::root());
    if nextest && full_run {
        // nextest does not run doctests; run them first, so the suite's summary comes last.
        let status = Command::new("cargo")
            .args(["test", "--workspace", "--doc", "--quiet"])
            .current_dir(crate::root())
            .status()?;
        if !status.success() {
            bail!("doctests failed ({status})");
        }
    }
    eprintln!("running: {cmd:?}");
    let status = cmd.status()?;
    if !status.success() {
        bail!("tests failed ({status})");
    }
    if full_run {
        let unreferenced = unreferenced_snapshots(&references)?;
        let _ = std::fs::remove_file(&references);
        if !unreferenced.is_empty() {
            for path in &unreferenced {
                eprintln!("unreferenced snapshot: {}", path.display());
            }
            bail!(
                "{} snapshot files are not used by any test: delete them",
                unreferenced.len()
            );
        }
    }
    Ok(())
}

/// Snapshot files under the repository that no test read during this run.
fn unreferenced_snapshots(references: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let read = std::fs::read_to_string(references).unwrap_or_default();
    let referenced: BTreeSet<PathBuf> = read
        .lines()
        .filter_map(|l| std::fs::canonicalize(l).ok())
        .collect();
    let root = crate::root();
    let mut unreferenced = Vec::new();
    for path in snapshot_files(&root)? {
        if !referenced.contains(&std::fs::canonicalize(&path)?) {
            unreferenced.push(path.strip_prefix(&root)?.to_path_buf());
        }
    }
    Ok(unreferenced)
}

/// Every `.snap` file under `root` inside a `snapshots` folder, at any depth below it (insta's
/// `glob!` tests keep theirs in `snapshots/<fixture>/`), skipping build output; sorted.
fn snapshot_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![(root.to_path_buf(), false)];
    while let Some((dir, in_snapshots)) = stack.pop() {
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if !matches!(name.to_str(), Some("target" | ".git" | "node_modules")) {
                    stack.push((path, in_snapshots || name == "snapshots"));
                }
            } else if in_snapshots && path.extension().is_some_and(|e| e == "snap") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::snapshot_files;

    #[test]
    fn finds_snapshots_at_any_depth_under_a_snapshots_folder() {
        let root = tempfile::tempdir().unwrap();
        let make = |path: &str| {
            let path = root.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        };
        make("xtask/tests/snapshots/platform_toml__a.snap");
        make("xtask/tests/snapshots/two-envs/gitops__x.yaml.snap");
        make("xtask/tests/snapshots/two-envs/nested/stray.snap");
        make("xtask/tests/not-snapshots/ignored.snap");
        make("target/snapshots/ignored.snap");
        let found: Vec<String> = snapshot_files(root.path())
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(root.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(
            found,
            [
                "xtask/tests/snapshots/platform_toml__a.snap",
                "xtask/tests/snapshots/two-envs/gitops__x.yaml.snap",
                "xtask/tests/snapshots/two-envs/nested/stray.snap",
            ]
        );
    }
}
