//! What [services.{{ s.name }}] in platform.toml declares, and what the kit opens for it: the
//! service's [`MANIFEST`], and [`Platform`] with exactly the stores, topics, token verifier and
//! clients it declares (`kit::app::main` and `kit::testing::TestApp` build it). Code cannot
//! reach a store or a service that platform.toml does not give it: there is no field for one.

/// {{ s.name }} as platform.toml declares it.
pub const MANIFEST: kit::app::Manifest = kit::app::Manifest {
    name: "{{ s.name }}",
    postgres: {{ s.postgres }},
{%- if s.postgres %}
    migrations: Some(&MIGRATOR),
{%- else %}
    migrations: None,
{%- endif %}
    redis: {{ s.redis }},
    produces: {{ produces }},
    consumes: {{ consumes }},
    calls: {{ calls }},
    tokens: kit::app::Tokens::{{ tokens }},
};
{%- if s.postgres %}

/// The service's migrations (`migrations/`), embedded in the binary and applied at start.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();
{%- endif %}

/// What the kit opened for {{ s.name }}, one field per declaration.
#[derive(Clone)]
pub struct Platform {
    /// Shutdown signal, task tracker and readiness checks.
    pub runtime: kit::app::Runtime,
{%- if s.postgres %}
    /// Its own database (`postgres = true`); the kit applied [`MIGRATOR`].
    pub db: sqlx::PgPool,
{%- endif %}
{%- if s.redis %}
    /// Redis under the key prefix `{{ s.name }}:` (`redis = true`).
    pub redis: kit::redis::RedisStore,
{%- endif %}
{%- if direct_producer %}
    /// Publishes to {{ s.produces.join(", ") }} (`produces`; no database, so no outbox).
    pub events: kit::kafka::Producer,
{%- endif %}
{%- if !s.consumes.is_empty() %}
    /// Group `{{ s.name }}` on {{ s.consumes.join(", ") }} (`consumes`); start it with `run`.
    pub subscription: kit::kafka::Subscription,
{%- endif %}
{%- if s.verify_tokens %}
    /// Checks access tokens against the signer's keys (`verify_tokens = true`).
    pub tokens: kit::auth::Verifier,
{%- endif %}
{%- if !s.calls.is_empty() %}
    /// The services {{ s.name }} may call (`calls`).
    pub clients: Clients,
{%- endif %}
}
{%- if !s.calls.is_empty() %}

/// Clients of exactly the services {{ s.name }} may call.
#[derive(Clone, Debug)]
pub struct Clients {
{%- for c in clients %}
    /// {{ c.name }}: {{ c.description }}
    pub {{ c.field }}: kit::client::Client,
{%- endfor %}
}

impl Clients {
    /// The client of `service`, if {{ s.name }} may call it.
    pub fn get(&self, service: &str) -> Option<&kit::client::Client> {
        match service {
{%- for c in clients %}
            "{{ c.name }}" => Some(&self.{{ c.field }}),
{%- endfor %}
            _ => None,
        }
    }
}
{%- endif %}
{%- if !routes.is_empty() %}

/// The gateway's routing table: every service's `routes`, longest prefix first.
pub const ROUTES: &[(&str, &str)] = &[
{%- for (prefix, service) in routes %}
    ("{{ prefix }}", "{{ service }}"),
{%- endfor %}
];
{%- endif %}

impl kit::app::Dependencies for Platform {
    const MANIFEST: kit::app::Manifest = MANIFEST;

    fn assemble(opened: kit::app::Opened) -> Self {
        Self {
{%- if s.postgres %}
            db: opened.db(),
{%- endif %}
{%- if s.redis %}
            redis: opened.redis(),
{%- endif %}
{%- if direct_producer %}
            events: opened.producer(),
{%- endif %}
{%- if !s.consumes.is_empty() %}
            subscription: opened.subscription(),
{%- endif %}
{%- if s.verify_tokens %}
            tokens: opened.verifier(),
{%- endif %}
{%- if !s.calls.is_empty() %}
            clients: Clients {
{%- for c in clients %}
                {{ c.field }}: opened.client("{{ c.name }}"),
{%- endfor %}
            },
{%- endif %}
            runtime: opened.runtime,
        }
    }
}
