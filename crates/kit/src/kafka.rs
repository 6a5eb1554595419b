//! Kafka: a producer of enveloped events and a consumer loop that is idempotent, traced and
//! stops cleanly.
//!
//! Messages carry the JSON [`events::Envelope`] as value, the event's key as key, and headers
//! `event-type`, `event-version` and `traceparent` so tools can route without decoding.
//! Consumers store an offset only after the handler succeeded, dedupe by envelope id
//! ([`mark_processed`]), send messages they can never handle to `<topic>.dlq`, and commit before
//! leaving the group on shutdown.

use std::time::Duration;

use events::{Envelope, Event, RawEnvelope};
use rdkafka::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::shutdown::Shutdown;
use crate::telemetry::{self, TraceParent};

/// Errors from the broker.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("Kafka client error")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("cannot encode event")]
    Encode(#[from] serde_json::Error),
    #[error("broker check failed")]
    Check(String),
}

fn base_config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("socket.timeout.ms", "10000");
    config
}

/// Publishes events. Cheap to clone.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer,
    service: String,
}

impl Producer {
    /// An idempotent producer (acks=all, no duplicates on retry).
    pub fn new(brokers: &str, service: &str) -> Result<Self, KafkaError> {
        let inner = base_config(brokers)
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", "15000")
            .set("client.id", service)
            .create()?;
        Ok(Self {
            inner,
            service: service.to_owned(),
        })
    }

    /// The producer for the service's `KAFKA_BROKERS`.
    pub fn open(config: &crate::config::CommonConfig) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let brokers = config
            .kafka_brokers
            .as_deref()
            .context("KAFKA_BROKERS is required for a service that produces or consumes topics")?;
        Self::new(brokers, &config.service).context("cannot create Kafka producer (KAFKA_BROKERS)")
    }

    /// Wraps `payload` in an envelope under the current trace context and publishes it to its
    /// topic. Prefer the outbox ([`crate::outbox`]) when the event records a database change.
    pub async fn publish<T: Event>(&self, payload: T) -> Result<Uuid, KafkaError> {
        let key = payload.key();
        let envelope =
            Envelope::new(&self.service, payload).with_trace(telemetry::current_event_context());
        let id = envelope.id;
        let bytes = serde_json::to_vec(&envelope)?;
        self.send_raw(T::TOPIC, &key, &bytes, headers_for(&envelope))
            .await?;
        Ok(id)
    }

    /// Publishes prepared bytes and waits for the broker's acknowledgement.
    pub async fn send_raw(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: OwnedHeaders,
    ) -> Result<(), KafkaError> {
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(headers);
        self.inner
            .send(record, Duration::from_secs(15))
            .await
            .map_err(|(e, _)| KafkaError::Client(e))?;
        Ok(())
    }

    /// Asks the broker for metadata: the readiness check.
    pub async fn check(&self, timeout: Duration) -> Result<(), KafkaError> {
        let producer = self.inner.clone();
        tokio::task::spawn_blocking(move || producer.client().fetch_metadata(None, timeout))
            .await
            .map_err(|e| KafkaError::Check(e.to_string()))??;
        Ok(())
    }

    /// Waits for queued messages to be delivered (on shutdown).
    pub fn flush(&self, timeout: Duration) {
        let _ = self.inner.flush(timeout);
    }
}

/// The Kafka headers for an envelope: `event-id`, `event-type`, `event-version` and, when the
/// event carries trace context, `traceparent`.
pub fn headers_for<T>(envelope: &Envelope<T>) -> OwnedHeaders {
    headers(
        &envelope.id.to_string(),
        &envelope.event_type,
        &envelope.version.to_string(),
        envelope.trace.as_ref().map(|t| t.traceparent.as_str()),
    )
}

/// [`headers_for`] of an envelope held as JSON (the outbox stores it so).
pub fn headers_for_json(envelope: &serde_json::Value) -> OwnedHeaders {
    let text = |pointer: &str| match envelope.pointer(pointer) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let traceparent = text("/trace/traceparent");
    headers(
        &text("/id"),
        &text("/type"),
        &text("/version"),
        (!traceparent.is_empty()).then_some(traceparent.as_str()),
    )
}

fn headers(id: &str, event_type: &str, version: &str, traceparent: Option<&str>) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new()
        .insert(Header {
            key: "event-id",
            value: Some(id.as_bytes()),
        })
        .insert(Header {
            key: "event-type",
            value: Some(event_type.as_bytes()),
        })
        .insert(Header {
            key: "event-version",
            value: Some(version.as_bytes()),
        });
    if let Some(traceparent) = traceparent {
        headers = headers.insert(Header {
            key: "traceparent",
            value: Some(traceparent.as_bytes()),
        });
    }
    headers
}

/// What a handler says about a message it could not handle.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// A passing failure (database down): the message is retried with backoff.
    #[error("transient failure")]
    Retry(#[source] anyhow::Error),
    /// The message can never be handled (bad schema, unknown version): it goes to the dead-letter
    /// topic and the consumer moves on.
    #[error("poison message")]
    Poison(#[source] anyhow::Error),
}

/// Settings of a consumer loop.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub brokers: String,
    /// Consumer group, by convention the service's name.
    pub group: String,
    pub topics: Vec<String>,
}

/// Consumes `topics` and calls `handler` for every envelope until shutdown.
pub async fn run_consumer<H, Fut>(
    config: ConsumerConfig,
    producer: Producer,
    shutdown: Shutdown,
    handler: H,
) -> Result<(), KafkaError>
where
    H: Fn(RawEnvelope) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = Result<(), HandleError>> + Send,
{
    let consumer: StreamConsumer = base_config(&config.brokers)
        .set("group.id", &config.group)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .create()?;
    let topics: Vec<&str> = config.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics)?;
    tracing::info!(group = %config.group, topics = ?config.topics, "consumer started");

    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => break,
            message = consumer.recv() => message,
        };
        let message = match message {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "consumer error");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        if !handle_with_retry(&message, &producer, &shutdown, &handler).await {
            break; // shutdown while retrying: the offset stays, the message is redelivered
        }
        if let Err(error) = consumer.store_offset_from_message(&message) {
            // E.g. the partition was revoked by a rebalance: its new owner redelivers the
            // message, and handling is idempotent.
            tracing::warn!(%error, "cannot store offset");
        }
    }
    consumer.commit_consumer_state(CommitMode::Sync).ok();
    tracing::info!(group = %config.group, "consumer stopped, offsets committed");
    Ok(())
}

/// Handles one message; returns false when shutdown interrupted the retries.
async fn handle_with_retry<H, Fut>(
    message: &BorrowedMessage<'_>,
    producer: &Producer,
    shutdown: &Shutdown,
    handler: &H,
) -> bool
where
    H: Fn(RawEnvelope) -> Fut,
    Fut: std::future::Future<Output = Result<(), HandleError>>,
{
    let topic = message.topic().to_owned();
    let envelope: RawEnvelope = match message.payload().map(serde_json::from_slice) {
        Some(Ok(envelope)) => envelope,
        Some(Err(error)) => {
            return dead_letter(
                producer,
                message,
                &format!("not an envelope: {error}"),
                shutdown,
            )
            .await;
        }
        None => {
            return dead_letter(producer, message, "empty message", shutdown).await;
        }
    };
    let incoming = envelope
        .trace
        .as_ref()
        .and_then(|t| TraceParent::parse(&t.traceparent));
    let span = tracing::info_span!(
        "event",
        topic = %topic,
        event_type = %envelope.event_type,
        event_id = %envelope.id,
        trace_id = tracing::field::Empty,
    );
    let trace = telemetry::attach(&span, incoming);
    let mut backoff = Duration::from_millis(100);
    loop {
        let attempt = telemetry::scope(trace, handler(envelope.clone()));
        let outcome = tracing::Instrument::instrument(attempt, span.clone()).await;
        match outcome {
            Ok(()) => return true,
            Err(HandleError::Poison(error)) => {
                span.in_scope(|| tracing::error!(error = %format!("{error:#}"), "poison message, sent to dead-letter topic"));
                return dead_letter(producer, message, &format!("{error:#}"), shutdown).await;
            }
            Err(HandleError::Retry(error)) => {
                span.in_scope(|| tracing::warn!(error = %format!("{error:#}"), retry_in_ms = backoff.as_millis() as u64, "handler failed, retrying"));
                tokio::select! {
                    () = shutdown.cancelled() => return false,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// The dead-letter topic of `topic`.
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// Publishes `message` to its dead-letter topic, retrying until the broker takes it: its offset
/// is stored only then, so a poison message is never dropped. False when shutdown interrupted.
async fn dead_letter(
    producer: &Producer,
    message: &BorrowedMessage<'_>,
    reason: &str,
    shutdown: &Shutdown,
) -> bool {
    let mut headers = OwnedHeaders::new();
    if let Some(original) = message.headers() {
        for header in original.iter() {
            headers = headers.insert(Header {
                key: header.key,
                value: header.value,
            });
        }
    }
    headers = headers.insert(Header {
        key: "dlq-reason",
        value: Some(reason.as_bytes()),
    });
    let key = message
        .key()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .unwrap_or_default();
    let topic = dead_letter_topic(message.topic());
    let mut backoff = Duration::from_millis(500);
    loop {
        match producer
            .send_raw(
                &topic,
                &key,
                message.payload().unwrap_or_default(),
                headers.clone(),
            )
            .await
        {
            Ok(()) => return true,
            Err(error) => {
                tracing::error!(%error, %topic, retry_in_ms = backoff.as_millis() as u64, "cannot publish to dead-letter topic, retrying");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return false,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// Records that `consumer` handled `event_id`, inside the handler's transaction. Returns false
/// when it was handled before: skip the work, the message is a redelivery. Needs the
/// `processed_events` table (the scaffold's first migration creates it).
pub async fn mark_processed(
    conn: &mut PgConnection,
    consumer: &str,
    event_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(consumer)
    .bind(event_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}
