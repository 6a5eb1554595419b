//! The service's database: migrations (`migrations/`, applied at start) and queries.

use sqlx::migrate::Migrator;

/// Migrations embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!();
