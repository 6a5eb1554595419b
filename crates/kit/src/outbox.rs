//! Transactional outbox: an event is written in the same database transaction as the change it
//! records, and a relay publishes it afterwards.
//!
//! [`enqueue`] inserts the enveloped event into the service's `outbox` table using the caller's
//! transaction, so either both the change and the event are committed or neither is. The
//! [`Relay`] takes a transaction-scoped advisory lock, so one replica relays at a time and events
//! of one key leave in the order they were written; it publishes the oldest unpublished rows and
//! marks them published in the same transaction. A crash after publishing but before the commit
//! publishes the rows again on restart: delivery is at least once and consumers dedupe on the
//! envelope id.

use std::time::Duration;

use events::{Envelope, Event};
use sqlx::Row as _;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::kafka::{KafkaError, Producer, headers_for_json};
use crate::shutdown::Shutdown;
use crate::telemetry;

/// Key of the advisory lock that lets one relay of a database work at a time.
pub const RELAY_LOCK: i64 = 0x6f75_7462_6f78; // "outbox"

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

    /// Publishes one batch; returns how many rows were published (0 when another replica holds
    /// the relay lock).
    pub async fn relay_once(&self) -> Result<usize, RelayError> {
        let mut tx = self.pool.begin().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(RELAY_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        if !locked {
            return Ok(0);
        }
        let rows = sqlx::query(
            "SELECT id, topic, key, envelope FROM outbox WHERE published_at IS NULL \
             ORDER BY created_at, id LIMIT $1",
        )
        .bind(self.batch)
        .fetch_all(&mut *tx)
        .await?;
        let mut published = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: Uuid = row.try_get("id")?;
            let topic: String = row.try_get("topic")?;
            let key: String = row.try_get("key")?;
            // Published as stored: the relay never needs to understand the payload.
            let envelope: serde_json::Value = row.try_get("envelope")?;
            let bytes = serde_json::to_vec(&envelope).map_err(KafkaError::Encode)?;
            self.producer
                .send_raw(&topic, &key, &bytes, headers_for_json(&envelope))
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
