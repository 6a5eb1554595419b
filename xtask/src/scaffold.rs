//! `cargo xtask new-service`: a new service crate from `templates/service`, its entry in
//! platform.toml (edited with toml_edit, so comments and order survive), and its rendered
//! manifests.
//!
//! Everything is computed and validated before the first file is written: a bad name, a taken
//! port or route, an unknown `--calls` target or an existing service exits non-zero with one line
//! and changes nothing.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use askama::Template;
use clap::Args;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, value};

use crate::codegen::Files;
use crate::model::{MAX_SERVICE_NAME, Platform, Service, env_name, is_kebab};

/// Arguments of `cargo xtask new-service`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  cargo xtask new-service loyalty --tier core --postgres --redis \\\n      --produces loyalty.v1 --calls product --route /v1/loyalty"
)]
pub struct NewService {
    /// Service name: lowercase letters, digits and dashes (a DNS label), e.g. `loyalty`.
    pub name: String,
    /// Tier, one of those declared under [tiers] in platform.toml (public, core, async).
    #[arg(long, required_unless_present = "from_platform", default_value = "")]
    pub tier: String,
    /// Scaffold the crate of a service already declared in platform.toml (all other flags are
    /// read from its declaration).
    #[arg(long, conflicts_with_all = ["tier", "port", "routes", "postgres", "redis", "verify_tokens", "produces", "consumes", "calls", "secrets", "description"])]
    pub from_platform: bool,
    /// One-line description (defaults to a placeholder you should edit).
    #[arg(long)]
    pub description: Option<String>,
    /// Port, unique across services (default: the next free one after the highest).
    #[arg(long)]
    pub port: Option<u16>,
    /// A route prefix exposed through the gateway, e.g. `/v1/loyalty` (repeatable). The gateway's
    /// `calls` gains this service.
    #[arg(long = "route", value_name = "PREFIX")]
    pub routes: Vec<String>,
    /// The service has its own PostgreSQL database.
    #[arg(long)]
    pub postgres: bool,
    /// The service uses Redis.
    #[arg(long)]
    pub redis: bool,
    /// The service serves users: it verifies their access tokens itself (`kit::auth`).
    #[arg(long)]
    pub verify_tokens: bool,
    /// A topic the service produces (repeatable); declared with defaults if new.
    #[arg(long, value_name = "TOPIC", value_delimiter = ',')]
    pub produces: Vec<String>,
    /// A topic the service consumes (repeatable); some service must produce it.
    #[arg(long, value_name = "TOPIC", value_delimiter = ',')]
    pub consumes: Vec<String>,
    /// A service this one may call (repeatable); the only way it may reach another service.
    #[arg(long, value_name = "SERVICE", value_delimiter = ',')]
    pub calls: Vec<String>,
    /// A secret the service reads (repeatable), e.g. `loyalty-api-key`, or `NAME=KIND` to say
    /// what it is when it is new: `random` (generated), `ed25519-key` (generated) or `provided`
    /// (a person supplies it; the default). A new secret is declared under [secrets].
    #[arg(long = "secret", value_name = "NAME[=KIND]")]
    pub secrets: Vec<String>,
}

impl NewService {
    /// The secrets' names and the kinds given for them.
    fn secret_names(&self) -> Vec<(String, Option<String>)> {
        self.secrets
            .iter()
            .map(|s| match s.split_once('=') {
                Some((name, kind)) => (name.to_owned(), Some(kind.to_owned())),
                None => (s.clone(), None),
            })
            .collect()
    }
}

/// A secret as the templates see it.
pub struct SecretVar {
    pub name: String,
    /// Environment variable, e.g. `SMTP_PASSWORD`.
    pub env: String,
    /// Config field, e.g. `smtp_password`.
    pub field: String,
}

impl SecretVar {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            env: env_name(name),
            field: name.replace('-', "_"),
        }
    }
}

// One template type per scaffold file; all share the same context fields.
macro_rules! scaffold_templates {
    ($($ty:ident => $path:literal),* $(,)?) => {
        $(
            #[derive(Template)]
            #[template(path = $path, escape = "none")]
            #[allow(dead_code)] // not every template reads every field
            struct $ty<'a> {
                s: &'a Service,
                ident: &'a str,
                secrets: &'a [SecretVar],
            }
        )*
    };
}

scaffold_templates! {
    CargoToml => "service/Cargo.toml.txt",
    MainRs => "service/src/main.rs.txt",
    LibRs => "service/src/lib.rs.txt",
    ConfigRs => "service/src/config.rs.txt",
    StartupRs => "service/src/startup.rs.txt",
    RoutesRs => "service/src/routes/mod.rs.txt",
    MigrationsReadme => "service/migrations/README.md.txt",
    TestMain => "service/tests/api/main.rs.txt",
    TestHelpers => "service/tests/api/helpers.rs.txt",
}

/// The scaffold's files for `service`, relative to the repository root. Its `src/platform.rs`
/// is not among them: `cargo xtask render` writes it from platform.toml.
pub fn scaffold_files(service: &Service) -> anyhow::Result<Files> {
    let ident = service.crate_ident();
    let secrets: Vec<SecretVar> = service.secrets.iter().map(|s| SecretVar::new(s)).collect();
    let dir = PathBuf::from("services").join(&service.name);
    let mut files = Files::new();
    macro_rules! add {
        ($ty:ident, $path:expr) => {
            files.add(
                dir.join($path),
                $ty {
                    s: service,
                    ident: &ident,
                    secrets: &secrets,
                }
                .render()?,
            )
        };
    }
    add!(CargoToml, "Cargo.toml");
    add!(MainRs, "src/main.rs");
    add!(LibRs, "src/lib.rs");
    add!(ConfigRs, "src/config.rs");
    add!(StartupRs, "src/startup.rs");
    add!(RoutesRs, "src/routes/mod.rs");
    if service.postgres {
        add!(MigrationsReadme, "migrations/README.md");
    }
    add!(TestMain, "tests/api/main.rs");
    add!(TestHelpers, "tests/api/helpers.rs");
    Ok(files)
}

/// Adds the service to platform.toml's text; returns the new text. Comments and order survive.
pub fn add_to_platform(
    source: &str,
    args: &NewService,
    port: u16,
    description: &str,
) -> anyhow::Result<String> {
    let mut doc: DocumentMut = source.parse().context("platform.toml is not valid TOML")?;
    let services = doc
        .get_mut("services")
        .and_then(Item::as_table_mut)
        .context("platform.toml has no [services] table")?;
    let mut table = Table::new();
    table.insert("description", value(description));
    table.insert("tier", value(&args.tier));
    table.insert("port", value(i64::from(port)));
    let list = |items: &[String]| {
        let mut a: Array = items.iter().map(String::as_str).collect();
        a.fmt();
        value(a)
    };
    if !args.routes.is_empty() {
        table.insert("routes", list(&args.routes));
    }
    if args.postgres {
        table.insert("postgres", value(true));
    }
    if args.redis {
        table.insert("redis", value(true));
    }
    if args.verify_tokens {
        table.insert("verify_tokens", value(true));
    }
    let secrets = args.secret_names();
    let secret_names: Vec<String> = secrets.iter().map(|(name, _)| name.clone()).collect();
    for (key, items) in [
        ("produces", &args.produces),
        ("consumes", &args.consumes),
        ("calls", &args.calls),
        ("secrets", &secret_names),
    ] {
        if !items.is_empty() {
            let mut sorted = items.clone();
            sorted.sort();
            table.insert(key, list(&sorted));
        }
    }
    let mut scaling = InlineTable::new();
    scaling.insert("min", 1.into());
    scaling.insert("max", 3.into());
    table.insert("scaling", value(scaling));
    services.insert(&args.name, Item::Table(table));

    // New secrets are declared with their kind.
    for (name, kind) in &secrets {
        let declared = doc
            .entry("secrets")
            .or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(true);
                Item::Table(t)
            })
            .as_table_mut()
            .context("`secrets` in platform.toml is not a table")?;
        if !declared.contains_key(name) {
            let mut t = Table::new();
            t.insert("kind", value(kind.as_deref().unwrap_or("provided")));
            t.insert(
                "description",
                value(format!("Read by {} (describe what it is)", args.name)),
            );
            declared.insert(name, Item::Table(t));
        }
    }

    // New topics get a declaration with defaults the developer can tune.
    for topic in &args.produces {
        let topics = doc
            .entry("topics")
            .or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(true);
                Item::Table(t)
            })
            .as_table_mut()
            .context("`topics` in platform.toml is not a table")?;
        if !topics.contains_key(topic) {
            let stem = topic
                .rsplit_once(".v")
                .map_or(topic.as_str(), |(stem, _)| stem);
            let mut t = Table::new();
            t.insert("partitions", value(3));
            t.insert("retention", value("7d"));
            t.insert("events", list(&[format!("{stem}.changed")]));
            topics.insert(topic, Item::Table(t));
        }
    }

    // The gateway routes to services with routes, so it must be allowed to call this one.
    if !args.routes.is_empty() {
        let gateway = doc
            .get("platform")
            .and_then(|p| p.get("gateway"))
            .and_then(Item::as_str)
            .context("platform.gateway is not set")?
            .to_owned();
        let calls = doc
            .get_mut("services")
            .and_then(|s| s.get_mut(&gateway))
            .and_then(|g| g.as_table_mut())
            .context("the gateway service is not declared")?
            .entry("calls")
            .or_insert_with(|| value(Array::new()))
            .as_array_mut()
            .context("the gateway's calls is not a list")?;
        let mut names: Vec<String> = calls
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        names.push(args.name.clone());
        names.sort();
        names.dedup();
        calls.clear();
        for n in names {
            calls.push(n);
        }
    }
    Ok(doc.to_string())
}

/// Runs `new-service`.
pub fn run(args: &NewService) -> anyhow::Result<()> {
    let root = crate::root();
    let (files, platform_text) = plan(&root, args)?;
    // Everything is valid: write. The crate first (new files only), platform.toml last, then
    // the rendered files, the crate's `src/platform.rs` among them.
    files.create(&root)?;
    if !args.from_platform {
        std::fs::write(root.join("platform.toml"), &platform_text)
            .context("cannot write platform.toml")?;
    }
    // The templates are readable rather than rustfmt-exact; format the new crate like the rest.
    let formatted = std::process::Command::new("cargo")
        .args(["fmt", "-p", &args.name])
        .current_dir(&root)
        .status()
        .is_ok_and(|s| s.success());
    if !formatted {
        eprintln!(
            "warning: `cargo fmt -p {}` failed; run it before committing",
            args.name
        );
    }
    let platform = Platform::parse("platform.toml", &platform_text)?;
    let rendered = crate::render::render(&platform)?.write(&root)?;
    println!(
        "created services/{name} ({} files){}, {} generated files updated",
        files.len(),
        if args.from_platform {
            String::new()
        } else {
            format!(", added [services.{}] to platform.toml", args.name)
        },
        rendered.len(),
        name = args.name
    );
    println!(
        "next: cargo test -p {}   (then add routes in services/{}/src/routes/{})",
        args.name,
        args.name,
        if platform.services[&args.name].postgres {
            " and migrations in migrations/"
        } else {
            ""
        }
    );
    Ok(())
}

/// Validates the request and computes every file, writing nothing.
pub fn plan(root: &Path, args: &NewService) -> anyhow::Result<(Files, String)> {
    let name = &args.name;
    if !is_kebab(name, MAX_SERVICE_NAME) {
        bail!(
            "invalid service name {name:?}: use 2-{MAX_SERVICE_NAME} lowercase letters, digits and dashes, starting with a letter (e.g. `loyalty`)"
        );
    }
    let source =
        std::fs::read_to_string(root.join("platform.toml")).context("cannot read platform.toml")?;
    let current = Platform::parse("platform.toml", &source).map_err(|_| {
        anyhow::anyhow!("platform.toml is invalid; fix it first (`cargo xtask check` shows where)")
    })?;
    if root.join("services").join(name).join("Cargo.toml").exists() {
        bail!("services/{name} already exists; remove it or pick another name");
    }
    if args.from_platform {
        let service = current
            .services
            .get(name)
            .with_context(|| format!("service {name:?} is not declared in platform.toml"))?;
        return Ok((scaffold_files(service)?, source));
    }
    if current.services.contains_key(name) {
        bail!(
            "service {name:?} already exists in platform.toml (use --from-platform to create its crate)"
        );
    }
    if !current.tiers.contains_key(&args.tier) {
        let tiers: Vec<&str> = current.tiers.keys().map(String::as_str).collect();
        bail!(
            "unknown tier {:?}: use one of {}",
            args.tier,
            tiers.join(", ")
        );
    }
    if let Some(other) = args
        .port
        .and_then(|port| current.services.values().find(|s| s.port == port))
    {
        bail!(
            "port {} is already used by {:?}; omit --port to take the next free one",
            other.port,
            other.name
        );
    }
    for route in &args.routes {
        if let Some(other) = current.services.values().find(|s| s.routes.contains(route)) {
            bail!("route {route:?} is already served by {:?}", other.name);
        }
    }
    for target in &args.calls {
        if !current.services.contains_key(target) {
            bail!("--calls {target:?}: no such service in platform.toml");
        }
    }
    let port = args.port.unwrap_or_else(|| {
        current
            .services
            .values()
            .map(|s| s.port)
            .max()
            .unwrap_or(8079)
            + 1
    });
    let description = args
        .description
        .clone()
        .unwrap_or_else(|| format!("The {name} service"));
    let text = add_to_platform(&source, args, port, &description)?;
    let platform = Platform::parse("platform.toml", &text).map_err(|report| {
        let first = &report.diagnostics[0];
        let help = first
            .help
            .as_deref()
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        anyhow::anyhow!(
            "the new service would make platform.toml invalid: {}{help}",
            first.message
        )
    })?;
    let service = &platform.services[name];
    let files = scaffold_files(service)?;
    Ok((files, text))
}
