//! PostgreSQL: the pool and migrations.
//!
//! Each service owns its database and its migrations (`services/<name>/migrations`, embedded with
//! `sqlx::migrate!`), and runs them at start before it reports ready.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

/// Opens a pool; fails fast when the server is unreachable.
pub async fn connect(url: &SecretString, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url.expose_secret())
        .await
}

/// Connects to the service's database and applies its pending migrations: what every service
/// with `postgres = true` does at start.
pub async fn open(config: &crate::config::CommonConfig, migrator: &Migrator) -> anyhow::Result<PgPool> {
    use anyhow::Context as _;
    let url = config
        .database_url
        .as_ref()
        .context("DATABASE_URL is required for a service with postgres = true")?;
    let pool = connect(url, config.database_max_connections)
        .await
        .context("cannot connect to PostgreSQL (DATABASE_URL)")?;
    migrate(&pool, migrator)
        .await
        .context("cannot apply database migrations")?;
    Ok(pool)
}

/// Applies the service's pending migrations.
pub async fn migrate(pool: &PgPool, migrator: &Migrator) -> Result<(), sqlx::migrate::MigrateError> {
    migrator.run(pool).await
}
