//! Readiness: whether the service's own dependencies are reachable.
//!
//! `/healthz` only says the process is alive (the kubelet restarts it otherwise). `/readyz` runs
//! each [`Check`] with a short timeout and answers 503 when any fails or when shutdown has
//! begun, so the pod leaves the load balancer before it stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::kafka::Producer;
use crate::redis::RedisStore;
use crate::shutdown::Shutdown;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// One dependency to check.
#[derive(Clone)]
pub enum Check {
    /// The database answers and the migrations have been applied.
    Postgres {
        pool: sqlx::PgPool,
        migrated: Arc<AtomicBool>,
    },
    Redis(RedisStore),
    Kafka(Producer),
}

impl Check {
    fn name(&self) -> &'static str {
        match self {
            Self::Postgres { .. } => "postgres",
            Self::Redis(_) => "redis",
            Self::Kafka(_) => "kafka",
        }
    }

    async fn run(&self) -> Result<(), String> {
        match self {
            Self::Postgres { pool, migrated } => {
                if !migrated.load(Ordering::Acquire) {
                    return Err("migrations not applied yet".to_owned());
                }
                sqlx::query("SELECT 1")
                    .execute(pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            Self::Redis(store) => store.ping().await.map_err(|e| e.to_string()),
            Self::Kafka(producer) => producer
                .check(CHECK_TIMEOUT)
                .await
                .map_err(|e| e.to_string()),
        }
    }
}

/// The checks behind `/readyz`: built by the kit from the service's manifest.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<Check>,
    shutdown: Option<Shutdown>,
}

impl Readiness {
    pub fn new(shutdown: &Shutdown) -> Self {
        Self {
            checks: Vec::new(),
            shutdown: Some(shutdown.clone()),
        }
    }

    pub fn with(mut self, check: Check) -> Self {
        self.checks.push(check);
        self
    }

    /// Runs every check concurrently.
    pub async fn report(&self) -> Response {
        let results = futures::future::join_all(self.checks.iter().map(|check| async move {
            let outcome = match tokio::time::timeout(CHECK_TIMEOUT, check.run()).await {
                Ok(outcome) => outcome,
                Err(_) => Err("timed out".to_owned()),
            };
            (check.name(), outcome)
        }))
        .await;
        let draining = self.shutdown.as_ref().is_some_and(Shutdown::is_triggered);
        let mut ready = !draining;
        let mut checks = Map::new();
        for (name, outcome) in results {
            let value = match outcome {
                Ok(()) => json!({"status": "ok"}),
                Err(error) => {
                    ready = false;
                    tracing::warn!(check = name, %error, "readiness check failed");
                    json!({"status": "failing"})
                }
            };
            checks.insert(name.to_owned(), value);
        }
        let status = if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        let body = json!({
            "status": if draining { "draining" } else if ready { "ok" } else { "failing" },
            "checks": Value::Object(checks),
        });
        (status, Json(body)).into_response()
    }
}
