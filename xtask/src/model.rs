//! The platform model: platform.toml parsed, then validated into types every renderer reads.
//!
//! Parsing keeps the byte span of every value ([`Spanned`]), so a validation error names the
//! file, line and column of the offending key. Nothing downstream reads the TOML text: renderers
//! get a [`Platform`], which is valid by construction (every `calls` target exists, every
//! consumed topic has a producer, ports and routes are unique, and so on).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostics::{Diagnostic, Report, closest};

// ---------------------------------------------------------------------------------------------
// The file as written

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlatform {
    platform: RawMeta,
    tiers: BTreeMap<Spanned<String>, RawTier>,
    environments: BTreeMap<Spanned<String>, RawEnvironment>,
    #[serde(default)]
    topics: BTreeMap<Spanned<String>, RawTopic>,
    services: BTreeMap<Spanned<String>, RawService>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    name: Spanned<String>,
    gcp_project: Spanned<String>,
    region: Spanned<String>,
    domain: Spanned<String>,
    registry: Spanned<String>,
    repo_url: Spanned<String>,
    gateway: Spanned<String>,
    #[serde(default = "default_image_tag")]
    image_tag: String,
}

fn default_image_tag() -> String {
    "dev".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    namespace: Spanned<String>,
    description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvironment {
    domain: Spanned<String>,
    #[serde(default)]
    gcp_project: Option<String>,
    target_revision: Spanned<String>,
    #[serde(default = "one")]
    replicas_scale: Spanned<f64>,
    #[serde(default)]
    ha: bool,
    #[serde(default = "one_i")]
    kafka_replication: Spanned<i64>,
    #[serde(default)]
    ingress_ip: Option<Spanned<String>>,
}

fn one() -> Spanned<f64> {
    Spanned::new(0..0, 1.0)
}

fn one_i() -> Spanned<i64> {
    Spanned::new(0..0, 1)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    partitions: Spanned<i64>,
    retention: Spanned<String>,
    events: Spanned<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    description: Spanned<String>,
    tier: Spanned<String>,
    port: Spanned<i64>,
    #[serde(default)]
    routes: Vec<Spanned<String>>,
    #[serde(default)]
    ingress_host: Option<Spanned<String>>,
    #[serde(default)]
    postgres: bool,
    #[serde(default)]
    redis: bool,
    #[serde(default)]
    produces: Vec<Spanned<String>>,
    #[serde(default)]
    consumes: Vec<Spanned<String>>,
    #[serde(default)]
    calls: Vec<Spanned<String>>,
    #[serde(default)]
    secrets: Vec<Spanned<String>>,
    #[serde(default)]
    resources: RawResources,
    #[serde(default)]
    scaling: Option<Spanned<RawScaling>>,
    #[serde(default)]
    slo: Option<RawSlo>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResources {
    #[serde(default = "default_cpu")]
    cpu: String,
    #[serde(default = "default_memory")]
    memory: String,
    #[serde(default = "default_cpu_limit")]
    cpu_limit: String,
    #[serde(default = "default_memory_limit")]
    memory_limit: String,
}

impl Default for RawResources {
    fn default() -> Self {
        Self {
            cpu: default_cpu(),
            memory: default_memory(),
            cpu_limit: default_cpu_limit(),
            memory_limit: default_memory_limit(),
        }
    }
}

fn default_cpu() -> String {
    "100m".into()
}
fn default_memory() -> String {
    "128Mi".into()
}
fn default_cpu_limit() -> String {
    "500m".into()
}
fn default_memory_limit() -> String {
    "256Mi".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScaling {
    min: i64,
    max: i64,
    #[serde(default = "default_cpu_target")]
    cpu: i64,
}

fn default_cpu_target() -> i64 {
    70
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlo {
    availability: f64,
    p99_ms: u32,
}

// ---------------------------------------------------------------------------------------------
// The validated model

/// The whole platform, validated.
#[derive(Debug, Clone)]
pub struct Platform {
    pub name: String,
    pub gcp_project: String,
    pub region: String,
    pub domain: String,
    pub registry: String,
    pub repo_url: String,
    pub image_tag: String,
    /// The service that routes external API traffic (`platform.gateway`).
    pub gateway: String,
    pub tiers: BTreeMap<String, Tier>,
    pub environments: BTreeMap<String, Environment>,
    pub topics: BTreeMap<String, Topic>,
    pub services: BTreeMap<String, Service>,
}

#[derive(Debug, Clone)]
pub struct Tier {
    pub name: String,
    pub namespace: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub domain: String,
    /// The GCP project the environment runs in (`platform.gcp_project` unless overridden).
    pub gcp_project: String,
    pub target_revision: String,
    pub replicas_scale: f64,
    pub ha: bool,
    pub kafka_replication: u32,
    /// The static address Terraform reserves for the ingress gateway (`terraform output
    /// ingress_ip`), once known; the gateway's load balancer then takes it.
    pub ingress_ip: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Topic {
    pub name: String,
    pub partitions: u32,
    pub retention_ms: u64,
    pub events: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub description: String,
    pub tier: String,
    pub namespace: String,
    pub port: u16,
    pub routes: Vec<String>,
    pub ingress_host: Option<String>,
    pub postgres: bool,
    pub redis: bool,
    pub produces: Vec<String>,
    pub consumes: Vec<String>,
    pub calls: Vec<String>,
    pub secrets: Vec<String>,
    pub resources: Resources,
    pub scaling: Scaling,
    pub slo: Option<Slo>,
}

#[derive(Debug, Clone)]
pub struct Resources {
    pub cpu: String,
    pub memory: String,
    pub cpu_limit: String,
    pub memory_limit: String,
}

#[derive(Debug, Clone, Copy)]
pub struct Scaling {
    pub min: u32,
    pub max: u32,
    pub cpu: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct Slo {
    pub availability: f64,
    pub p99_ms: u32,
}

impl Service {
    /// Whether the service talks to Kafka at all.
    pub fn kafka(&self) -> bool {
        !self.produces.is_empty() || !self.consumes.is_empty()
    }

    /// Whether the service stops being able to serve without Kafka, so readiness checks the
    /// broker: consumers do, and producers without a database (they publish within requests).
    /// Producers with a database publish through the outbox and keep serving during an outage.
    pub fn kafka_in_readiness(&self) -> bool {
        !self.consumes.is_empty() || (!self.produces.is_empty() && !self.postgres)
    }

    /// Whether the service relays events from its transactional outbox.
    pub fn outbox(&self) -> bool {
        self.postgres && !self.produces.is_empty()
    }

    /// Replicas in an environment: the declared minimum scaled, at least 1 (2 with `ha`).
    pub fn replicas(&self, env: &Environment) -> (u32, u32) {
        let floor = if env.ha { 2 } else { 1 };
        let scale = |n: u32| ((f64::from(n) * env.replicas_scale).ceil() as u32).max(floor);
        let min = scale(self.scaling.min);
        (min, scale(self.scaling.max).max(min))
    }

    /// The Google service account the service acts as in `env` (GKE Workload Identity). Account
    /// ids need 6 to 30 characters, hence the prefix (and service names of at most 26).
    pub fn gcp_service_account(&self, env: &Environment) -> String {
        format!(
            "svc-{}@{}.iam.gserviceaccount.com",
            self.name, env.gcp_project
        )
    }

    /// The Rust crate's identifier (`api-gateway` → `api_gateway`).
    pub fn crate_ident(&self) -> String {
        self.name.replace('-', "_")
    }
}

impl Platform {
    /// Reads and validates a platform file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let source = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        Ok(Self::parse(&path.display().to_string(), &source)?)
    }

    /// Parses and validates platform.toml text; `file` names it in errors.
    pub fn parse(file: &str, source: &str) -> Result<Self, Report> {
        let report = |diagnostics| Report {
            file: file.to_owned(),
            source: source.to_owned(),
            diagnostics,
        };
        let raw: RawPlatform = toml::from_str(source).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().to_owned();
            let mut d = Diagnostic::new(span, message.clone());
            if let Some(help) = unknown_field_help(&message) {
                d = d.help(help);
            }
            report(vec![d])
        })?;
        let mut v = Validator::default();
        let platform = v.platform(raw);
        if v.diagnostics.is_empty() {
            Ok(platform)
        } else {
            v.diagnostics.sort_by_key(|d| d.span.start);
            Err(report(v.diagnostics))
        }
    }

    /// Services that may call `name` (from every other service's `calls`).
    pub fn callers(&self, name: &str) -> Vec<&Service> {
        self.services
            .values()
            .filter(|s| s.calls.iter().any(|c| c == name))
            .collect()
    }

    /// Services that produce `topic`.
    pub fn producers(&self, topic: &str) -> Vec<&Service> {
        self.services
            .values()
            .filter(|s| s.produces.iter().any(|t| t == topic))
            .collect()
    }

    /// Namespaces that hold at least one service, sorted.
    pub fn namespaces(&self) -> BTreeSet<&str> {
        self.services
            .values()
            .map(|s| s.namespace.as_str())
            .collect()
    }

    /// The Kafka bootstrap address in the cluster: the Strimzi cluster `<name>-kafka` in the
    /// `kafka` namespace.
    pub fn kafka_bootstrap(&self) -> String {
        format!("{}-kafka-kafka-bootstrap.kafka.svc:9092", self.name)
    }

    /// The GKE cluster of `env`: `<platform>-<env>`, as terraform/modules/platform names it.
    pub fn cluster_name(&self, env: &Environment) -> String {
        format!("{}-{}", self.name, env.name)
    }

    /// The Cloud SQL instance of `env` as the connectors name it: `project:region:instance`
    /// (terraform/modules/platform names the instance `<platform>-<env>-postgres`).
    pub fn cloudsql_connection_name(&self, env: &Environment) -> String {
        format!(
            "{}:{}:{}-postgres",
            env.gcp_project,
            self.region,
            self.cluster_name(env)
        )
    }

    /// Every public host of `env` (the services' `ingress_host`s there), sorted.
    pub fn ingress_hosts(&self, env: &Environment) -> Vec<String> {
        let mut hosts: Vec<String> = self
            .services
            .values()
            .filter_map(|s| self.ingress_host(s, env))
            .collect();
        hosts.sort();
        hosts.dedup();
        hosts
    }

    /// A service's public host in `env`: its `ingress_host` with the platform domain replaced by
    /// the environment's (`api.shop.example.com` → `api.staging.shop.example.com`).
    pub fn ingress_host(&self, service: &Service, env: &Environment) -> Option<String> {
        let host = service.ingress_host.as_deref()?;
        let prefix = host.strip_suffix(self.domain.as_str())?;
        Some(format!("{prefix}{}", env.domain))
    }
}

fn unknown_field_help(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once("`, expected ")?;
    let known: Vec<&str> = expected
        .trim_start_matches("one of ")
        .split(", ")
        .map(|k| k.trim_matches('`'))
        .collect();
    Some(match closest(field, known.iter().copied()) {
        Some(c) => format!("did you mean `{c}`? (known keys: {})", known.join(", ")),
        None => format!("remove it; known keys are {}", known.join(", ")),
    })
}

/// Parses a retention such as `14d`, `12h`, `30m` into milliseconds.
pub fn retention_ms(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let unit_ms = match unit {
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms).filter(|ms| *ms > 0)
}

/// The environment variable for a kebab-case name: `payment-provider-key` → `PAYMENT_PROVIDER_KEY`.
/// Secrets arrive in variables named this way, and each `calls` target's URL in `<NAME>_URL`.
pub fn env_name(kebab: &str) -> String {
    kebab.to_uppercase().replace('-', "_")
}

/// Longest service name: its Google service account id (`svc-<name>`) may have 30 characters.
pub const MAX_SERVICE_NAME: usize = 26;

/// `[a-z][a-z0-9-]*[a-z0-9]`, at most `max` characters.
pub fn is_kebab(name: &str, max: usize) -> bool {
    let bytes = name.as_bytes();
    (2..=max).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && !name.contains("--")
}

#[derive(Default)]
struct Validator {
    diagnostics: Vec<Diagnostic>,
}

impl Validator {
    fn error(&mut self, span: std::ops::Range<usize>, message: String, help: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::new(span, message).help(help));
    }

    fn platform(&mut self, raw: RawPlatform) -> Platform {
        let meta = raw.platform;
        if !is_kebab(meta.name.get_ref(), 30) {
            self.error(
                meta.name.span(),
                format!(
                    "platform name {:?} is not a lowercase DNS label",
                    meta.name.get_ref()
                ),
                "use lowercase letters, digits and dashes, e.g. \"shop\"",
            );
        }
        let domain = meta.domain.get_ref().clone();

        let tiers: BTreeMap<String, Tier> = raw
            .tiers
            .into_iter()
            .map(|(name, t)| {
                if !is_kebab(t.namespace.get_ref(), 63) {
                    self.error(
                        t.namespace.span(),
                        format!("namespace {:?} is not a DNS label", t.namespace.get_ref()),
                        "use lowercase letters, digits and dashes, e.g. \"apps-core\"",
                    );
                }
                let name = name.into_inner();
                (
                    name.clone(),
                    Tier {
                        name,
                        namespace: t.namespace.into_inner(),
                        description: t.description,
                    },
                )
            })
            .collect();

        let environments = raw
            .environments
            .into_iter()
            .map(|(name, e)| {
                if *e.replicas_scale.get_ref() <= 0.0 {
                    self.error(
                        e.replicas_scale.span(),
                        "replicas_scale must be positive".into(),
                        "write e.g. replicas_scale = 0.5",
                    );
                }
                if !(1..=5).contains(e.kafka_replication.get_ref()) {
                    self.error(
                        e.kafka_replication.span(),
                        "kafka_replication must be between 1 and 5".into(),
                        "write 3 for production, 1 for a small cluster",
                    );
                }
                if let Some(ip) = &e.ingress_ip
                    && ip.get_ref().parse::<std::net::Ipv4Addr>().is_err()
                {
                    self.error(
                        ip.span(),
                        format!("ingress_ip {:?} is not an IPv4 address", ip.get_ref()),
                        "write the address `terraform output ingress_ip` prints, e.g. ingress_ip = \"203.0.113.10\", or remove the key",
                    );
                }
                if e.target_revision.get_ref() == "HEAD" && name.get_ref() == "prod" {
                    self.error(
                        e.target_revision.span(),
                        "prod must pin a revision, not HEAD".into(),
                        "write a branch or tag, e.g. target_revision = \"prod\"",
                    );
                }
                let name = name.into_inner();
                (
                    name.clone(),
                    Environment {
                        name,
                        domain: e.domain.into_inner(),
                        gcp_project: e
                            .gcp_project
                            .unwrap_or_else(|| meta.gcp_project.get_ref().clone()),
                        target_revision: e.target_revision.into_inner(),
                        replicas_scale: e.replicas_scale.into_inner(),
                        ha: e.ha,
                        kafka_replication: u32::try_from(e.kafka_replication.into_inner())
                            .unwrap_or(1),
                        ingress_ip: e.ingress_ip.map(Spanned::into_inner),
                    },
                )
            })
            .collect();

        let mut topics = BTreeMap::new();
        let mut topic_spans = BTreeMap::new();
        for (name, t) in raw.topics {
            let retention = t.retention.get_ref();
            let retention_ms = retention_ms(retention).unwrap_or_else(|| {
                self.error(
                    t.retention.span(),
                    format!("retention {retention:?} is not a duration"),
                    "write a number with m, h or d, e.g. \"14d\"",
                );
                0
            });
            if !(1..=1000).contains(t.partitions.get_ref()) {
                self.error(
                    t.partitions.span(),
                    "partitions must be between 1 and 1000".into(),
                    "write e.g. partitions = 6",
                );
            }
            if t.events.get_ref().is_empty() {
                self.error(
                    t.events.span(),
                    format!("topic {:?} carries no events", name.get_ref()),
                    "list the event types it carries, e.g. events = [\"order.placed\"]",
                );
            }
            topic_spans.insert(name.get_ref().clone(), name.span());
            let name = name.into_inner();
            topics.insert(
                name.clone(),
                Topic {
                    name,
                    partitions: u32::try_from(t.partitions.into_inner()).unwrap_or(1),
                    retention_ms,
                    events: t
                        .events
                        .into_inner()
                        .into_iter()
                        .map(Spanned::into_inner)
                        .collect(),
                },
            );
        }

        let names: BTreeSet<String> = raw.services.keys().map(|k| k.get_ref().clone()).collect();
        let mut ports: BTreeMap<i64, String> = BTreeMap::new();
        let mut routes: BTreeMap<String, String> = BTreeMap::new();
        let mut produced: BTreeSet<String> = BTreeSet::new();
        let mut consumed: Vec<(String, Spanned<String>)> = Vec::new();
        let mut routed: Vec<Spanned<String>> = Vec::new();
        let mut services = BTreeMap::new();

        for (name, s) in raw.services {
            let name_span = name.span();
            let name = name.into_inner();
            if !is_kebab(&name, MAX_SERVICE_NAME) {
                self.error(
                    name_span.clone(),
                    format!(
                        "service name {name:?} is not a lowercase DNS label of at most \
                         {MAX_SERVICE_NAME} characters (its Google service account is svc-<name>)"
                    ),
                    "use lowercase letters, digits and dashes, e.g. [services.order-history]",
                );
            }
            let description = s.description.get_ref();
            if description.is_empty()
                || description.chars().count() > 120
                || description
                    .contains(|c: char| c.is_control() || c == '"' || c == '\\' || c == '`')
            {
                self.error(s.description.span(), format!("the description of {name:?} must be one line of 1-120 characters without quotes, backslashes or backticks"), "it is pasted into Cargo.toml, Rust doc comments and manifests; write e.g. description = \"Carts per user\"");
            }
            let namespace = match tiers.get(s.tier.get_ref()) {
                Some(t) => t.namespace.clone(),
                None => {
                    let known: Vec<&str> = tiers.keys().map(String::as_str).collect();
                    let help = match closest(s.tier.get_ref(), known.iter().copied()) {
                        Some(c) => format!(
                            "did you mean tier = \"{c}\"? tiers are declared under [tiers]: {}",
                            known.join(", ")
                        ),
                        None => format!(
                            "use one of the tiers declared under [tiers]: {}",
                            known.join(", ")
                        ),
                    };
                    self.error(
                        s.tier.span(),
                        format!(
                            "service {name:?} is in tier {:?}, which does not exist",
                            s.tier.get_ref()
                        ),
                        help,
                    );
                    String::new()
                }
            };
            let port = *s.port.get_ref();
            if !(1024..=65535).contains(&port) {
                self.error(
                    s.port.span(),
                    format!("port {port} is outside 1024-65535"),
                    "pick an unused port such as 8100",
                );
            } else if let Some(other) = ports.insert(port, name.clone()) {
                self.error(
                    s.port.span(),
                    format!("port {port} is already used by service {other:?}"),
                    format!(
                        "pick a free port, e.g. {}",
                        ports.keys().max().copied().unwrap_or(8080) + 1
                    ),
                );
            }
            for route in &s.routes {
                let r = route.get_ref();
                if !r.starts_with('/')
                    || r.len() < 2
                    || r.ends_with('/')
                    || r.contains(char::is_whitespace)
                {
                    self.error(
                        route.span(),
                        format!("route {r:?} is not a path prefix"),
                        "write an absolute prefix without a trailing slash, e.g. \"/v1/orders\"",
                    );
                } else if let Some(other) = routes.insert(r.clone(), name.clone()) {
                    self.error(
                        route.span(),
                        format!("route {r:?} is already served by service {other:?}"),
                        "each route prefix belongs to one service; pick another prefix",
                    );
                }
            }
            if !s.routes.is_empty() {
                routed.push(Spanned::new(name_span.clone(), name.clone()));
            }
            if let Some(host) = &s.ingress_host {
                let h = host.get_ref();
                if s.tier.get_ref() != "public" {
                    self.error(host.span(), format!("service {name:?} is in tier {:?}; only public services take ingress traffic", s.tier.get_ref()), "remove ingress_host, or move the service to tier = \"public\"");
                } else if !(h == &domain || h.ends_with(&format!(".{domain}"))) {
                    self.error(
                        host.span(),
                        format!("ingress_host {h:?} is not under the platform domain {domain:?}"),
                        format!("write e.g. \"{domain}\" or \"admin.{domain}\""),
                    );
                }
            }
            for target in &s.calls {
                let t = target.get_ref();
                if t == &name {
                    self.error(
                        target.span(),
                        format!("service {name:?} lists itself in calls"),
                        "remove it: a service needs no permission to reach itself",
                    );
                } else if !names.contains(t) {
                    let help = match closest(t, names.iter().map(String::as_str)) {
                        Some(c) => format!("did you mean \"{c}\"?"),
                        None => "calls may only name services declared under [services]".to_owned(),
                    };
                    self.error(
                        target.span(),
                        format!("service {name:?} calls {t:?}, which is not a service"),
                        help,
                    );
                }
            }
            for topic in &s.produces {
                if topics.contains_key(topic.get_ref()) {
                    produced.insert(topic.get_ref().clone());
                } else {
                    self.unknown_topic(topic, &topics);
                }
            }
            for topic in &s.consumes {
                if topics.contains_key(topic.get_ref()) {
                    consumed.push((name.clone(), topic.clone()));
                } else {
                    self.unknown_topic(topic, &topics);
                }
            }
            for secret in &s.secrets {
                if !is_kebab(secret.get_ref(), 60) {
                    self.error(
                        secret.span(),
                        format!("secret name {:?} is not kebab-case", secret.get_ref()),
                        "write e.g. \"payment-provider-key\"",
                    );
                }
            }
            let scaling = match &s.scaling {
                None => Scaling {
                    min: 1,
                    max: 3,
                    cpu: 70,
                },
                Some(sc) => {
                    let r = sc.get_ref();
                    if r.min < 1 || r.max < r.min || !(1..=100).contains(&r.cpu) {
                        self.error(
                            sc.span(),
                            "scaling needs 1 <= min <= max and cpu between 1 and 100".into(),
                            "write e.g. scaling = { min = 2, max = 10, cpu = 70 }",
                        );
                    }
                    Scaling {
                        min: u32::try_from(r.min.max(1)).unwrap_or(1),
                        max: u32::try_from(r.max.max(1)).unwrap_or(1),
                        cpu: u32::try_from(r.cpu.clamp(1, 100)).unwrap_or(70),
                    }
                }
            };
            let slo = s.slo.as_ref().map(|slo| Slo {
                availability: slo.availability,
                p99_ms: slo.p99_ms,
            });
            if let Some(slo) = slo.filter(|slo| !(50.0..100.0).contains(&slo.availability)) {
                self.error(name_span.clone(), format!("service {name:?} has an availability objective of {}%", slo.availability), "write a percentage below 100, e.g. slo = { availability = 99.9, p99_ms = 300 }");
            }
            let sorted = |v: Vec<Spanned<String>>| {
                let mut v: Vec<String> = v.into_iter().map(Spanned::into_inner).collect();
                v.sort();
                v.dedup();
                v
            };
            services.insert(
                name.clone(),
                Service {
                    name,
                    description: s.description.into_inner(),
                    tier: s.tier.into_inner(),
                    namespace,
                    port: u16::try_from(port).unwrap_or(0),
                    routes: s.routes.into_iter().map(Spanned::into_inner).collect(),
                    ingress_host: s.ingress_host.map(Spanned::into_inner),
                    postgres: s.postgres,
                    redis: s.redis,
                    produces: sorted(s.produces),
                    consumes: sorted(s.consumes),
                    calls: sorted(s.calls),
                    secrets: sorted(s.secrets),
                    resources: Resources {
                        cpu: s.resources.cpu,
                        memory: s.resources.memory,
                        cpu_limit: s.resources.cpu_limit,
                        memory_limit: s.resources.memory_limit,
                    },
                    scaling,
                    slo,
                },
            );
        }

        for (consumer, topic) in consumed {
            if !produced.contains(topic.get_ref()) {
                self.error(
                    topic.span(),
                    format!(
                        "service {consumer:?} consumes {:?}, which no service produces",
                        topic.get_ref()
                    ),
                    format!(
                        "add \"{}\" to some service's produces, or remove it here",
                        topic.get_ref()
                    ),
                );
            }
        }
        for (topic, span) in &topic_spans {
            if !produced.contains(topic) {
                self.error(
                    span.clone(),
                    format!("topic {topic:?} is declared but no service produces it"),
                    "add it to a service's produces, or delete the topic",
                );
            }
        }

        let gateway = meta.gateway.get_ref().clone();
        match services.get(&gateway) {
            None => self.error(
                meta.gateway.span(),
                format!("gateway {gateway:?} is not a service"),
                "name the service that routes API traffic, e.g. gateway = \"api-gateway\"",
            ),
            Some(gw) => {
                for service in routed {
                    if !gw.calls.contains(service.get_ref()) {
                        self.error(service.span(), format!("service {:?} declares routes but the gateway {gateway:?} does not call it", service.get_ref()), format!("add \"{}\" to [services.{gateway}] calls, or remove the routes", service.get_ref()));
                    }
                }
            }
        }

        Platform {
            name: meta.name.into_inner(),
            gcp_project: meta.gcp_project.into_inner(),
            region: meta.region.into_inner(),
            domain,
            registry: meta.registry.into_inner(),
            repo_url: meta.repo_url.into_inner(),
            image_tag: meta.image_tag,
            gateway,
            tiers,
            environments,
            topics,
            services,
        }
    }

    fn unknown_topic(&mut self, topic: &Spanned<String>, topics: &BTreeMap<String, Topic>) {
        let t = topic.get_ref();
        let help = match closest(t, topics.keys().map(String::as_str)) {
            Some(c) => format!("did you mean \"{c}\"?"),
            None => {
                format!("declare it first: [topics.\"{t}\"] with partitions, retention and events")
            }
        };
        self.error(topic.span(), format!("topic {t:?} is not declared"), help);
    }
}
