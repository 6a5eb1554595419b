//! `cargo xtask bench`: what the platform's request paths cost, each as a ratio against a
//! baseline measured in the same run on the same machine, never as an absolute time.
//!
//! Binaries are built with the profile images ship (`image`: release, fat LTO, one codegen unit,
//! stripped). Every server is pinned to CPU 0 and every load generator to CPU 1 (`taskset`);
//! PostgreSQL and Redis are the machine's, unpinned, in both the subject and its baseline.
//! Each comparison runs baseline and subject alternately, three rounds by default; the figure is
//! the median of the per-round ratios. A table is printed and written to
//! `<target>/bench/report.md` and `report.json`; the command fails when a ratio is under its
//! floor.
//!
//! | comparison | subject | baseline | floor |
//! |---|---|---|---|
//! | kit stack | `GET /v1/static` through the kit (`bench-server kit`) | the same handler on bare axum | 0.6 |
//! | product, cached | `GET /v1/products/{id}` from Redis | bare axum | 0.25 |
//! | product, uncached | the same with `PRODUCT_CACHE_TTL=0s` | `pgbench -f` on product's own SQL files | 0.3 |
//! | cart add | `POST /v1/carts/{guest}/items`, a new guest cart each time | `redis-benchmark` on the Redis commands it runs | 0.3 |
//! | gateway | `GET /v1/products/{id}` through api-gateway | the same request to product | 0.35 |
//! | checkout | `POST /v1/orders` on order, a new `Idempotency-Key` each time | `pgbench -f` on the statements of order and product it runs ([`checkout`]) | 0.5 |
//!
//! And one latency, whose p99 ratio has a ceiling: the outbox's lag from auth's sign-up commit to
//! `user.registered` at a consumer, against raw rdkafka with the kit's linger (ceiling 5).
//!
//! Also reported: each binary's size, the time from exec to a ready `/readyz`, and each server's
//! peak resident memory after the runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Serialize;
use serde_json::Value;
use tokio::process::{Child, Command};

use crate::model::{Platform, Service};
use crate::up::{self, Backing, Stores, env_var, step};

mod checkout;

/// Arguments of `cargo xtask bench`.
#[derive(Debug, Args)]
pub struct Bench {
    /// Cargo profile to build and measure (`image` is what the Dockerfile ships; `release`
    /// builds several times faster while iterating).
    #[arg(long, default_value = "image")]
    pub profile: String,
    /// Seconds of load per run.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Alternating rounds per comparison (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Concurrent connections of the HTTP load generator.
    #[arg(long, default_value_t = 32)]
    pub connections: u32,
    /// Run only these comparisons (repeat the flag; all of them by default). The report and the
    /// exit status cover what ran.
    #[arg(long, value_enum)]
    pub only: Vec<Which>,
}

/// A comparison `--only` can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    Kit,
    ProductCached,
    ProductUncached,
    Cart,
    Gateway,
    Checkout,
    OutboxLag,
}

impl Bench {
    fn wants(&self, which: Which) -> bool {
        self.only.is_empty() || self.only.contains(&which)
    }
}

/// The services the comparisons run, `offer` (the demo coupons are seeded through it) and
/// `order` (for its size and start time).
const SERVICES: &[&str] = &["auth", "product", "cart", "api-gateway", "offer", "order"];

/// CPU the servers run on, and CPU the load generators run on.
const SERVER_CPU: &str = "0";
const LOAD_CPU: &str = "1";

pub fn run(args: &Bench) -> anyhow::Result<()> {
    if args.rounds == 0 || args.seconds == 0 {
        bail!("--rounds and --seconds must be at least 1");
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores < 2 {
        bail!("bench pins servers and load to different CPUs: it needs at least 2 (found {cores})");
    }
    for (tool, package) in [
        ("wrk", "wrk"),
        ("pgbench", "postgresql-client"),
        ("pg_dump", "postgresql-client"),
        ("psql", "postgresql-client"),
        ("redis-benchmark", "redis-tools"),
        ("taskset", "util-linux"),
    ] {
        if up::which(tool).is_none() {
            bail!("`{tool}` is not installed: apt-get install {package}");
        }
    }
    let root = crate::root();
    let platform = crate::load_platform()?;
    step(&format!(
        "building {} and bench-server (cargo build --profile {}; minutes with LTO)",
        SERVICES.join(", "),
        args.profile
    ));
    let mut cmd = std::process::Command::new(env_var("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["build", "--locked", "--profile", &args.profile, "--bins"])
        .current_dir(&root);
    for package in SERVICES.iter().chain(&["bench"]) {
        cmd.args(["-p", package]);
    }
    let status = cmd.status().context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build failed ({status})");
    }
    // Cargo writes the `dev` profile to `debug/`, every other one to a folder of its name.
    let folder = if args.profile == "dev" {
        "debug"
    } else {
        &args.profile
    };
    let bin_dir = up::target_dir(&root).join(folder);
    let out_dir = up::target_dir(&root).join("bench");
    std::fs::create_dir_all(out_dir.join("logs"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(bench(args, &root, &platform, &bin_dir, &out_dir))?;
    let table = report.markdown(args);
    println!("\n{table}");
    std::fs::write(out_dir.join("report.md"), &table)?;
    std::fs::write(
        out_dir.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    eprintln!("written to {}", out_dir.join("report.md").display());
    let under: Vec<&str> = report
        .comparisons
        .iter()
        .filter(|c| c.ratio < c.floor)
        .map(|c| c.name)
        .chain(
            report
                .latencies
                .iter()
                .filter(|l| l.ratio > l.ceiling)
                .map(|l| l.name),
        )
        .collect();
    if !under.is_empty() {
        bail!("beyond the floor or ceiling: {}", under.join(", "));
    }
    Ok(())
}

/// Everything measured.
#[derive(Debug, Serialize)]
struct Report {
    profile: String,
    comparisons: Vec<Comparison>,
    latencies: Vec<Latency>,
    binaries: Vec<Binary>,
}

/// A latency against a baseline's: p50 and p99 in milliseconds; lower is better, so the ratio
/// (subject p99 over baseline p99) has a ceiling instead of a floor.
#[derive(Debug, Serialize)]
struct Latency {
    name: &'static str,
    subject: String,
    baseline: String,
    subject_p50_ms: f64,
    subject_p99_ms: f64,
    baseline_p50_ms: f64,
    baseline_p99_ms: f64,
    ratio: f64,
    ceiling: f64,
    /// What bounds it otherwise (the relay's poll, the producer's linger).
    context: String,
}

#[derive(Debug, Serialize)]
struct Comparison {
    name: &'static str,
    subject: String,
    baseline: String,
    /// Median requests per second of the subject and of the baseline.
    subject_rps: f64,
    baseline_rps: f64,
    /// Median of the per-round ratios.
    ratio: f64,
    floor: f64,
    rounds: Vec<(f64, f64)>,
}

#[derive(Debug, Serialize)]
struct Binary {
    name: String,
    bytes: u64,
    ready_ms: Option<f64>,
    peak_rss_kib: Option<u64>,
}

impl Report {
    fn markdown(&self, args: &Bench) -> String {
        let mut out = format!(
            "## cargo xtask bench ({} profile; servers on CPU {SERVER_CPU}, load on CPU {LOAD_CPU}; {} rounds of {}s, {} connections)\n\n\
             | comparison | subject req/s | baseline req/s | ratio | floor | |\n|---|---:|---:|---:|---:|---|\n",
            self.profile, args.rounds, args.seconds, args.connections
        );
        for c in &self.comparisons {
            out.push_str(&format!(
                "| {} ({} vs {}) | {:.0} | {:.0} | {:.2} | {:.2} | {} |\n",
                c.name,
                c.subject,
                c.baseline,
                c.subject_rps,
                c.baseline_rps,
                c.ratio,
                c.floor,
                if c.ratio >= c.floor { "ok" } else { "UNDER" }
            ));
        }
        if !self.latencies.is_empty() {
            out.push_str(
                "\n| latency | subject p50 / p99 | baseline p50 / p99 | p99 ratio | ceiling | |\n|---|---:|---:|---:|---:|---|\n",
            );
        }
        for l in &self.latencies {
            out.push_str(&format!(
                "| {} ({} vs {}; {}) | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {:.2} | {:.2} | {} |\n",
                l.name,
                l.subject,
                l.baseline,
                l.context,
                l.subject_p50_ms,
                l.subject_p99_ms,
                l.baseline_p50_ms,
                l.baseline_p99_ms,
                l.ratio,
                l.ceiling,
                if l.ratio <= l.ceiling { "ok" } else { "OVER" }
            ));
        }
        out.push_str("\n| binary | size | exec to ready | peak RSS |\n|---|---:|---:|---:|\n");
        for b in &self.binaries {
            out.push_str(&format!(
                "| {} | {:.1} MB | {} | {} |\n",
                b.name,
                b.bytes as f64 / 1_000_000.0,
                b.ready_ms
                    .map_or_else(|| "-".into(), |ms| format!("{ms:.0} ms")),
                b.peak_rss_kib.map_or_else(
                    || "-".into(),
                    |kib| format!("{:.1} MB", kib as f64 / 1024.0)
                ),
            ));
        }
        out
    }
}

/// A server under test: pinned to [`SERVER_CPU`], output to a log file.
struct Server {
    name: String,
    binary: PathBuf,
    url: String,
    child: Child,
    ready_ms: Option<f64>,
}

impl Server {
    async fn start(
        name: &str,
        binary: &Path,
        args: &[&str],
        env: BTreeMap<String, String>,
        port: u16,
        logs: &Path,
    ) -> anyhow::Result<Self> {
        let log = std::fs::File::create(logs.join(format!("{name}.log")))?;
        let started = Instant::now();
        let child = Command::new("taskset")
            .args(["-c", SERVER_CPU])
            .arg(binary)
            .args(args)
            .env_clear()
            .env("PATH", env_var("PATH").unwrap_or_default())
            .envs(env)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut server = Self {
            name: name.to_owned(),
            binary: binary.to_owned(),
            url: format!("http://127.0.0.1:{port}"),
            child,
            ready_ms: None,
        };
        let probe = if args == ["bare"] {
            "/v1/static"
        } else {
            "/readyz"
        };
        let http = reqwest::Client::new();
        let deadline = started + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                bail!(
                    "{name} exited ({status}) before it was ready; see {}",
                    logs.join(format!("{name}.log")).display()
                );
            }
            if http
                .get(format!("{}{probe}", server.url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                server.ready_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!("{name} was not ready within 60s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Peak resident set size so far, from `/proc`.
    fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

async fn bench(
    args: &Bench,
    root: &Path,
    platform: &Platform,
    bin_dir: &Path,
    out_dir: &Path,
) -> anyhow::Result<Report> {
    let mut backing = Backing::default();
    let outcome = async {
        step("PostgreSQL, Redis, Kafka");
        let pg = backing.postgres().await?;
        let redis = backing.redis().await?;
        let kafka = backing.kafka(platform)?;
        let stores = Stores {
            pg,
            redis,
            kafka,
            // None of the benchmarked services sends mail, so no sink is started.
            mail: String::new(),
            mail_viewer: 0,
            scratch: Some(format!("bench_{}", std::process::id())),
        };
        let services: Vec<&Service> = SERVICES
            .iter()
            .map(|name| {
                platform
                    .services
                    .get(*name)
                    .with_context(|| format!("platform.toml declares no {name}"))
            })
            .collect::<anyhow::Result<_>>()?;
        up::create_databases(&stores, &services).await?;
        let outcome = measure(args, root, platform, &services, &stores, bin_dir, out_dir).await;
        step("removing the bench databases and Redis keys");
        if let Err(error) = up::remove_scratch(&stores, &services).await {
            eprintln!("    could not remove everything: {error:#}");
        }
        outcome
    }
    .await;
    backing.stop().await;
    outcome
}

async fn measure(
    args: &Bench,
    root: &Path,
    platform: &Platform,
    services: &[&Service],
    stores: &Stores,
    bin_dir: &Path,
    out_dir: &Path,
) -> anyhow::Result<Report> {
    let logs = out_dir.join("logs");
    let mut servers: Vec<Server> = Vec::new();
    let outcome = async {
        // Started one at a time, so each exec-to-ready time is its own.
        for service in services {
            step(&format!("starting {}", service.name));
            let mut env = up::service_env(platform, service, stores)?;
            env.insert("LOG_FORMAT".into(), "json".into());
            // `up`'s environment lifts the per-IP limits (one local client); the bench's one
            // user would hit the per-user limit too. The limiter still runs.
            env.insert("GATEWAY_RATE_PER_USER".into(), "1000000000".into());
            servers.push(
                Server::start(
                    &service.name,
                    &bin_dir.join(&service.name),
                    &[],
                    env,
                    service.port,
                    &logs,
                )
                .await?,
            );
        }
        let product = services
            .iter()
            .find(|s| s.name == "product")
            .context("product")?;
        for mode in ["bare", "kit"] {
            let port = up::free_port()?;
            let mut env = BTreeMap::new();
            env.insert("PORT".to_owned(), port.to_string());
            env.insert("HOST".to_owned(), "127.0.0.1".to_owned());
            env.insert("LOG_FORMAT".to_owned(), "json".to_owned());
            env.insert("DRAIN_DELAY".to_owned(), "0s".to_owned());
            step(&format!("starting bench-server {mode}"));
            servers.push(
                Server::start(
                    &format!("bench-server {mode}"),
                    &bin_dir.join("bench-server"),
                    &[mode],
                    env,
                    port,
                    &logs,
                )
                .await?,
            );
        }

        step("loading the demo catalogue");
        let signer = platform.token_signer().context("no token signer")?;
        let target = crate::seed::target(url_of(&servers, "api-gateway")?, stores.database_url(signer)?)?;
        crate::seed::seed(&target, &mut |_| {}).await?;
        let (product_id, variant_id) = a_product(&url_of(&servers, "api-gateway")?).await?;
        let product_path = format!("/v1/products/{product_id}");

        let load = Load {
            seconds: args.seconds,
            connections: args.connections,
            out_dir: out_dir.to_owned(),
        };
        let mut comparisons = Vec::new();

        let bare = format!("{}/v1/static", url_of(&servers, "bench-server bare")?);
        if args.wants(Which::Kit) {
            step("kit stack: GET /v1/static, kit vs bare axum");
            let kit = format!("{}/v1/static", url_of(&servers, "bench-server kit")?);
            comparisons.push(
                compare(
                    "kit stack",
                    "bench-server kit",
                    "bare axum",
                    0.6,
                    args.rounds,
                    || load.wrk(&kit, None),
                    || load.wrk(&bare, None),
                )
                .await?,
            );
        }

        let cached = format!("{}{product_path}", url_of(&servers, "product")?);
        load.wrk(&cached, None).await?; // warm: the first read fills the cache
        if args.wants(Which::ProductCached) {
            step("product by id from the cache vs bare axum");
            comparisons.push(
                compare(
                    "product by id, cached",
                    "product",
                    "bare axum",
                    0.25,
                    args.rounds,
                    || load.wrk(&cached, None),
                    || load.wrk(&bare, None),
                )
                .await?,
            );
        }

        if args.wants(Which::ProductUncached) {
            // Only while it is measured: its outbox relay, woken by every commit to product's
            // database, would tax the comparisons after it.
            let uncached_port = up::free_port()?;
            let mut env = up::service_env(platform, product, stores)?;
            env.insert("LOG_FORMAT".into(), "json".into());
            env.insert("PORT".into(), uncached_port.to_string());
            env.insert("PRODUCT_CACHE_TTL".into(), "0s".into());
            step("starting product with PRODUCT_CACHE_TTL=0s");
            servers.push(
                Server::start(
                    "product-uncached",
                    &bin_dir.join("product"),
                    &[],
                    env,
                    uncached_port,
                    &logs,
                )
                .await?,
            );
            step("product by id without the cache vs pgbench on the same SQL");
            let uncached = format!("{}{product_path}", url_of(&servers, "product-uncached")?);
            let script = pgbench_script(root, &out_dir.join("product_by_id.sql"))?;
            let database = stores.database_url(product)?;
            comparisons.push(
                compare(
                    "product by id, uncached",
                    "product (PRODUCT_CACHE_TTL=0s)",
                    "pgbench -f product's SQL",
                    0.3,
                    args.rounds,
                    || load.wrk(&uncached, None),
                    || load.pgbench(&database, &script, &product_id),
                )
                .await?,
            );
            if let Some(at) = servers.iter().position(|s| s.name == "product-uncached") {
                let server = servers.remove(at);
                up::stop_all(&mut [(server.name, server.child)]).await;
            }
        }

        if args.wants(Which::Cart) {
            step("cart add vs redis-benchmark on the same commands");
            let cart = url_of(&servers, "cart")?;
            let redis_key = format!(
                "{}:cart:",
                stores
                    .scratch
                    .as_deref()
                    .unwrap_or("bench")
                    .replace('_', "-")
            );
            let mut round = 0u32;
            comparisons.push(
                compare(
                    "cart add",
                    "cart",
                    "redis-benchmark",
                    0.3,
                    args.rounds,
                    || {
                        round += 1;
                        let script = add_script(out_dir, round, &variant_id);
                        let cart = cart.clone();
                        let load = &load;
                        async move { load.wrk(&format!("{cart}/"), Some(&script?)).await }
                    },
                    || load.redis_cart_add(root, &stores.redis, &redis_key, &variant_id),
                )
                .await?,
            );
        }

        if args.wants(Which::Gateway) {
            step("through the gateway vs direct to product");
            let through = format!("{}{product_path}", url_of(&servers, "api-gateway")?);
            comparisons.push(
                compare(
                    "gateway",
                    "api-gateway → product",
                    "product direct",
                    0.35,
                    args.rounds,
                    || load.wrk(&through, None),
                    || load.wrk(&cached, None),
                )
                .await?,
            );
        }

        if args.wants(Which::Checkout) {
            step("checkout vs pgbench on the statements of order and product it runs");
            let order = services
                .iter()
                .find(|s| s.name == "order")
                .context("order")?;
            let product_db = stores.database_url(product)?;
            let order_db = stores.database_url(order)?;
            let fixture = checkout::fixture(
                &url_of(&servers, "api-gateway")?,
                &product_db,
                &product_id,
                &variant_id,
            )
            .await?;
            let scripts = checkout::pgbench_scripts(root, out_dir, &fixture)?;
            let copies = [
                format!("{}_baseline", order.crate_ident()),
                format!("{}_baseline", product.crate_ident()),
            ]
            .map(|name| format!("{name}_{}", std::process::id()));
            let compared = async {
                let order_copy =
                    checkout::copy_database(&stores.pg, &order_db, &copies[0], false).await?;
                let product_copy =
                    checkout::copy_database(&stores.pg, &product_db, &copies[1], true).await?;
                let order_url = url_of(&servers, "order")?;
                let mut round = 0u32;
                compare(
                    "checkout",
                    "order → product",
                    "pgbench -f their SQL",
                    0.5,
                    args.rounds,
                    || {
                        round += 1;
                        let script = checkout::wrk_script(out_dir, round, &fixture);
                        let order_url = order_url.clone();
                        let load = &load;
                        async move { load.wrk(&format!("{order_url}/"), Some(&script?)).await }
                    },
                    || load.checkout_sql(&order_copy, &product_copy, &scripts),
                )
                .await
            }
            .await;
            if let Err(error) = checkout::drop_databases(&stores.pg, &copies).await {
                eprintln!("    could not drop the baseline's databases: {error:#}");
            }
            comparisons.push(compared?);
        }

        let mut latencies = Vec::new();
        if args.wants(Which::OutboxLag) {
            step("outbox lag: auth's sign-up, commit to user.registered on the topic, vs raw rdkafka");
            latencies.push(outbox_lag(&url_of(&servers, "auth")?, &stores.kafka).await?);
        }

        let binaries = servers
            .iter()
            .filter(|s| s.name != "product-uncached" && s.name != "bench-server bare")
            .map(|s| Binary {
                name: s.name.clone(),
                bytes: std::fs::metadata(&s.binary).map_or(0, |m| m.len()),
                ready_ms: s.ready_ms,
                peak_rss_kib: s.peak_rss_kib(),
            })
            .collect();
        Ok(Report {
            profile: args.profile.clone(),
            comparisons,
            latencies,
            binaries,
        })
    }
    .await;
    step("stopping");
    let mut children: Vec<(String, Child)> =
        servers.into_iter().map(|s| (s.name, s.child)).collect();
    up::stop_all(&mut children).await;
    outcome
}

/// The URL of the running server `name`.
fn url_of(servers: &[Server], name: &str) -> anyhow::Result<String> {
    servers
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.url.clone())
        .with_context(|| format!("{name} is not running"))
}

/// Runs baseline and subject alternately `rounds` times.
async fn compare<S, SF, B, BF>(
    name: &'static str,
    subject: &str,
    baseline: &str,
    floor: f64,
    rounds: usize,
    mut run_subject: S,
    mut run_baseline: B,
) -> anyhow::Result<Comparison>
where
    S: FnMut() -> SF,
    SF: std::future::Future<Output = anyhow::Result<f64>>,
    B: FnMut() -> BF,
    BF: std::future::Future<Output = anyhow::Result<f64>>,
{
    let mut results = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let base = run_baseline().await?;
        let subj = run_subject().await?;
        eprintln!(
            "    round {round}: {subject} {subj:.0} req/s, {baseline} {base:.0} req/s, ratio {:.2}",
            subj / base
        );
        results.push((subj, base));
    }
    Ok(Comparison {
        name,
        subject: subject.to_owned(),
        baseline: baseline.to_owned(),
        subject_rps: median(results.iter().map(|r| r.0)),
        baseline_rps: median(results.iter().map(|r| r.1)),
        ratio: median(results.iter().map(|r| r.0 / r.1)),
        floor,
        rounds: results,
    })
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => f64::midpoint(values[n / 2 - 1], values[n / 2]),
    }
}

/// Samples per latency measurement (after a few warm-up ones).
const LAG_SAMPLES: usize = 200;
const LAG_WARMUP: usize = 5;

/// A consumer of `topic` from its beginning (a new group: nothing committed), fetching without
/// delay (the same for the subject and the baseline, so their difference is the path under
/// test).
async fn lag_consumer(
    brokers: &str,
    topic: &str,
) -> anyhow::Result<rdkafka::consumer::StreamConsumer> {
    use rdkafka::consumer::Consumer as _;
    let consumer: rdkafka::consumer::StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set(
            "group.id",
            format!("bench-lag-{}-{topic}", std::process::id()),
        )
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "1")
        .create()?;
    consumer.subscribe(&[topic])?;
    // Joined once partitions are assigned (and their positions known).
    let deadline = Instant::now() + Duration::from_secs(30);
    while consumer.assignment()?.count() == 0 {
        if Instant::now() > deadline {
            bail!("no partition of {topic} was assigned within 30s");
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await;
    }
    Ok(consumer)
}

/// Waits for the message `matches` accepts; when it arrived.
async fn receive(
    consumer: &rdkafka::consumer::StreamConsumer,
    what: &str,
    mut matches: impl FnMut(&Value) -> bool,
) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    use rdkafka::message::Message as _;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let message = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .with_context(|| format!("{what} did not arrive within 10s"))??;
        let arrived = chrono::Utc::now();
        let body: Value = message
            .payload()
            .and_then(|p| serde_json::from_slice(p).ok())
            .unwrap_or(Value::Null);
        if matches(&body) {
            return Ok(arrived);
        }
    }
}

/// p50 and p99 of `samples` (milliseconds).
fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

/// The `q` quantile (0 to 1) of `sorted` samples, by nearest rank; `sorted` is not empty.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

/// The outbox's lag: auth signs up one account at a time; each `user.registered` is timed from
/// its `occurred_at` (stamped in the transaction that commits it with the account) to its
/// arrival at a consumer. The baseline is raw rdkafka: a producer with the kit's linger sends a
/// message stamped just before sending, to the same broker and consumer settings.
async fn outbox_lag(auth: &str, brokers: &str) -> anyhow::Result<Latency> {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let ms = |from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>| {
        (to - from).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0
    };

    let consumer = lag_consumer(brokers, "user.v1").await?;
    let http = reqwest::Client::new();
    let mut subject = Vec::with_capacity(LAG_SAMPLES);
    for i in 0..LAG_WARMUP + LAG_SAMPLES {
        let email = format!("lag-{}-{i}@bench.example.com", std::process::id());
        let body = serde_json::json!({"email": email, "password": "correct horse battery staple"});
        http.post(format!("{auth}/v1/auth/signup"))
            .json(&body)
            .send()
            .await?
            .error_for_status()
            .context("sign-up failed")?;
        let mut occurred = None;
        let arrived = receive(&consumer, "user.registered", |envelope| {
            let ours = envelope["payload"]["email"] == email.as_str();
            if ours {
                occurred = envelope["occurred_at"].as_str().map(str::to_owned);
            }
            ours
        })
        .await?;
        let occurred: chrono::DateTime<chrono::Utc> = occurred
            .context("an event without occurred_at")?
            .parse()
            .context("occurred_at is not RFC 3339")?;
        if i >= LAG_WARMUP {
            subject.push(ms(occurred, arrived));
        }
    }

    drop(consumer);
    let topic = format!("bench.lag-{}", std::process::id());
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", kit::kafka::LINGER.as_millis().to_string())
        .create()?;
    // The first send creates the topic (brokers and the embedded one create on first use).
    producer
        .send(
            FutureRecord::<str, str>::to(&topic).payload("{}"),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)?;
    let consumer = lag_consumer(brokers, &topic).await?;
    let mut baseline = Vec::with_capacity(LAG_SAMPLES);
    for i in 0..LAG_WARMUP + LAG_SAMPLES {
        let sent = chrono::Utc::now();
        let payload = serde_json::json!({"n": i}).to_string();
        producer
            .send(
                FutureRecord::<str, str>::to(&topic).payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)?;
        let arrived = receive(&consumer, "the baseline's message", |body| body["n"] == i).await?;
        if i >= LAG_WARMUP {
            baseline.push(ms(sent, arrived));
        }
    }

    let (subject_p50_ms, subject_p99_ms) = percentiles(subject);
    let (baseline_p50_ms, baseline_p99_ms) = percentiles(baseline);
    eprintln!(
        "    outbox p50 {subject_p50_ms:.1} ms, p99 {subject_p99_ms:.1} ms; raw rdkafka p50 {baseline_p50_ms:.1} ms, p99 {baseline_p99_ms:.1} ms"
    );
    Ok(Latency {
        name: "outbox lag",
        subject: "auth sign-up commit → user.registered consumed".to_owned(),
        baseline: "raw rdkafka produce → consumed".to_owned(),
        subject_p50_ms,
        subject_p99_ms,
        baseline_p50_ms,
        baseline_p99_ms,
        ratio: subject_p99_ms / baseline_p99_ms,
        // Woken by NOTIFY, the relay adds a query and a transaction to the baseline's path; a
        // relay that waited for its poll would be near 100x.
        ceiling: 5.0,
        context: format!(
            "relay poll {} ms, linger {} ms",
            kit::outbox::POLL.as_millis(),
            kit::kafka::LINGER.as_millis()
        ),
    })
}

/// A product for sale with stock, and one of its variants in stock.
async fn a_product(api: &str) -> anyhow::Result<(String, String)> {
    let products = crate::load::in_stock(&reqwest::Client::new(), api, 20).await?;
    products
        .into_iter()
        .next()
        .context("the demo catalogue has no product in stock")
}

/// The statements product runs for one uncached read, from the files it compiles in, with
/// `$1` as pgbench's `:id`.
fn pgbench_script(root: &Path, out: &Path) -> anyhow::Result<PathBuf> {
    let sql = root.join("services/product/src/sql");
    let mut script = String::new();
    for file in ["product.sql", "variants_of_product.sql"] {
        let text = std::fs::read_to_string(sql.join(file))
            .with_context(|| format!("cannot read {}", sql.join(file).display()))?;
        script.push_str(&text.replace("$1", ":id"));
        script.push('\n');
    }
    std::fs::write(out, script)?;
    Ok(out.to_owned())
}

/// A wrk script adding one unit of `variant` to a new guest cart per request (ids unique to the
/// round, so no cart reaches the variant's stock).
fn add_script(out_dir: &Path, round: u32, variant: &str) -> anyhow::Result<PathBuf> {
    let path = out_dir.join(format!("cart_add_{round}.lua"));
    let prefix = format!("{:08x}-{:04x}-4000-8000", std::process::id(), round);
    std::fs::write(
        &path,
        format!(
            r#"-- Generated by cargo xtask bench: POST /v1/carts/<new guest cart>/items.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local body = '{{"variant_id":"{variant}","quantity":1}}'
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, string.format("/v1/carts/{prefix}-%012x/items", n), nil, body)
end
"#
        ),
    )?;
    Ok(path)
}

/// The load generators, pinned to [`LOAD_CPU`].
struct Load {
    seconds: u64,
    connections: u32,
    out_dir: PathBuf,
}

impl Load {
    /// Requests per second `wrk` reaches; an error when more than 1% were not 2xx/3xx.
    async fn wrk(&self, url: &str, script: Option<&Path>) -> anyhow::Result<f64> {
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", LOAD_CPU, "wrk", "-t1"])
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", self.seconds));
        if let Some(script) = script {
            cmd.arg("-s").arg(script);
        }
        let out = cmd.arg(url).output().await.context("cannot run wrk")?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "wrk {url} failed: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let number = |prefix: &str| -> Option<f64> {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(prefix))
                .and_then(|v| v.trim().parse().ok())
        };
        let rps =
            number("Requests/sec:").with_context(|| format!("no rate in wrk's output: {text}"))?;
        let total = text
            .lines()
            .find_map(|l| l.trim().split_once(" requests in "))
            .and_then(|(n, _)| n.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        let failed = number("Non-2xx or 3xx responses:").unwrap_or(0.0);
        if total == 0.0 || failed > total / 100.0 {
            bail!(
                "{url}: {failed} of {total} responses were not 2xx/3xx; see {}",
                self.out_dir.join("logs").display()
            );
        }
        Ok(rps)
    }

    /// Transactions per second of `pgbench` running `script` (prepared statements, as sqlx
    /// sends them; as many clients as product's pool has connections).
    async fn pgbench(&self, database_url: &str, script: &Path, id: &str) -> anyhow::Result<f64> {
        self.pgbench_vars(database_url, script, &[("id".to_owned(), id.to_owned())])
            .await
    }

    /// [`Load::pgbench`] with the script's variables (`-D name=value`).
    async fn pgbench_vars(
        &self,
        database_url: &str,
        script: &Path,
        vars: &[(String, String)],
    ) -> anyhow::Result<f64> {
        let mut cmd = Command::new("taskset");
        cmd.args([
            "-c", LOAD_CPU, "pgbench", "-n", "-M", "prepared", "-c", "10", "-j", "1",
        ])
        .arg(format!("-T{}", self.seconds))
        .arg("-f")
        .arg(script);
        for (name, value) in vars {
            cmd.arg("-D").arg(format!("{name}={value}"));
        }
        let out = cmd
            // libpq does not know sqlx's URL parameters (statement-cache-capacity, ...).
            .arg(database_url.split('?').next().unwrap_or(database_url))
            .output()
            .await
            .context("cannot run pgbench")?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "pgbench failed: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        text.lines()
            .find_map(|l| l.strip_prefix("tps = "))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no tps in pgbench's output: {text}"))
    }

    /// Adds per second `redis-benchmark` reaches running the Redis commands of one cart add: the
    /// read of the cart with its expiry pushed back (cart reads it first, to ask product about
    /// every line in one call) and the add script (from cart's source; it answers the lines),
    /// each measured alone; one add costs the sum of their times.
    async fn redis_cart_add(
        &self,
        root: &Path,
        redis_url: &str,
        prefix: &str,
        variant: &str,
    ) -> anyhow::Result<f64> {
        let script = cart_add_lua(root)?;
        let client = redis::Client::open(redis_url)?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let sha: String = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(&script)
            .query_async(&mut conn)
            .await?;
        let info = client.get_connection_info();
        let (host, port) = match &info.addr {
            redis::ConnectionAddr::Tcp(host, port) => (host.clone(), *port),
            other => bail!("redis-benchmark needs a TCP Redis, not {other:?}"),
        };
        let key = format!("{prefix}anonymous:__rand_int__");
        let ttl = (30u64 * 24 * 3600 * 1000).to_string();
        let commands: [Vec<&str>; 3] = [
            vec!["EVALSHA", &sha, "1", &key, variant, "1", "99", &ttl, "50"],
            vec!["HGETALL", &key],
            vec!["PEXPIRE", &key, &ttl],
        ];
        let mut seconds_per_add = 0.0;
        for command in commands {
            let requests = (self.seconds * 40_000).to_string();
            let out = Command::new("taskset")
                .args(["-c", LOAD_CPU, "redis-benchmark", "-h", &host])
                .args(["-p", &port.to_string()])
                .args(["-c", &self.connections.to_string(), "-n", &requests])
                .args(["-r", "1000000", "--csv"])
                .args(&command)
                .output()
                .await
                .context("cannot run redis-benchmark")?;
            let text = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() {
                bail!(
                    "redis-benchmark failed: {text}{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let rps: f64 = text
                .lines()
                .nth(1)
                .and_then(|l| l.split(',').nth(1))
                .and_then(|v| v.trim_matches('"').parse().ok())
                .with_context(|| format!("no rate in redis-benchmark's output: {text}"))?;
            seconds_per_add += 1.0 / rps;
        }
        Ok(1.0 / seconds_per_add)
    }
}

/// The Lua of cart's add script: the file cart compiles in.
fn cart_add_lua(root: &Path) -> anyhow::Result<String> {
    let path = root.join("services/cart/src/lua/add.lua");
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_ranks() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentiles(samples), (51.0, 99.0));
    }

    #[test]
    fn the_median_of_an_odd_and_an_even_count() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median([4.0, 1.0, 2.0, 3.0].into_iter()), 2.5);
    }

    #[test]
    fn the_baselines_read_the_services_own_sources() {
        let root = crate::root();
        assert!(cart_add_lua(&root).unwrap().contains("redis.call('HSET'"));
        let dir = tempfile::tempdir().unwrap();
        let script = pgbench_script(&root, &dir.path().join("s.sql")).unwrap();
        let text = std::fs::read_to_string(script).unwrap();
        assert_eq!(text.matches(":id").count(), 2, "{text}");
        assert!(!text.contains("$1"));
    }
}
