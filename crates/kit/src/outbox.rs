//! Transactional outbox: an event is written in the same database transaction as the change it
//! records, and a relay publishes it afterwards.
//!
//! [`enqueue`] inserts the enveloped event into the service's `outbox` table using the caller's
//! transaction, so either both the change and the event are committed or neither is. A trigger
//! on the table notifies the relay when the transaction commits (`LISTEN kit_outbox`), so events
//! leave within milliseconds; the relay also polls every [`Relay::poll`] in case a notification
//! is missed.
//!
//! The [`Relay`] takes a transaction-scoped advisory lock, so one replica relays at a time and
//! events of one key leave in the order they were written. Per batch (the oldest unpublished rows)
//! it hands every row to the producer at once, waits for all the acknowledgements (one round trip,
//! not one per row; the idempotent producer keeps each partition's order), marks the rows
//! published and commits, which releases the lock. A crash after publishing but before the commit
//! publishes the rows again on restart: delivery is at least once and consumers dedupe on the
//! envelope id. Rows published more than [`RETENTION`] ago are deleted.

use std::time::Duration;

use events::{Envelope, Event};
use sqlx::Row as _;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::kafka::{KafkaError, Producer, headers_for_json};
use crate::shutdown::Shutdown;
use crate::telemetry;

/// Key of the advisory lock that lets one relay of a database work at a time.
pub const RELAY_LOCK: i64 = 0x6f75_7462_6f78; // "outbox"
/// The notification channel the outbox trigger signals.
pub const CHANNEL: &str = "kit_outbox";
/// How long published rows are kept (for inspection and replays), then deleted.
pub const RETENTION: Duration = Duration::from_secs(7 * 86_400);

/// The statement of [`enqueue`] (a file, which `cargo xtask bench`'s baselines run too).
pub const ENQUEUE: &str = include_str!("sql/outbox_enqueue.sql");

/// Writes `payload` to the outbox within the caller's transaction; returns the event id.
pub async fn enqueue<T: Event>(
    conn: &mut PgConnection,
    producer: &str,
    payload: T,
) -> Result<Uuid, sqlx::Error> {
    let key = payload.key();
    let envelope = Envelope::new(producer, payload).with_trace(telemetry::current_event_context());
    let json = serde_json::to_value(&envelope).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(ENQUEUE)
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

/// How often the relay looks for rows when no notification woke it (the safety net under
/// `LISTEN/NOTIFY`).
pub const POLL: Duration = Duration::from_secs(1);

/// Publishes outbox rows to Kafka.
#[derive(Clone)]
pub struct Relay {
    pool: PgPool,
    producer: Producer,
    batch: i64,
    /// Polling interval when no notification arrives.
    pub poll: Duration,
    /// How long a batch waits for the broker's acknowledgements.
    pub ack_timeout: Duration,
}

impl Relay {
    pub fn new(pool: PgPool, producer: Producer) -> Self {
        Self {
            pool,
            producer,
            batch: 500,
            poll: POLL,
            ack_timeout: Duration::from_secs(15),
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
        let mut sends = Vec::with_capacity(rows.len());
        let mut ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: Uuid = row.try_get("id")?;
            let topic: String = row.try_get("topic")?;
            let key: String = row.try_get("key")?;
            // Published as stored: the relay never needs to understand the payload.
            let envelope: serde_json::Value = row.try_get("envelope")?;
            let bytes = serde_json::to_vec(&envelope).map_err(KafkaError::Encode)?;
            let headers = headers_for_json(&envelope);
            let producer = self.producer.clone();
            let timeout = self.ack_timeout;
            // Every send is queued before the first acknowledgement is awaited; they complete in
            // the order queued per partition.
            sends.push(async move {
                producer
                    .send_raw(&topic, &key, &bytes, headers, timeout)
                    .await
            });
            ids.push(id);
        }
        for outcome in futures::future::join_all(sends).await {
            outcome?;
        }
        if !ids.is_empty() {
            sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
                .bind(&ids)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(ids.len())
    }

    /// Deletes rows published more than [`RETENTION`] ago.
    pub async fn prune(&self) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)",
        )
        .bind(RETENTION.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Relays until shutdown: after each notification, every [`Relay::poll`], and at once while
    /// batches come back full. Errors are logged and retried after a pause.
    pub async fn run(self, shutdown: Shutdown) {
        let mut listener: Option<PgListener> = None;
        let mut last_prune = tokio::time::Instant::now();
        loop {
            if listener.is_none() {
                listener = match PgListener::connect_with(&self.pool).await {
                    Ok(mut l) => match l.listen(CHANNEL).await {
                        Ok(()) => Some(l),
                        Err(_) => None,
                    },
                    Err(_) => None,
                };
            }
            let pause = match self.relay_once().await {
                Ok(n) if n as i64 == self.batch => Duration::ZERO,
                Ok(_) => self.poll,
                Err(error) => {
                    tracing::warn!(error = %crate::problem::ErrorChain(&error), "outbox relay failed, retrying");
                    Duration::from_secs(2)
                }
            };
            if last_prune.elapsed() > Duration::from_secs(3600) {
                last_prune = tokio::time::Instant::now();
                match self.prune().await {
                    Ok(0) => {}
                    Ok(rows) => tracing::info!(rows, "pruned published outbox rows"),
                    Err(error) => tracing::warn!(%error, "cannot prune the outbox"),
                }
            }
            if pause.is_zero() {
                continue;
            }
            let notified = async {
                match listener.as_mut() {
                    Some(l) => l.recv().await.map(|_| ()),
                    None => std::future::pending().await,
                }
            };
            let dropped = tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => false,
                outcome = notified => outcome.is_err(),
            };
            if dropped {
                // The listening connection broke; listen again on the next round.
                listener = None;
            }
        }
        // One last pass so events committed just before shutdown go out now, not next start.
        if let Err(error) = self.relay_once().await {
            tracing::warn!(error = %crate::problem::ErrorChain(&error), "final outbox relay failed");
        }
    }
}
