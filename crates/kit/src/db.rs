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
pub async fn open(
    config: &crate::config::CommonConfig,
    migrator: &Migrator,
) -> anyhow::Result<PgPool> {
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
pub async fn migrate(
    pool: &PgPool,
    migrator: &Migrator,
) -> Result<(), sqlx::migrate::MigrateError> {
    migrator.run(pool).await
}

/// `url` with its database name replaced (query parameters kept).
pub fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("//").map_or(0, |i| i + 2);
    let without_db = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{without_db}/{database}?{q}"),
        None => format!("{without_db}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            replace_database("postgres://u@h/db?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://u@h", "t1"),
            "postgres://u@h/t1"
        );
    }
}
