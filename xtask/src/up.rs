//! `cargo xtask up`: the whole platform on this machine.
//!
//! Steps, each reported as it happens: find or start PostgreSQL and Redis (the ones on localhost
//! when they answer, otherwise temporary servers from the system's binaries, otherwise an error
//! naming the package to install); use `KAFKA_BROKERS` or start an embedded broker and create
//! every topic in platform.toml; build the service binaries; create each service's database;
//! start every service with its configuration (ports from platform.toml, generated development
//! secrets); wait for `/readyz`; print a table of URLs and health; stream logs prefixed by
//! service. Ctrl-C (or SIGTERM) stops the services with SIGTERM, waits for them to drain, stops
//! what `up` started and exits 0.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use sqlx::{Connection as _, Executor as _, PgConnection};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::model::{JWKS_PATH, Platform, Secret, SecretKind, Service};
use crate::settings::{Setting, local_trusted_proxy_hops, settings, token_value};

/// A service's base URL on this machine.
pub(crate) fn local_url(service: &Service) -> String {
    format!("http://127.0.0.1:{}", service.port)
}

/// Arguments of `cargo xtask up`.
#[derive(Debug, Args)]
pub struct Up {
    /// Start only these services (comma-separated); default: all.
    #[arg(long, value_delimiter = ',', value_name = "SERVICE")]
    pub only: Vec<String>,
    /// Build and run release binaries.
    #[arg(long)]
    pub release: bool,
    /// Start everything, wait until every service is ready, print the table, then stop cleanly
    /// and exit (0 when all were ready and stopped cleanly). For CI smoke tests.
    #[arg(long)]
    pub smoke: bool,
    /// Once every service is ready (and the catalogue seeded), run this shell command, then stop
    /// everything; exit non-zero when it fails. The command gets UP_SERVICES ("name=url" pairs,
    /// space-separated), UP_API (the gateway) and UP_ADMIN_EMAIL / UP_ADMIN_PASSWORD. For
    /// contract tests against the running platform (see .ci/schemathesis).
    #[arg(long, value_name = "COMMAND", conflicts_with = "smoke")]
    pub then: Option<String>,
    /// Throwaway state: databases `<service>_scratch_<pid>` and Redis keys under
    /// `scratch-<pid>:`, removed when `up` stops, so tests leave your local catalogue, carts and
    /// accounts alone.
    #[arg(long)]
    pub scratch: bool,
    /// Seconds to wait for every service to become ready.
    #[arg(long, default_value_t = 120)]
    pub ready_timeout: u64,
}

pub fn run(args: &Up) -> anyhow::Result<()> {
    let root = crate::root();
    let platform = crate::load_platform()?;
    let services = select(&root, &platform, args)?;
    // Built before the async runtime starts: `cargo build` blocks for minutes.
    step(&format!(
        "building {} services (cargo build)",
        services.len()
    ));
    let bin_dir = build(&root, &services, args.release)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(up(args, &platform, &services, &bin_dir))
}

pub(crate) fn step(message: &str) {
    eprintln!("==> {message}");
}

#[allow(clippy::disallowed_methods)] // the developer's environment configures `up`
pub(crate) fn env_var(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

/// The services to start (`--only`, or all with a crate), after checking their ports are free.
fn select<'a>(root: &Path, platform: &'a Platform, args: &Up) -> anyhow::Result<Vec<&'a Service>> {
    if let Some(unknown) = args
        .only
        .iter()
        .find(|n| !platform.services.contains_key(*n))
    {
        bail!("--only {unknown:?}: no such service in platform.toml");
    }
    let services: Vec<&Service> = platform
        .services
        .values()
        .filter(|s| args.only.is_empty() || args.only.contains(&s.name))
        .filter(|s| {
            root.join("services")
                .join(&s.name)
                .join("Cargo.toml")
                .exists()
        })
        .collect();
    for s in &services {
        if std::net::TcpListener::bind(("127.0.0.1", s.port)).is_err() {
            bail!(
                "port {} of {} is in use on 127.0.0.1; stop whatever listens there (another `cargo xtask up`?)",
                s.port,
                s.name
            );
        }
    }
    Ok(services)
}

async fn up(
    args: &Up,
    platform: &Platform,
    services: &[&Service],
    bin_dir: &Path,
) -> anyhow::Result<()> {
    let mut backing = Backing::default();
    let outcome = async {
        step("PostgreSQL");
        let pg = backing.postgres().await?;
        step("Redis");
        let redis = backing.redis().await?;
        step("Kafka");
        let kafka = backing.kafka(platform)?;
        step("mail");
        let (mail, mail_viewer) = backing.mail().await?;
        let stores = Stores {
            pg,
            redis,
            kafka,
            mail,
            mail_viewer,
            scratch: args
                .scratch
                .then(|| format!("scratch_{}", std::process::id())),
        };
        step("creating databases");
        let outcome = async {
            create_databases(&stores, services).await?;
            step(&format!("starting {} services", services.len()));
            run_services(platform, services, &stores, bin_dir, args).await
        }
        .await;
        if stores.scratch.is_some() {
            step("removing the scratch databases and Redis keys");
            if let Err(error) = remove_scratch(&stores, services).await {
                eprintln!("    could not remove everything: {error:#}");
            }
        }
        outcome
    }
    .await;
    backing.stop().await;
    outcome
}

/// Where the stores are.
pub(crate) struct Stores {
    /// Admin URL (maintenance database) of the PostgreSQL server.
    pub(crate) pg: String,
    pub(crate) redis: String,
    pub(crate) kafka: String,
    /// The mail sink's SMTP URL (the value of every `smtp-relay` secret locally).
    pub(crate) mail: String,
    /// The port of the page listing the mail sent.
    pub(crate) mail_viewer: u16,
    /// `--scratch`: the suffix of every database name and the prefix of every Redis key.
    pub(crate) scratch: Option<String>,
}

impl Stores {
    /// The database of `service` (its crate name; with a suffix under `--scratch`).
    fn database(&self, service: &Service) -> String {
        match &self.scratch {
            Some(scratch) => format!("{}_{scratch}", service.crate_ident()),
            None => service.crate_ident(),
        }
    }

    /// The database URL of `service`.
    pub(crate) fn database_url(&self, service: &Service) -> anyhow::Result<String> {
        use sqlx::ConnectOptions as _;
        Ok(kit::db::with_database(&self.pg, &self.database(service))?
            .to_url_lossy()
            .to_string())
    }
}

/// The port of the mail viewer `up` serves (MailHog's and Mailpit's, familiar), when free.
pub const MAIL_VIEWER_PORT: u16 = 8025;

/// Backing servers `up` started itself, stopped on exit.
#[derive(Default)]
pub(crate) struct Backing {
    postgres: Option<TempPostgres>,
    redis: Option<Child>,
    broker: Option<kit::broker::EmbeddedBroker>,
    /// Stops the mail sink and its viewer.
    mail: Option<kit::Shutdown>,
    scratch: Option<PathBuf>,
}

struct TempPostgres {
    pg_ctl: PathBuf,
    data: PathBuf,
    run_as: Option<String>,
}

impl Backing {
    fn scratch(&mut self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.scratch {
            return Ok(dir.clone());
        }
        let dir = std::env::temp_dir().join(format!("shop-up-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        self.scratch = Some(dir.clone());
        Ok(dir)
    }

    pub(crate) async fn postgres(&mut self) -> anyhow::Result<String> {
        let url = env_var("UP_DATABASE_URL")
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
        if reachable_pg(&url).await {
            eprintln!("    using PostgreSQL at {}", kit::config::redact_url(&url));
            return Ok(url);
        }
        let Some(bin) = postgres_bin_dir() else {
            bail!(
                "no PostgreSQL answers at {} and no server binaries were found: install the `postgresql` package (Debian: apt-get install postgresql) or set UP_DATABASE_URL",
                kit::config::redact_url(&url)
            );
        };
        let port = free_port()?;
        let data = self.scratch()?.join("postgres");
        std::fs::create_dir_all(&data)?;
        let run_as = if is_root() {
            let user = "postgres";
            if !Command::new("id")
                .arg(user)
                .output()
                .await
                .is_ok_and(|o| o.status.success())
            {
                bail!(
                    "PostgreSQL refuses to run as root and there is no `postgres` user; install the `postgresql` package or run as a normal user"
                );
            }
            sh("chown", &["-R", user, path_str(&self.scratch()?)]).await?;
            Some(user.to_owned())
        } else {
            None
        };
        eprintln!(
            "    starting a temporary PostgreSQL on 127.0.0.1:{port} ({})",
            data.display()
        );
        let initdb = bin.join("initdb");
        run_maybe_as(
            run_as.as_deref(),
            &initdb,
            &[
                "-D",
                path_str(&data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
        )
        .await?;
        let pg_ctl = bin.join("pg_ctl");
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {}",
            data.display()
        );
        let log = data.join("server.log");
        run_maybe_as(
            run_as.as_deref(),
            &pg_ctl,
            &[
                "-D",
                path_str(&data),
                "-o",
                &options,
                "-l",
                path_str(&log),
                "-w",
                "start",
            ],
        )
        .await?;
        self.postgres = Some(TempPostgres {
            pg_ctl,
            data,
            run_as,
        });
        Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
    }

    pub(crate) async fn redis(&mut self) -> anyhow::Result<String> {
        let url = env_var("UP_REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into());
        if reachable_redis(&url).await {
            eprintln!("    using Redis at {}", kit::config::redact_url(&url));
            return Ok(url);
        }
        let Some(server) = which("redis-server") else {
            bail!(
                "no Redis answers at {} and `redis-server` was not found: install the `redis-server` package (Debian: apt-get install redis-server) or set UP_REDIS_URL",
                kit::config::redact_url(&url)
            );
        };
        let port = free_port()?;
        let dir = self.scratch()?;
        eprintln!("    starting a temporary Redis on 127.0.0.1:{port}");
        let child = Command::new(server)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                path_str(&dir),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start redis-server")?;
        self.redis = Some(child);
        let url = format!("redis://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !reachable_redis(&url).await {
            if Instant::now() > deadline {
                bail!("the temporary Redis did not start within 10s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(url)
    }

    /// The local mail sink (kit::mailsink) services with an `smtp-relay` secret send to, and its
    /// web page; the viewer's port is [`MAIL_VIEWER_PORT`] unless that is taken.
    pub(crate) async fn mail(&mut self) -> anyhow::Result<(String, u16)> {
        let shutdown = kit::Shutdown::new();
        let sink = kit::mailsink::MailSink::start(0, &shutdown)
            .await
            .context("cannot start the mail sink")?;
        let viewer = match sink.serve_web(MAIL_VIEWER_PORT, &shutdown).await {
            Ok(port) => port,
            Err(_) => sink
                .serve_web(0, &shutdown)
                .await
                .context("cannot serve the mail viewer")?,
        };
        eprintln!(
            "    mail sink at {}; the mail sent: http://127.0.0.1:{viewer}/",
            sink.url()
        );
        self.mail = Some(shutdown);
        Ok((sink.url(), viewer))
    }

    pub(crate) fn kafka(&mut self, platform: &Platform) -> anyhow::Result<String> {
        if let Some(brokers) = env_var("KAFKA_BROKERS") {
            eprintln!("    using KAFKA_BROKERS={brokers} (topics must exist or be auto-created)");
            return Ok(brokers);
        }
        let broker = kit::broker::EmbeddedBroker::start()
            .map_err(|e| anyhow::anyhow!("cannot start the embedded Kafka broker: {e}"))?;
        for topic in platform.topics.values() {
            let partitions = i32::try_from(topic.partitions).unwrap_or(1);
            broker
                .create_topic(&topic.name, partitions)
                .map_err(|e| anyhow::anyhow!("create topic {}: {e}", topic.name))?;
            broker
                .create_topic(&kit::kafka::dead_letter_topic(&topic.name), 1)
                .map_err(|e| anyhow::anyhow!("create topic {}: {e}", topic.name))?;
        }
        let bootstrap = broker.bootstrap_servers().to_owned();
        eprintln!(
            "    embedded Kafka broker at {bootstrap} with {} topics (and their .dlq)",
            platform.topics.len()
        );
        self.broker = Some(broker);
        Ok(bootstrap)
    }

    pub(crate) async fn stop(&mut self) {
        if let Some(mail) = self.mail.take() {
            mail.trigger();
        }
        if let Some(pg) = self.postgres.take() {
            eprintln!("    stopping the temporary PostgreSQL");
            let _ = run_maybe_as(
                pg.run_as.as_deref(),
                &pg.pg_ctl,
                &["-D", path_str(&pg.data), "-m", "fast", "-w", "stop"],
            )
            .await;
        }
        if let Some(mut redis) = self.redis.take() {
            eprintln!("    stopping the temporary Redis");
            let _ = redis.kill().await;
        }
        self.broker = None;
        if let Some(dir) = self.scratch.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

async fn sh(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(program)
        .args(args)
        .output()
        .await
        .with_context(|| format!("cannot run {program}"))?;
    if !out.status.success() {
        bail!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

async fn run_maybe_as(user: Option<&str>, program: &Path, args: &[&str]) -> anyhow::Result<()> {
    match user {
        Some(user) => {
            let mut all = vec!["-u", user, "--", path_str(program)];
            all.extend_from_slice(args);
            sh("runuser", &all).await
        }
        None => sh(path_str(program), args).await,
    }
}

pub(crate) fn which(program: &str) -> Option<PathBuf> {
    let path = env_var("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn postgres_bin_dir() -> Option<PathBuf> {
    if let Some(initdb) = which("initdb") {
        return initdb.parent().map(Path::to_path_buf);
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

async fn reachable_pg(url: &str) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(3), PgConnection::connect(url)).await,
        Ok(Ok(_))
    )
}

/// Whether Redis answers a PING at `url` (the kit's client: passwords, database numbers and
/// `rediss://` work as they do in the services).
async fn reachable_redis(url: &str) -> bool {
    let url = secrecy::SecretString::from(url.to_owned());
    matches!(
        tokio::time::timeout(Duration::from_secs(2), async {
            kit::redis::RedisStore::new(&url, "up:")?.ping().await
        })
        .await,
        Ok(Ok(()))
    )
}

/// Builds the binaries of `services`; returns the folder they are in.
fn build(root: &Path, services: &[&Service], release: bool) -> anyhow::Result<PathBuf> {
    let mut cmd = std::process::Command::new(env_var("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.arg("build").current_dir(root);
    if release {
        cmd.arg("--release");
    }
    for s in services {
        cmd.args(["-p", &s.name]);
    }
    cmd.arg("--bins");
    let status = cmd.status().context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build failed ({status})");
    }
    Ok(target_dir(root).join(if release { "release" } else { "debug" }))
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, else `target/` in the workspace).
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    let target = env_var("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    if target.is_absolute() {
        target
    } else {
        root.join(target)
    }
}

/// The database name of a service (`feature-flag` → `feature_flag`).
pub(crate) async fn create_databases(stores: &Stores, services: &[&Service]) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(&stores.pg)
        .await
        .context("cannot connect to PostgreSQL")?;
    for s in services.iter().filter(|s| s.postgres) {
        let name = stores.database(s);
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(&name)
                .fetch_optional(&mut conn)
                .await?;
        if exists.is_none() {
            conn.execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
                .await
                .with_context(|| format!("cannot create database {name}"))?;
            eprintln!("    created database {name}");
        }
    }
    conn.close().await.ok();
    Ok(())
}

/// Drops the `--scratch` databases and deletes the Redis keys under the scratch prefix.
pub(crate) async fn remove_scratch(stores: &Stores, services: &[&Service]) -> anyhow::Result<()> {
    let Some(scratch) = &stores.scratch else {
        return Ok(());
    };
    let mut conn = PgConnection::connect(&stores.pg).await?;
    for s in services.iter().filter(|s| s.postgres) {
        let name = stores.database(s);
        conn.execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str())
            .await
            .with_context(|| format!("cannot drop database {name}"))?;
    }
    conn.close().await.ok();
    let client = redis::Client::open(stores.redis.as_str())?;
    let mut redis = client.get_multiplexed_async_connection().await?;
    let pattern = format!("{}:*", scratch.replace('_', "-"));
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut redis)
            .await?;
        if !keys.is_empty() {
            redis::cmd("UNLINK")
                .arg(&keys)
                .query_async::<()>(&mut redis)
                .await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// Development values for declared secrets, new on every run and never written to disk, made as
/// their kind in platform.toml says: an Ed25519 private key (PKCS#8 PEM), 32 random bytes (hex),
/// or, for a value a person provides in a cluster, the developer's own from the environment or a
/// placeholder naming it.
fn dev_secret(secret: &Secret, stores: &Stores) -> anyhow::Result<String> {
    use rand::RngCore as _;
    Ok(match secret.kind {
        SecretKind::Ed25519Key => {
            use ed25519_dalek::pkcs8::EncodePrivateKey as _;
            let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
            key.to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                .map_err(|e| anyhow::anyhow!("cannot encode a development key: {e}"))?
                .to_string()
        }
        SecretKind::Random => {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            hex::encode(bytes)
        }
        // A third party's credential: the developer's own when set in `up`'s environment (e.g.
        // `PAYMENT_PROVIDER_KEY=sk_test_…` to try Stripe's test mode), else a placeholder the
        // services take for "local" (order's local test-mode payments).
        SecretKind::Provided => env_var(&crate::model::env_name(&secret.name))
            .unwrap_or_else(|| format!("local-development-{}", secret.name)),
        // Locally the relay is the mail sink `up` starts (see `Backing::mail`).
        SecretKind::SmtpRelay => stores.mail.clone(),
    })
}

/// The environment of one service process ([`settings`] says what each variable holds).
pub(crate) fn service_env(
    platform: &Platform,
    service: &Service,
    stores: &Stores,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    for (name, setting) in settings(platform, service) {
        let value = match setting {
            Setting::Host => "127.0.0.1".to_owned(),
            Setting::Port => service.port.to_string(),
            Setting::LogFormat => "pretty".to_owned(),
            Setting::ShutdownGrace => "10s".to_owned(),
            // No load balancer to leave locally: stop at once on Ctrl-C.
            Setting::DrainDelay => "0s".to_owned(),
            // Clients reach public services directly, the others through the API gateway.
            Setting::TrustedProxyHops => local_trusted_proxy_hops(service).to_string(),
            // No collector locally; export only when the developer points it at one.
            Setting::OtlpEndpoint => env_var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_default(),
            Setting::DatabaseUrl => stores.database_url(service)?,
            Setting::RedisUrl => stores.redis.clone(),
            Setting::KafkaBrokers => stores.kafka.clone(),
            Setting::Secret(secret) => dev_secret(&platform.secrets[&secret], stores)?,
            Setting::MailFrom => format!("no-reply@{}", platform.domain),
            Setting::ServiceUrl(target) => local_url(&platform.services[&target]),
            Setting::TokenIssuer | Setting::TokenAudience => {
                token_value(platform, &setting).unwrap_or_default()
            }
            Setting::PublicOrigin => local_url(service),
            Setting::StorefrontOrigin => platform
                .storefront_service()
                .map(local_url)
                .unwrap_or_default(),
            Setting::JwksUrl => platform
                .token_signer()
                .map(|signer| format!("{}{JWKS_PATH}", local_url(signer)))
                .unwrap_or_default(),
        };
        env.insert(name, value);
    }
    if let Some(scratch) = &stores.scratch {
        env.insert(
            "REDIS_PREFIX".to_owned(),
            format!("{}:{}:", scratch.replace('_', "-"), service.name),
        );
    }
    // Locally every client is 127.0.0.1 (each storefront visitor, every virtual user of
    // `cargo xtask load`), so per-IP limits would count them all as one; the per-user and
    // per-account limits stay as configured.
    let per_ip: &[&str] = if service.name == platform.gateway {
        &["GATEWAY_RATE_PER_IP"]
    } else if platform
        .token_signer()
        .is_some_and(|s| s.name == service.name)
    {
        &["AUTH_SIGNIN_MAX_PER_IP", "AUTH_SIGNUP_MAX_PER_IP"]
    } else {
        &[]
    };
    for name in per_ip {
        env.insert((*name).to_owned(), LOCAL_PER_IP_LIMIT.to_owned());
    }
    Ok(env)
}

/// The per-IP limits of a local platform (see [`service_env`]).
const LOCAL_PER_IP_LIMIT: &str = "1000000";

const COLORS: &[&str] = &[
    "31", "32", "33", "34", "35", "36", "91", "92", "93", "94", "95", "96",
];

async fn run_services(
    platform: &Platform,
    services: &[&Service],
    stores: &Stores,
    bin_dir: &Path,
    args: &Up,
) -> anyhow::Result<()> {
    let color = std::io::stderr().is_terminal();
    let width = services.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut children: Vec<(String, Child)> = Vec::new();
    let mut failed_to_start = None;
    for (i, s) in services.iter().enumerate() {
        let binary = bin_dir.join(&s.name);
        let mut cmd = Command::new(&binary);
        cmd.envs(service_env(platform, s, stores)?)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0) // Ctrl-C reaches `up`, which stops the services in order
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => {
                failed_to_start = Some(format!("cannot start {}: {e}", binary.display()));
                break;
            }
        };
        let prefix = if color {
            format!(
                "\x1b[{}m{:width$}\x1b[0m |",
                COLORS[i % COLORS.len()],
                s.name
            )
        } else {
            format!("{:width$} |", s.name)
        };
        if let Some(out) = child.stdout.take() {
            pipe(prefix.clone(), out);
        }
        if let Some(err) = child.stderr.take() {
            pipe(prefix, err);
        }
        children.push((s.name.clone(), child));
    }

    let ready = if failed_to_start.is_none() {
        wait_ready(
            services,
            &mut children,
            Duration::from_secs(args.ready_timeout),
        )
        .await
    } else {
        BTreeMap::new()
    };
    print_table(services, &ready);
    let all_ready = failed_to_start.is_none() && ready.values().all(|r| *r == Health::Ready);
    let seeded = if all_ready {
        seed_if_empty(platform, services, stores).await
    } else {
        Ok(None)
    };

    let mut then_failed = None;
    if let (Some(command), true, Ok(admin)) = (&args.then, all_ready, &seeded) {
        then_failed = run_then(command, platform, services, admin.as_ref())
            .await
            .err();
    } else if !args.smoke && all_ready && seeded.is_ok() {
        let storefront = platform.storefront.as_deref();
        if let Some(storefront) = services
            .iter()
            .find(|s| Some(s.name.as_str()) == storefront)
        {
            eprintln!(
                "\nstorefront: http://127.0.0.1:{}/   mail: http://127.0.0.1:{}/   (Ctrl-C stops everything)",
                storefront.port, stores.mail_viewer
            );
        } else {
            eprintln!("\nall services are up   (Ctrl-C stops everything)");
        }
        wait_for_stop(&mut children).await;
    }
    eprintln!();
    step("stopping services");
    let clean = stop_all(&mut children).await;
    if let Some(reason) = failed_to_start {
        bail!(reason);
    }
    if let Err(error) = seeded {
        bail!("cannot load the demo catalogue: {error:#}");
    }
    if !all_ready {
        bail!("not every service became ready (see the table and logs above)");
    }
    if let Some(error) = then_failed {
        return Err(error);
    }
    if !clean {
        bail!("not every service stopped cleanly");
    }
    step("stopped cleanly");
    Ok(())
}

/// Loads the demo catalogue when the catalogue is empty and the services it goes through run;
/// prints the admin account either way.
async fn seed_if_empty(
    platform: &Platform,
    services: &[&Service],
    stores: &Stores,
) -> anyhow::Result<Option<crate::seed::Target>> {
    let running = |name: &str| services.iter().any(|s| s.name == name);
    let Some(signer) = platform.token_signer() else {
        return Ok(None);
    };
    if !(running(&platform.gateway) && running(&signer.name) && running("product")) {
        return Ok(None);
    }
    let api = local_url(&platform.services[&platform.gateway]);
    let auth_database_url = stores.database_url(signer)?;
    let target = crate::seed::target(api.clone(), auth_database_url)?;
    if crate::seed::catalogue_is_empty(&api).await? {
        step("loading the demo catalogue (cargo xtask seed)");
        let seeded = crate::seed::seed(&target, &mut |line| eprintln!("{line}")).await?;
        eprintln!(
            "    {} categories, {} products, {} coupons",
            seeded.categories_created, seeded.products_created, seeded.coupons_created
        );
    } else {
        // The admin account exists once the catalogue does; make sure it still signs in.
        crate::seed::admin_token(&target).await?;
    }
    eprintln!(
        "    admin account: {} / {}",
        target.admin_email,
        if target.admin_password == crate::seed::LOCAL_ADMIN_PASSWORD {
            target.admin_password.as_str()
        } else {
            "(SEED_ADMIN_PASSWORD)"
        }
    );
    Ok(Some(target))
}

/// `--then`: runs `command` with `sh -c` against the running platform; Ctrl-C stops it too.
async fn run_then(
    command: &str,
    platform: &Platform,
    services: &[&Service],
    admin: Option<&crate::seed::Target>,
) -> anyhow::Result<()> {
    step(&format!("running: {command}"));
    let urls = services
        .iter()
        .map(|s| format!("{}={}", s.name, local_url(s)))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .env("UP_SERVICES", urls)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(gateway) = platform.services.get(&platform.gateway) {
        cmd.env("UP_API", local_url(gateway));
    }
    if let Some(admin) = admin {
        cmd.env("UP_ADMIN_EMAIL", &admin.admin_email)
            .env("UP_ADMIN_PASSWORD", &admin.admin_password);
    }
    let mut child = cmd.spawn().context("cannot start `sh`")?;
    let status = tokio::select! {
        status = child.wait() => status?,
        _ = tokio::signal::ctrl_c() => bail!("interrupted while running: {command}"),
    };
    if !status.success() {
        bail!("`{command}` failed ({status})");
    }
    step(&format!("`{command}` passed"));
    Ok(())
}

fn pipe(prefix: String, stream: impl tokio::io::AsyncRead + Unpin + Send + 'static) {
    #[allow(clippy::disallowed_methods)] // ends with the child's output; `up` is not a service
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("{prefix} {line}");
        }
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Ready,
    NotReady,
    Exited,
}

async fn wait_ready(
    services: &[&Service],
    children: &mut [(String, Child)],
    timeout: Duration,
) -> BTreeMap<String, Health> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("a plain HTTP client builds");
    let deadline = Instant::now() + timeout;
    let mut health: BTreeMap<String, Health> = services
        .iter()
        .map(|s| (s.name.clone(), Health::NotReady))
        .collect();
    let mut last_report = Instant::now();
    loop {
        for (s, (_, child)) in services.iter().zip(children.iter_mut()) {
            if health[&s.name] != Health::NotReady {
                continue;
            }
            if matches!(child.try_wait(), Ok(Some(_))) {
                health.insert(s.name.clone(), Health::Exited);
                continue;
            }
            let url = format!("http://127.0.0.1:{}/readyz", s.port);
            if client
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                health.insert(s.name.clone(), Health::Ready);
            }
        }
        let waiting = health.values().filter(|h| **h == Health::NotReady).count();
        if waiting == 0 || Instant::now() > deadline {
            return health;
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            let ready = health.values().filter(|h| **h == Health::Ready).count();
            eprintln!(
                "==> {ready}/{} services ready, waiting for {waiting}",
                health.len()
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn print_table(services: &[&Service], health: &BTreeMap<String, Health>) {
    let width = services
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(7)
        .max(7);
    eprintln!("\n{:width$}  {:7}  {:24}  HEALTH", "SERVICE", "TIER", "URL");
    for s in services {
        let state = match health.get(&s.name) {
            Some(Health::Ready) => "ready",
            Some(Health::Exited) => "exited",
            _ => "not ready",
        };
        let routes = if s.routes.is_empty() {
            String::new()
        } else {
            format!("  {}", s.routes.join(" "))
        };
        eprintln!(
            "{:width$}  {:7}  {:24}  {state}{routes}",
            s.name,
            s.tier,
            format!("http://127.0.0.1:{}", s.port)
        );
    }
}

async fn wait_for_stop(children: &mut [(String, Child)]) {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    // Reports each service that exits once; when none is left, `up` stops.
    let all_exited = async {
        let mut reported = vec![false; children.len()];
        while reported.iter().any(|r| !r) {
            for ((name, child), reported) in children.iter_mut().zip(reported.iter_mut()) {
                if *reported {
                    continue;
                }
                if let Ok(Some(status)) = child.try_wait() {
                    *reported = true;
                    eprintln!(
                        "==> {name} exited ({status}); the others keep running, Ctrl-C stops them"
                    );
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminated => {}
        () = all_exited => eprintln!("==> every service has exited"),
    }
}

/// Sends SIGTERM to every service, waits for them to drain; true when all exited with 0.
pub(crate) async fn stop_all(children: &mut [(String, Child)]) -> bool {
    for (_, child) in children.iter() {
        if let Some(pid) = child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
    }
    let mut clean = true;
    for (name, child) in children.iter_mut() {
        match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => {
                clean = false;
                eprintln!("    {name} exited with {status}");
            }
            _ => {
                clean = false;
                eprintln!("    {name} did not stop within 30s; killed");
                let _ = child.kill().await;
            }
        }
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_secrets_are_made_as_their_kind_says() {
        let secret = |kind| Secret {
            name: "x-key".into(),
            kind,
            description: String::new(),
        };
        let stores = Stores {
            pg: String::new(),
            redis: String::new(),
            kafka: String::new(),
            mail: "smtp://127.0.0.1:40025".into(),
            mail_viewer: 0,
            scratch: None,
        };
        let dev_secret = |kind| dev_secret(&secret(kind), &stores).unwrap();
        let pem = dev_secret(SecretKind::Ed25519Key);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        let random = dev_secret(SecretKind::Random);
        assert_eq!(random.len(), 64);
        assert_ne!(random, dev_secret(SecretKind::Random));
        assert_eq!(dev_secret(SecretKind::Provided), "local-development-x-key");
        assert_eq!(dev_secret(SecretKind::SmtpRelay), "smtp://127.0.0.1:40025");
    }
}
