//! PostgreSQL: the pool, the service's migrations and the kit's own tables.
//!
//! Each service owns its database and its migrations (`services/<name>/migrations`, embedded by
//! the rendered `src/platform.rs`). The kit owns two tables a service may need, created with
//! idempotent DDL after the service's migrations: `outbox` (services that produce) and
//! `processed_events` (services that consume), plus the trigger that wakes the outbox relay.
//!
//! The pool connects lazily and [`migrate_in_background`] applies everything, retrying with
//! backoff while the database is away; readiness fails until it has succeeded once.

use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::shutdown::Shutdown;

/// A pool that opens connections on first use; only a malformed URL fails here.
pub fn connect_lazy(url: &SecretString, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(url.expose_secret())?;
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy_with(options))
}

/// `url` with its database name replaced (everything else kept), for per-service and per-test
/// databases on one server.
pub fn with_database(url: &str, database: &str) -> Result<PgConnectOptions, sqlx::Error> {
    Ok(PgConnectOptions::from_str(url)?.database(database))
}

/// Key of the advisory lock under which the kit's DDL runs (replicas start together).
const SCHEMA_LOCK: i64 = 0x6b69_745f_7363_6865; // "kit_sche"

/// The kit's tables, idempotent: safe on every start and beside a service migration that made
/// them first (older services did).
const OUTBOX_DDL: &str = r"
CREATE TABLE IF NOT EXISTS outbox (
    id           uuid PRIMARY KEY,
    topic        text        NOT NULL,
    key          text        NOT NULL,
    envelope     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (created_at, id) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE OR REPLACE FUNCTION kit_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kit_outbox', '');
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS kit_outbox_notify ON outbox;
CREATE TRIGGER kit_outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION kit_outbox_notify();
";

const PROCESSED_DDL: &str = r"
CREATE TABLE IF NOT EXISTS processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS processed_events_processed_at ON processed_events (processed_at);
";

/// Which of the kit's tables a service needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct KitTables {
    pub outbox: bool,
    pub processed_events: bool,
}

/// Applies the service's migrations, then the kit's tables.
pub async fn migrate(
    pool: &PgPool,
    migrations: Option<&Migrator>,
    kit: KitTables,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    if let Some(migrator) = migrations {
        migrator
            .run(pool)
            .await
            .context("cannot apply the service's migrations")?;
    }
    let mut ddl = String::new();
    if kit.outbox {
        ddl.push_str(OUTBOX_DDL);
    }
    if kit.processed_events {
        ddl.push_str(PROCESSED_DDL);
    }
    if !ddl.is_empty() {
        // One batch of statements is one implicit transaction (all or nothing), and the advisory
        // lock it takes first is held until the batch ends: replicas start together.
        let script = format!("SELECT pg_advisory_xact_lock({SCHEMA_LOCK});\n{ddl}");
        sqlx::raw_sql(&script)
            .execute(pool)
            .await
            .context("cannot create the kit's tables")?;
    }
    Ok(())
}

/// Runs [`migrate`] on the shutdown tracker until it succeeds, backing off from 1 s to 30 s
/// while the database is unreachable. The flag turns true once it has.
pub fn migrate_in_background(
    pool: PgPool,
    migrations: Option<&'static Migrator>,
    kit: KitTables,
    shutdown: &Shutdown,
) -> Arc<AtomicBool> {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let stop = shutdown.clone();
    shutdown.spawn(async move {
        let mut pause = Duration::from_secs(1);
        loop {
            match migrate(&pool, migrations, kit).await {
                Ok(()) => {
                    flag.store(true, Ordering::Release);
                    tracing::info!("database ready (migrations applied)");
                    return;
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        retry_in_s = pause.as_secs(),
                        "database not ready"
                    );
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(30));
        }
    });
    done
}
