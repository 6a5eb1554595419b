//! The platform model: platform.toml parsed, then validated into types every renderer reads.
//!
//! Parsing keeps the byte span of every value ([`Spanned`]), so a validation error names the
//! file, line and column of the offending key. Nothing downstream reads the TOML text: renderers
//! get a [`Platform`], which is valid by construction (every `calls` target exists, every
//! consumed topic has a producer, ports and routes are unique, and so on).
//!
//! Validation is a [`Validator`] with one method per family of rules (the platform table, tiers,
//! environments, topics, secrets, each service, then the rules that relate services to each
//! other); a new rule goes into the family it belongs to, and every error is collected so the
//! report shows them all at once.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
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
    tokens: Option<RawTokens>,
    #[serde(default)]
    secrets: BTreeMap<Spanned<String>, RawSecret>,
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
    #[serde(default)]
    storefront: Option<Spanned<String>>,
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
    /// Retired: the gateway takes Terraform's address by name. Read only to say so.
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
struct RawTokens {
    signer: Spanned<String>,
    issuer: Spanned<String>,
    audience: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecret {
    kind: Spanned<String>,
    description: Spanned<String>,
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
    verify_tokens: Option<Spanned<bool>>,
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
    /// The tag of the images of services `images` does not pin.
    pub image_tag: String,
    /// The image each built service runs (`images.toml`, see [`crate::images`]); empty when
    /// parsed from platform.toml alone.
    pub images: BTreeMap<String, crate::images::Pin>,
    /// The service that routes external API traffic (`platform.gateway`).
    pub gateway: String,
    /// The shop's front door (`platform.storefront`): `cargo xtask up` prints its URL.
    pub storefront: Option<String>,
    /// Who signs access tokens and what they claim (`[tokens]`).
    pub tokens: Option<Tokens>,
    pub tiers: BTreeMap<String, Tier>,
    pub environments: BTreeMap<String, Environment>,
    pub secrets: BTreeMap<String, Secret>,
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
}

/// Access tokens: the service that signs them (and serves their JWKS), and the `iss` and `aud`
/// every verifier (the kit, Istio's RequestAuthentication) expects.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub signer: String,
    pub issuer: String,
    pub audience: String,
}

/// What a secret's value is, which says who can make one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretKind {
    /// An Ed25519 private key, PKCS#8 PEM (signing keys).
    Ed25519Key,
    /// 32 random bytes, hex-encoded (session, cookie and webhook keys).
    Random,
    /// A value a person supplies (a third party's credential).
    Provided,
    /// An SMTP relay as a URL with its credentials (`smtps://user:password@host:465`): a person
    /// supplies it in a cluster; `cargo xtask up` points it at its local mail sink. A service
    /// holding one sends mail, from `no-reply@<domain>` (`MAIL_FROM`).
    SmtpRelay,
}

impl SecretKind {
    pub const ALL: [(&'static str, Self); 4] = [
        ("ed25519-key", Self::Ed25519Key),
        ("random", Self::Random),
        ("provided", Self::Provided),
        ("smtp-relay", Self::SmtpRelay),
    ];

    /// The spelling in platform.toml.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("provided", |(name, _)| name)
    }

    /// Whether a machine can generate a value in a cluster (Terraform does); the others a
    /// person supplies.
    pub fn generated(self) -> bool {
        matches!(self, Self::Ed25519Key | Self::Random)
    }
}

/// A secret declared under `[secrets]`.
#[derive(Debug, Clone)]
pub struct Secret {
    pub name: String,
    pub kind: SecretKind,
    pub description: String,
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
    /// The service verifies access tokens itself, offline, against the signer's JWKS.
    pub verify_tokens: bool,
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

    /// Whether the service stops being able to do its work without Kafka, so readiness checks
    /// the broker: consumers do. Producers keep serving during an outage: with a database their
    /// events wait in the outbox, without one in the producer's queue.
    pub fn kafka_in_readiness(&self) -> bool {
        !self.consumes.is_empty()
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

/// The path of the access-token signing keys (RFC 8414's well-known location for a JWKS).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

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

    /// The shop's front door (`platform.storefront`), when it names a service.
    pub fn storefront_service(&self) -> Option<&Service> {
        self.storefront
            .as_deref()
            .and_then(|name| self.services.get(name))
    }

    /// The service that signs access tokens and serves [`JWKS_PATH`], if tokens are declared.
    pub fn token_signer(&self) -> Option<&Service> {
        self.tokens
            .as_ref()
            .and_then(|t| self.services.get(&t.signer))
    }

    /// Services that verify access tokens themselves and so fetch the signer's JWKS, sorted.
    pub fn token_verifiers(&self) -> Vec<&Service> {
        self.services.values().filter(|s| s.verify_tokens).collect()
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

    /// This repository over SSH (`git@<host>:<path>` from `https://<host>/<path>`): Argo CD and
    /// Airflow's git-sync read it with read-only deploy keys that terraform/bootstrap registers.
    pub fn git_ssh_url(&self) -> String {
        match self
            .repo_url
            .strip_prefix("https://")
            .and_then(|rest| rest.split_once('/'))
        {
            Some((host, path)) => format!("git@{host}:{path}"),
            None => self.repo_url.clone(),
        }
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

    /// The gateway's routing table: every route prefix with the service it belongs to, longest
    /// prefix first (so `/v1/carts/x` is matched by `/v1/carts` before a shorter `/v1`).
    pub fn routes(&self) -> Vec<(&str, &Service)> {
        let mut routes: Vec<(&str, &Service)> = self
            .services
            .values()
            .flat_map(|s| s.routes.iter().map(move |r| (r.as_str(), s)))
            .collect();
        routes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
        routes
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

/// Parses a retention such as `14d`, `12h`, `30m` into milliseconds (whole minutes at least).
pub fn retention_ms(text: &str) -> Option<u64> {
    let duration = humantime::parse_duration(text).ok()?;
    let ms = u64::try_from(duration.as_millis()).ok()?;
    (ms >= 60_000 && ms % 60_000 == 0).then_some(ms)
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

// ---------------------------------------------------------------------------------------------
// Validation, one method per family of rules

/// What the per-service rules learn that the cross-service rules need.
#[derive(Default)]
struct Seen {
    ports: BTreeMap<i64, String>,
    routes: BTreeMap<String, String>,
    produced: BTreeSet<String>,
    /// (consumer, topic) for every `consumes` entry naming a declared topic.
    consumed: Vec<(String, Spanned<String>)>,
    /// Services with routes, at their name.
    routed: Vec<Spanned<String>>,
    /// Secrets some service reads.
    used_secrets: BTreeSet<String>,
    /// Services with `verify_tokens = true`, at the key.
    verifiers: Vec<(String, Range<usize>)>,
}

/// Collects every diagnostic while building the model.
#[derive(Default)]
struct Validator {
    diagnostics: Vec<Diagnostic>,
}

impl Validator {
    fn error(&mut self, span: Range<usize>, message: String, help: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::new(span, message).help(help));
    }

    fn platform(&mut self, raw: RawPlatform) -> Platform {
        self.meta(&raw.platform);
        let tiers = self.tiers(raw.tiers);
        let environments = self.environments(
            raw.environments,
            raw.platform.gcp_project.get_ref(),
            raw.platform.name.get_ref(),
        );
        let secrets = self.secrets(raw.secrets.iter());
        let (topics, topic_spans) = self.topics(raw.topics);
        let domain = raw.platform.domain.get_ref().clone();
        let mut seen = Seen::default();
        let names: BTreeSet<String> = raw.services.keys().map(|k| k.get_ref().clone()).collect();
        let services: BTreeMap<String, Service> = raw
            .services
            .into_iter()
            .map(|(name, s)| {
                let service = self.service(
                    name,
                    s,
                    &Context {
                        domain: &domain,
                        tiers: &tiers,
                        topics: &topics,
                        secrets: &secrets,
                        names: &names,
                    },
                    &mut seen,
                );
                (service.name.clone(), service)
            })
            .collect();

        self.topics_are_produced(&topic_spans, &seen);
        self.unused_secrets(&secrets, &raw.secrets, &seen);
        let gateway = self.gateway(&raw.platform.gateway, &services, &seen);
        let storefront = self.storefront(raw.platform.storefront.as_ref(), &services);
        let tokens = self.tokens(raw.tokens, &services, &seen);

        let meta = raw.platform;
        Platform {
            name: meta.name.into_inner(),
            gcp_project: meta.gcp_project.into_inner(),
            region: meta.region.into_inner(),
            domain,
            registry: meta.registry.into_inner(),
            repo_url: meta.repo_url.into_inner(),
            image_tag: meta.image_tag,
            images: BTreeMap::new(),
            gateway,
            storefront,
            tokens,
            tiers,
            environments,
            secrets,
            topics,
            services,
        }
    }

    /// `[platform]`: the name is a DNS label.
    fn meta(&mut self, meta: &RawMeta) {
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
    }

    /// `[tiers]`: namespaces are DNS labels.
    fn tiers(&mut self, raw: BTreeMap<Spanned<String>, RawTier>) -> BTreeMap<String, Tier> {
        raw.into_iter()
            .map(|(name, t)| {
                if !is_kebab(t.namespace.get_ref(), 63) {
                    self.error(
                        t.namespace.span(),
                        format!("namespace {:?} is not a DNS label", t.namespace.get_ref()),
                        "use lowercase letters, digits and dashes, e.g. \"apps-core\"",
                    );
                }
                let name = name.into_inner();
                let tier = Tier {
                    name: name.clone(),
                    namespace: t.namespace.into_inner(),
                    description: t.description,
                };
                (name, tier)
            })
            .collect()
    }

    /// `[environments]`: scale, replication, a pinned prod revision.
    fn environments(
        &mut self,
        raw: BTreeMap<Spanned<String>, RawEnvironment>,
        default_project: &str,
        platform_name: &str,
    ) -> BTreeMap<String, Environment> {
        raw.into_iter()
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
                if let Some(ip) = &e.ingress_ip {
                    self.error(
                        ip.span(),
                        "ingress_ip is no longer read: the ingress gateway's load balancer takes \
                         the address Terraform reserves by its name"
                            .into(),
                        format!(
                            "remove the line; the gateway names the address {:?}",
                            format!("{platform_name}-{}-ingress", name.get_ref())
                        ),
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
                let env = Environment {
                    name: name.clone(),
                    domain: e.domain.into_inner(),
                    gcp_project: e.gcp_project.unwrap_or_else(|| default_project.to_owned()),
                    target_revision: e.target_revision.into_inner(),
                    replicas_scale: e.replicas_scale.into_inner(),
                    ha: e.ha,
                    kafka_replication: u32::try_from(e.kafka_replication.into_inner()).unwrap_or(1),
                };
                (name, env)
            })
            .collect()
    }

    /// `[secrets]`: kebab-case names, a known kind, a one-line description.
    fn secrets<'a>(
        &mut self,
        raw: impl Iterator<Item = (&'a Spanned<String>, &'a RawSecret)>,
    ) -> BTreeMap<String, Secret> {
        let mut secrets = BTreeMap::new();
        for (name, s) in raw {
            if !is_kebab(name.get_ref(), 60) {
                self.error(
                    name.span(),
                    format!("secret name {:?} is not kebab-case", name.get_ref()),
                    "write e.g. [secrets.payment-provider-key]",
                );
            }
            let known: Vec<&str> = SecretKind::ALL.iter().map(|(k, _)| *k).collect();
            let kind = SecretKind::ALL
                .iter()
                .find(|(k, _)| k == s.kind.get_ref())
                .map(|(_, kind)| *kind);
            if kind.is_none() {
                let help = match closest(s.kind.get_ref(), known.iter().copied()) {
                    Some(c) => format!("did you mean kind = \"{c}\"?"),
                    None => format!(
                        "write one of {}: ed25519-key (a signing key), random (32 random bytes, e.g. a session key), provided (a third party's credential, supplied by a person)",
                        known.join(", ")
                    ),
                };
                self.error(
                    s.kind.span(),
                    format!("secret kind {:?} is not known", s.kind.get_ref()),
                    help,
                );
            }
            self.one_line(&s.description, "secret");
            secrets.insert(
                name.get_ref().clone(),
                Secret {
                    name: name.get_ref().clone(),
                    kind: kind.unwrap_or(SecretKind::Provided),
                    description: s.description.get_ref().clone(),
                },
            );
        }
        secrets
    }

    /// `[topics]`: a retention, a partition count, the events carried.
    /// Returns the topics and where each was declared.
    fn topics(
        &mut self,
        raw: BTreeMap<Spanned<String>, RawTopic>,
    ) -> (BTreeMap<String, Topic>, BTreeMap<String, Range<usize>>) {
        let mut topics = BTreeMap::new();
        let mut spans = BTreeMap::new();
        for (name, t) in raw {
            let retention = t.retention.get_ref();
            let retention_ms = retention_ms(retention).unwrap_or_else(|| {
                self.error(
                    t.retention.span(),
                    format!("retention {retention:?} is not a duration in whole minutes"),
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
            let topic = Topic {
                name: name.get_ref().clone(),
                partitions: u32::try_from(t.partitions.into_inner()).unwrap_or(1),
                retention_ms,
                events: t
                    .events
                    .into_inner()
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect(),
            };
            spans.insert(name.get_ref().clone(), name.span());
            topics.insert(name.into_inner(), topic);
        }
        (topics, spans)
    }

    /// One `[services.<name>]` table, checked on its own and against what was declared before it.
    fn service(
        &mut self,
        name: Spanned<String>,
        s: RawService,
        cx: &Context<'_>,
        seen: &mut Seen,
    ) -> Service {
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
        self.one_line(&s.description, "service");
        let namespace = self.tier_of(&name, &s.tier, cx.tiers);
        self.port(&name, &s.port, seen);
        self.service_routes(&name, &name_span, &s.routes, seen);
        self.ingress(&name, &s, cx.domain);
        self.calls(&name, &s.calls, cx.names);
        self.topic_use(&name, &s.produces, &s.consumes, cx.topics, seen);
        self.secret_use(&s.secrets, cx.secrets, seen);
        if let Some(verify) = &s.verify_tokens
            && *verify.get_ref()
        {
            seen.verifiers.push((name.clone(), verify.span()));
        }
        let scaling = self.scaling(s.scaling.as_ref());
        let slo = self.slo(&name, &name_span, s.slo.as_ref());
        let sorted = |v: Vec<Spanned<String>>| {
            let mut v: Vec<String> = v.into_iter().map(Spanned::into_inner).collect();
            v.sort();
            v.dedup();
            v
        };
        Service {
            name,
            description: s.description.into_inner(),
            tier: s.tier.into_inner(),
            namespace,
            port: u16::try_from(*s.port.get_ref()).unwrap_or(0),
            routes: s.routes.into_iter().map(Spanned::into_inner).collect(),
            ingress_host: s.ingress_host.map(Spanned::into_inner),
            postgres: s.postgres,
            redis: s.redis,
            verify_tokens: s.verify_tokens.is_some_and(|v| v.into_inner()),
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
        }
    }

    /// A description pasted into Cargo.toml, doc comments and manifests: one plain line.
    fn one_line(&mut self, description: &Spanned<String>, what: &str) {
        let text = description.get_ref();
        if text.is_empty()
            || text.chars().count() > 120
            || text.contains(|c: char| c.is_control() || c == '"' || c == '\\' || c == '`')
        {
            self.error(
                description.span(),
                format!("a {what} description must be one line of 1-120 characters without quotes, backslashes or backticks"),
                "it is pasted into Cargo.toml, Rust doc comments and manifests; write e.g. description = \"Carts per user\"",
            );
        }
    }

    /// The tier exists; returns its namespace.
    fn tier_of(
        &mut self,
        name: &str,
        tier: &Spanned<String>,
        tiers: &BTreeMap<String, Tier>,
    ) -> String {
        if let Some(t) = tiers.get(tier.get_ref()) {
            return t.namespace.clone();
        }
        let known: Vec<&str> = tiers.keys().map(String::as_str).collect();
        let help = match closest(tier.get_ref(), known.iter().copied()) {
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
            tier.span(),
            format!(
                "service {name:?} is in tier {:?}, which does not exist",
                tier.get_ref()
            ),
            help,
        );
        String::new()
    }

    /// The port is unprivileged and unique.
    fn port(&mut self, name: &str, port: &Spanned<i64>, seen: &mut Seen) {
        let value = *port.get_ref();
        if !(1024..=65535).contains(&value) {
            self.error(
                port.span(),
                format!("port {value} is outside 1024-65535"),
                "pick an unused port such as 8100",
            );
        } else if let Some(other) = seen.ports.insert(value, name.to_owned()) {
            self.error(
                port.span(),
                format!("port {value} is already used by service {other:?}"),
                format!(
                    "pick a free port, e.g. {}",
                    seen.ports.keys().max().copied().unwrap_or(8080) + 1
                ),
            );
        }
    }

    /// Routes are path prefixes, each served by one service.
    fn service_routes(
        &mut self,
        name: &str,
        name_span: &Range<usize>,
        routes: &[Spanned<String>],
        seen: &mut Seen,
    ) {
        for route in routes {
            let r = route.get_ref();
            if !r.starts_with('/')
                || r.len() < 2
                || r.ends_with('/')
                || r.contains(|c: char| c.is_whitespace() || c == '?' || c == '#')
            {
                self.error(
                    route.span(),
                    format!("route {r:?} is not a path prefix"),
                    "write an absolute prefix without a trailing slash, e.g. \"/v1/orders\"",
                );
            } else if let Some(other) = seen.routes.insert(r.clone(), name.to_owned()) {
                self.error(
                    route.span(),
                    format!("route {r:?} is already served by service {other:?}"),
                    "each route prefix belongs to one service; pick another prefix",
                );
            }
        }
        if !routes.is_empty() {
            seen.routed
                .push(Spanned::new(name_span.clone(), name.to_owned()));
        }
    }

    /// Only public services take ingress traffic, at hosts under the platform domain.
    fn ingress(&mut self, name: &str, s: &RawService, domain: &str) {
        let Some(host) = &s.ingress_host else {
            return;
        };
        let h = host.get_ref();
        if s.tier.get_ref() != "public" {
            self.error(
                host.span(),
                format!(
                    "service {name:?} is in tier {:?}; only public services take ingress traffic",
                    s.tier.get_ref()
                ),
                "remove ingress_host, or move the service to tier = \"public\"",
            );
        } else if !(h == domain || h.ends_with(&format!(".{domain}"))) {
            self.error(
                host.span(),
                format!("ingress_host {h:?} is not under the platform domain {domain:?}"),
                format!("write e.g. \"{domain}\" or \"admin.{domain}\""),
            );
        }
    }

    /// `calls` names other services.
    fn calls(&mut self, name: &str, calls: &[Spanned<String>], names: &BTreeSet<String>) {
        for target in calls {
            let t = target.get_ref();
            if t == name {
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
    }

    /// Produced and consumed topics are declared.
    fn topic_use(
        &mut self,
        name: &str,
        produces: &[Spanned<String>],
        consumes: &[Spanned<String>],
        topics: &BTreeMap<String, Topic>,
        seen: &mut Seen,
    ) {
        for topic in produces {
            if topics.contains_key(topic.get_ref()) {
                seen.produced.insert(topic.get_ref().clone());
            } else {
                self.unknown_topic(topic, topics);
            }
        }
        for topic in consumes {
            if topics.contains_key(topic.get_ref()) {
                seen.consumed.push((name.to_owned(), topic.clone()));
            } else {
                self.unknown_topic(topic, topics);
            }
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

    /// A service's secrets are declared under `[secrets]`.
    fn secret_use(
        &mut self,
        secrets: &[Spanned<String>],
        declared: &BTreeMap<String, Secret>,
        seen: &mut Seen,
    ) {
        for secret in secrets {
            let s = secret.get_ref();
            seen.used_secrets.insert(s.clone());
            if declared.contains_key(s) {
                continue;
            }
            let help = match closest(s, declared.keys().map(String::as_str)) {
                Some(c) => format!("did you mean \"{c}\"?"),
                None => format!(
                    "declare it: [secrets.{s}] with kind = \"random\", \"ed25519-key\" or \"provided\" and a description"
                ),
            };
            self.error(
                secret.span(),
                format!("secret {s:?} is not declared under [secrets]"),
                help,
            );
        }
    }

    fn scaling(&mut self, scaling: Option<&Spanned<RawScaling>>) -> Scaling {
        let Some(sc) = scaling else {
            return Scaling {
                min: 1,
                max: 3,
                cpu: 70,
            };
        };
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

    fn slo(&mut self, name: &str, name_span: &Range<usize>, slo: Option<&RawSlo>) -> Option<Slo> {
        let slo = slo.map(|slo| Slo {
            availability: slo.availability,
            p99_ms: slo.p99_ms,
        })?;
        if !(50.0..100.0).contains(&slo.availability) {
            self.error(
                name_span.clone(),
                format!(
                    "service {name:?} has an availability objective of {}%",
                    slo.availability
                ),
                "write a percentage below 100, e.g. slo = { availability = 99.9, p99_ms = 300 }",
            );
        }
        Some(slo)
    }

    // --- rules across services --------------------------------------------------------------

    /// Every consumed topic has a producer; every declared topic is produced.
    fn topics_are_produced(&mut self, spans: &BTreeMap<String, Range<usize>>, seen: &Seen) {
        for (consumer, topic) in &seen.consumed {
            if !seen.produced.contains(topic.get_ref()) {
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
        for (topic, span) in spans {
            if !seen.produced.contains(topic) {
                self.error(
                    span.clone(),
                    format!("topic {topic:?} is declared but no service produces it"),
                    "add it to a service's produces, or delete the topic",
                );
            }
        }
    }

    /// Every declared secret is read by some service.
    fn unused_secrets(
        &mut self,
        secrets: &BTreeMap<String, Secret>,
        raw: &BTreeMap<Spanned<String>, RawSecret>,
        seen: &Seen,
    ) {
        for name in raw.keys() {
            if secrets.contains_key(name.get_ref()) && !seen.used_secrets.contains(name.get_ref()) {
                self.error(
                    name.span(),
                    format!(
                        "secret {:?} is declared but no service reads it",
                        name.get_ref()
                    ),
                    "add it to a service's secrets, or delete the declaration",
                );
            }
        }
    }

    /// The gateway is a service and may call every service with routes.
    fn gateway(
        &mut self,
        gateway: &Spanned<String>,
        services: &BTreeMap<String, Service>,
        seen: &Seen,
    ) -> String {
        let name = gateway.get_ref().clone();
        let Some(gw) = services.get(&name) else {
            self.error(
                gateway.span(),
                format!("gateway {name:?} is not a service"),
                "name the service that routes API traffic, e.g. gateway = \"api-gateway\"",
            );
            return name;
        };
        for service in &seen.routed {
            if !gw.calls.contains(service.get_ref()) {
                self.error(
                    service.span(),
                    format!(
                        "service {:?} declares routes but the gateway {name:?} does not call it",
                        service.get_ref()
                    ),
                    format!(
                        "add \"{}\" to [services.{name}] calls, or remove the routes",
                        service.get_ref()
                    ),
                );
            }
        }
        name
    }

    /// The storefront is a service people reach: it has an ingress host.
    fn storefront(
        &mut self,
        storefront: Option<&Spanned<String>>,
        services: &BTreeMap<String, Service>,
    ) -> Option<String> {
        let storefront = storefront?;
        let name = storefront.get_ref();
        match services.get(name) {
            None => {
                let help = match closest(name, services.keys().map(String::as_str)) {
                    Some(c) => format!("did you mean \"{c}\"?"),
                    None => "name the service whose pages people open, or remove the key".into(),
                };
                self.error(
                    storefront.span(),
                    format!("storefront {name:?} is not a service"),
                    help,
                );
            }
            Some(s) if s.ingress_host.is_none() => self.error(
                storefront.span(),
                format!("storefront {name:?} has no ingress_host, so nobody can open it"),
                format!("give [services.{name}] an ingress_host, e.g. ingress_host = \"shop.example.com\""),
            ),
            Some(_) => {}
        }
        Some(name.clone())
    }

    /// `[tokens]`: the signer is a service and serves the JWKS; verifiers need `[tokens]`.
    fn tokens(
        &mut self,
        raw: Option<RawTokens>,
        services: &BTreeMap<String, Service>,
        seen: &Seen,
    ) -> Option<Tokens> {
        let Some(raw) = raw else {
            for (name, span) in &seen.verifiers {
                self.error(
                    span.clone(),
                    format!("service {name:?} verifies tokens, but no [tokens] section says who signs them"),
                    "declare [tokens] with signer = \"auth\", issuer = \"shop-auth\" and audience = \"shop\"",
                );
            }
            return None;
        };
        let signer = raw.signer.get_ref();
        match services.get(signer) {
            None => {
                let help = match closest(signer, services.keys().map(String::as_str)) {
                    Some(c) => format!("did you mean signer = \"{c}\"?"),
                    None => "name the service that signs access tokens, e.g. signer = \"auth\"".into(),
                };
                self.error(
                    raw.signer.span(),
                    format!("token signer {signer:?} is not a service"),
                    help,
                );
            }
            Some(s) if !s.routes.iter().any(|r| r == JWKS_PATH) => self.error(
                raw.signer.span(),
                format!("token signer {signer:?} does not route {JWKS_PATH}, where verifiers and clients fetch its keys"),
                format!("add \"{JWKS_PATH}\" to [services.{signer}] routes"),
            ),
            Some(_) => {}
        }
        for (name, span) in &seen.verifiers {
            if name == signer {
                self.error(
                    span.clone(),
                    format!("service {name:?} signs the tokens; it verifies them with its own keys, not a fetched JWKS"),
                    "remove verify_tokens here",
                );
            }
        }
        for value in [&raw.issuer, &raw.audience] {
            let v = value.get_ref();
            if v.is_empty()
                || v.len() > 100
                || v.contains(|c: char| c.is_whitespace() || c.is_control() || c == '"')
            {
                self.error(
                    value.span(),
                    format!("{v:?} is not a usable token claim value"),
                    "write a short name without spaces or quotes, e.g. issuer = \"shop-auth\"",
                );
            }
        }
        Some(Tokens {
            signer: raw.signer.into_inner(),
            issuer: raw.issuer.into_inner(),
            audience: raw.audience.into_inner(),
        })
    }
}

/// What every service's rules read.
struct Context<'a> {
    domain: &'a str,
    tiers: &'a BTreeMap<String, Tier>,
    topics: &'a BTreeMap<String, Topic>,
    secrets: &'a BTreeMap<String, Secret>,
    names: &'a BTreeSet<String>,
}
