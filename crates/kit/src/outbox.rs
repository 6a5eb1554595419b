//! Transactional outbox: an event is written in the same database transaction as the change it
//! records, and a relay publishes it afterwards.
//!
//! [`enqueue`] inserts the enveloped event into the service's `outbox` table using the caller's
//! transaction, so either both the change and the event are committed or neither is. The
//! [`Relay`] claims unpublished rows with `FOR UPDATE SKIP LOCKED` (several replicas can relay at
//! once without double work), publishes each, and marks them published in the same transaction.
//! A crash after publishing but before the commit publishes the row again on restart: delivery
//! is at least once and consumers dedupe on the envelope id.

use std::time::Duration;

use events::{Envelope, Event};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::kafka::{KafkaError, Producer, headers_for};
use crate::shutdown::Shutdown;
use crate::telemetry;

/// The DDL of the outbox table, for a service's first migration.
pub const OUTBOX_TABLE: &str = "outbox";

/// Writes `payload` to the outbox within the caller's transaction; returns the event id.
pub async fn enqueue<T: Event>(
    conn: &mut PgConnection,
    producer: &str,
    payload: T,
) -> Result<Uuid, sqlx::Error> {
    let key = payload.key();
    let envelope = Envelope::new(producer, payload).with_trace(telemetry::current_event_context());
    let json = serde_json::to_value(&envelope).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO outbox (id, topic, key, envelope, created_at) VALUES ($1, $2, $3, $4, now())",
    )
    .bind(envelope.id)
    .bind(T::TOPIC)
    .bind(key)
    .bind(json)
    .execute(conn)
    .await?;
    Ok(envelope.id)
}

/// Errors while relaying.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("outbox query failed")]
    Database(#[from] sqlx::Error),
    #[error("cannot publish outbox event")]
    Publish(#[from] KafkaError),
}

/// Publishes outbox rows to Kafka.
#[derive(Clone)]
pub struct Relay {
    pool: PgPool,
    producer: Producer,
    batch: i64,
    interval: Duration,
}

impl Relay {
    pub fn new(pool: PgPool, producer: Producer) -> Self {
        Self {
            pool,
            producer,
            batch: 100,
            interval: Duration::from_millis(200),
        }
    }

    /// Publishes one batch; returns how many rows were published.
    pub async fn relay_once(&self) -> Result<usize, RelayError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT id, topic, key, envelope FROM outbox WHERE published_at IS NULL \
             ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(self.batch)
        .fetch_all(&mut *tx)
        .await?;
        let mut published = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: Uuid = row.try_get("id")?;
            let topic: String = row.try_get("topic")?;
            let key: String = row.try_get("key")?;
            let envelope: serde_json::Value = row.try_get("envelope")?;
            let typed: Envelope<serde_json::Value> = serde_json::from_value(envelope.clone())
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            let bytes = serde_json::to_vec(&envelope).map_err(KafkaError::Encode)?;
            self.producer
                .send_raw(&topic, &key, &bytes, headers_for(&typed))
                .await?;
            published.push(id);
        }
        if !published.is_empty() {
            sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
                .bind(&published)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(published.len())
    }

    /// Relays until shutdown; errors are logged and retried after a pause.
    pub async fn run(self, shutdown: Shutdown) {
        loop {
            let pause = match self.relay_once().await {
                Ok(n) if n as i64 == self.batch => Duration::ZERO,
                Ok(_) => self.interval,
                Err(error) => {
                    tracing::warn!(error = %crate::problem::ErrorChain(&error), "outbox relay failed, retrying");
                    Duration::from_secs(2)
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        // One last pass so events committed just before shutdown go out now, not next start.
        if let Err(error) = self.relay_once().await {
            tracing::warn!(error = %crate::problem::ErrorChain(&error), "final outbox relay failed");
        }
        self.producer.flush(Duration::from_secs(5));
    }
}
