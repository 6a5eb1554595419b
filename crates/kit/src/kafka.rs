//! Kafka: a producer of enveloped events and a consumer loop that is idempotent, traced, bounded
//! and stops cleanly.
//!
//! Messages carry the JSON [`events::Envelope`] as value, the event's key as key, and headers
//! `event-id`, `event-type`, `event-version` and the trace context so tools can route without
//! decoding. [`Producer::publish`] queues an event and returns: librdkafka delivers it in the
//! background, holding it through a broker outage of up to [`QUEUE_TIMEOUT`], and a tracked task
//! logs a delivery that failed (services with a database publish through the outbox instead).
//!
//! A [`Subscription`] consumes the service's topics in its consumer group. It stores an offset
//! only after the handler succeeded, dedupes by envelope id ([`mark_processed`]), retries a
//! failing handler with backoff, sends a message it can never handle (poison, or still failing
//! after [`MAX_ATTEMPTS`]) to `<topic>.dlq` instead of stalling the partition, and commits before
//! leaving the group on shutdown. A failure whose cause is a store being down does not count
//! against the attempts: the consumer waits for the store instead of dead-lettering everything.

use std::sync::Arc;
use std::time::Duration;

use events::{Envelope, Event, RawEnvelope};
use rdkafka::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::shutdown::Shutdown;
use crate::telemetry;

/// How long a queued event waits for the broker before its delivery fails.
pub const QUEUE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the producer waits to batch messages before sending (`linger.ms`): the floor of an
/// event's latency from publish to broker.
pub const LINGER: Duration = Duration::from_millis(5);
/// Attempts a handler gets for one message before it goes to the dead-letter topic.
pub const MAX_ATTEMPTS: u32 = 8;

/// Errors from the broker.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("Kafka client error")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("cannot encode event")]
    Encode(#[from] serde_json::Error),
    #[error("broker check failed")]
    Check(String),
    #[error("the producer's queue is full")]
    QueueFull,
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
    shutdown: Shutdown,
}

impl Producer {
    /// An idempotent producer (acks=all, no duplicates or reordering on retry). Deliveries are
    /// watched by tasks on `shutdown`'s tracker, so the process waits for them before exiting.
    pub fn new(brokers: &str, service: &str, shutdown: &Shutdown) -> Result<Self, KafkaError> {
        let inner = base_config(brokers)
            .set("enable.idempotence", "true")
            .set("linger.ms", LINGER.as_millis().to_string())
            .set("message.timeout.ms", QUEUE_TIMEOUT.as_millis().to_string())
            .set("client.id", service)
            .create()?;
        Ok(Self {
            inner,
            service: service.to_owned(),
            shutdown: shutdown.clone(),
        })
    }

    /// The producer for the service's `KAFKA_BROKERS`.
    pub fn open(config: &crate::config::CommonConfig, shutdown: &Shutdown) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let brokers = config
            .kafka_brokers
            .as_deref()
            .context("KAFKA_BROKERS is required for a service that produces or consumes topics")?;
        Self::new(brokers, &config.service, shutdown)
            .context("cannot create Kafka producer (KAFKA_BROKERS)")
    }

    /// Wraps `payload` in an envelope under the current trace context and queues it for its
    /// topic; returns the event id. Fails only when the local queue is full. Prefer the outbox
    /// ([`crate::outbox`]) when the event records a database change.
    pub fn publish<T: Event>(&self, payload: T) -> Result<Uuid, KafkaError> {
        let key = payload.key();
        let envelope =
            Envelope::new(&self.service, payload).with_trace(telemetry::current_event_context());
        let id = envelope.id;
        let bytes = serde_json::to_vec(&envelope)?;
        let record = FutureRecord::to(T::TOPIC)
            .key(&key)
            .payload(&bytes)
            .headers(headers_for(&envelope));
        let delivery = self
            .inner
            .send_result(record)
            .map_err(|(error, _)| match error {
                rdkafka::error::KafkaError::MessageProduction(
                    rdkafka::types::RDKafkaErrorCode::QueueFull,
                ) => KafkaError::QueueFull,
                other => KafkaError::Client(other),
            })?;
        let topic = T::TOPIC;
        self.shutdown.spawn(async move {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => {
                    tracing::error!(%error, topic, event_id = %id, "event not delivered");
                }
                Err(_) => tracing::error!(topic, event_id = %id, "event delivery abandoned"),
            }
        });
        Ok(id)
    }

    /// Publishes prepared bytes and waits for the broker's acknowledgement (at most `timeout`).
    pub async fn send_raw(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: OwnedHeaders,
        timeout: Duration,
    ) -> Result<(), KafkaError> {
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(headers);
        self.inner
            .send(record, timeout)
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
}

/// The Kafka headers for an envelope: `event-id`, `event-type`, `event-version` and, when the
/// event carries trace context, `traceparent` and `tracestate`.
pub fn headers_for<T>(envelope: &Envelope<T>) -> OwnedHeaders {
    headers(
        &envelope.id.to_string(),
        &envelope.event_type,
        &envelope.version.to_string(),
        envelope.trace.as_ref(),
    )
}

/// [`headers_for`] of an envelope held as JSON (the outbox stores it so).
pub fn headers_for_json(envelope: &serde_json::Value) -> OwnedHeaders {
    let text = |pointer: &str| match envelope.pointer(pointer) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let trace = envelope
        .get("trace")
        .and_then(|t| serde_json::from_value::<events::TraceContext>(t.clone()).ok());
    headers(
        &text("/id"),
        &text("/type"),
        &text("/version"),
        trace.as_ref(),
    )
}

fn headers(
    id: &str,
    event_type: &str,
    version: &str,
    trace: Option<&events::TraceContext>,
) -> OwnedHeaders {
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
    if let Some(trace) = trace {
        headers = headers.insert(Header {
            key: "traceparent",
            value: Some(trace.traceparent.as_bytes()),
        });
        if let Some(state) = &trace.tracestate {
            headers = headers.insert(Header {
                key: "tracestate",
                value: Some(state.as_bytes()),
            });
        }
    }
    headers
}

/// What a handler says about a message it could not handle.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// A passing failure (database down, a bug being fixed): the message is retried with backoff,
    /// up to [`MAX_ATTEMPTS`] unless the cause is a store being down.
    #[error("transient failure")]
    Retry(#[source] anyhow::Error),
    /// The message can never be handled (bad schema, unknown version): it goes to the dead-letter
    /// topic and the consumer moves on.
    #[error("poison message")]
    Poison(#[source] anyhow::Error),
}

/// The service's consumer group on the topics it declares in `consumes`. Cheap to clone; start
/// it with [`Subscription::run`].
#[derive(Clone)]
pub struct Subscription {
    brokers: String,
    group: String,
    topics: Vec<String>,
    producer: Producer,
    shutdown: Shutdown,
    max_attempts: u32,
}

impl Subscription {
    /// `group` on `topics` of `brokers` (the kit makes a service's: its name, its `consumes`);
    /// `producer` sends dead letters, `shutdown` stops the loop.
    pub fn new(
        brokers: &str,
        group: &str,
        topics: &[&str],
        producer: Producer,
        shutdown: Shutdown,
    ) -> Self {
        Self {
            brokers: brokers.to_owned(),
            group: group.to_owned(),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            producer,
            shutdown,
            max_attempts: MAX_ATTEMPTS,
        }
    }

    /// Attempts per message before it is dead-lettered.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Starts the consumer loop on the shutdown tracker: `handler` is called for every envelope
    /// until shutdown.
    pub fn run<H, Fut>(self, handler: H)
    where
        H: Fn(RawEnvelope) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), HandleError>> + Send,
    {
        let shutdown = self.shutdown.clone();
        shutdown.spawn(async move {
            if let Err(error) = self.consume(handler).await {
                tracing::error!(error = %crate::problem::ErrorChain(&error), "consumer stopped");
            }
        });
    }

    async fn consume<H, Fut>(self, handler: H) -> Result<(), KafkaError>
    where
        H: Fn(RawEnvelope) -> Fut + Send + Sync,
        Fut: std::future::Future<Output = Result<(), HandleError>> + Send,
    {
        let consumer: StreamConsumer = base_config(&self.brokers)
            .set("group.id", &self.group)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            .create()?;
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        tracing::info!(group = %self.group, topics = ?self.topics, "consumer started");

        loop {
            let message = tokio::select! {
                () = self.shutdown.cancelled() => break,
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
            if !self.handle(&message, &handler).await {
                break; // shutdown while retrying: the offset stays, the message is redelivered
            }
            if let Err(error) = consumer.store_offset_from_message(&message) {
                // E.g. the partition was revoked by a rebalance: its new owner redelivers the
                // message, and handling is idempotent.
                tracing::warn!(%error, "cannot store offset");
            }
        }
        // The commit waits for the broker: off the async threads.
        let consumer = Arc::new(consumer);
        let committed =
            tokio::task::spawn_blocking(move || consumer.commit_consumer_state(CommitMode::Sync))
                .await;
        match committed {
            Ok(Ok(())) => {
                tracing::info!(group = %self.group, "consumer stopped, offsets committed")
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, group = %self.group, "consumer stopped; offsets not committed")
            }
            Err(error) => tracing::warn!(%error, "offset commit panicked"),
        }
        Ok(())
    }

    /// Handles one message; returns false when shutdown interrupted the retries.
    async fn handle<H, Fut>(&self, message: &BorrowedMessage<'_>, handler: &H) -> bool
    where
        H: Fn(RawEnvelope) -> Fut,
        Fut: std::future::Future<Output = Result<(), HandleError>>,
    {
        let topic = message.topic().to_owned();
        let envelope: RawEnvelope = match message.payload().map(serde_json::from_slice) {
            Some(Ok(envelope)) => envelope,
            Some(Err(error)) => {
                return self
                    .dead_letter(message, &format!("not an envelope: {error}"))
                    .await;
            }
            None => return self.dead_letter(message, "empty message").await,
        };
        let parent = telemetry::extract_event(envelope.trace.as_ref());
        let (span, context) = telemetry::begin(parent, |trace_id| {
            tracing::info_span!(
                "event",
                topic = %topic,
                event_type = %envelope.event_type,
                event_id = %envelope.id,
                trace_id,
            )
        });
        let mut backoff = Duration::from_millis(100);
        let mut attempts = 0;
        loop {
            let attempt = telemetry::scope(context.clone(), handler(envelope.clone()));
            let outcome = tracing::Instrument::instrument(attempt, span.clone()).await;
            let error = match outcome {
                Ok(()) => return true,
                Err(HandleError::Poison(error)) => {
                    span.in_scope(|| tracing::error!(error = %format!("{error:#}"), "poison message, sent to the dead-letter topic"));
                    return self.dead_letter(message, &format!("{error:#}")).await;
                }
                Err(HandleError::Retry(error)) => error,
            };
            let store_down = crate::problem::unavailable_cause(error.as_ref()).is_some();
            if !store_down {
                attempts += 1;
            }
            if attempts >= self.max_attempts {
                span.in_scope(|| tracing::error!(error = %format!("{error:#}"), attempts, "handler keeps failing, sent to the dead-letter topic"));
                return self
                    .dead_letter(message, &format!("failed {attempts} times: {error:#}"))
                    .await;
            }
            span.in_scope(|| tracing::warn!(error = %format!("{error:#}"), attempts, store_down, retry_in_ms = backoff.as_millis() as u64, "handler failed, retrying"));
            tokio::select! {
                () = self.shutdown.cancelled() => return false,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    /// Publishes `message` to its dead-letter topic, retrying until the broker takes it: its
    /// offset is stored only then, so a poison message is never dropped. False when shutdown
    /// interrupted.
    async fn dead_letter(&self, message: &BorrowedMessage<'_>, reason: &str) -> bool {
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
            match self
                .producer
                .send_raw(
                    &topic,
                    &key,
                    message.payload().unwrap_or_default(),
                    headers.clone(),
                    Duration::from_secs(15),
                )
                .await
            {
                Ok(()) => return true,
                Err(error) => {
                    tracing::error!(%error, %topic, retry_in_ms = backoff.as_millis() as u64, "cannot publish to the dead-letter topic, retrying");
                }
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return false,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }
}

/// The dead-letter topic of `topic`.
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// Records that `consumer` handled `event_id`, inside the handler's transaction. Returns false
/// when it was handled before: skip the work, the message is a redelivery. The kit creates the
/// `processed_events` table for services that consume, and prunes rows older than
/// [`PROCESSED_RETENTION`].
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

/// The work of a handler, on the transaction [`once`] opens.
pub type Work<'t> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 't>>;

/// Runs `work` for event `event_id` once per `consumer`: in one transaction with the event's
/// `processed_events` row, so a redelivered or replayed event changes nothing. A database error is
/// [`HandleError::Retry`]. For handlers whose effects are all in the consumer's own database.
pub async fn once<F>(
    db: &sqlx::PgPool,
    consumer: &str,
    event_id: Uuid,
    work: F,
) -> Result<(), HandleError>
where
    F: for<'t> FnOnce(&'t mut PgConnection) -> Work<'t>,
{
    let retry = |e: sqlx::Error| HandleError::Retry(anyhow::Error::new(e));
    let mut tx = db.begin().await.map_err(retry)?;
    if mark_processed(&mut tx, consumer, event_id)
        .await
        .map_err(retry)?
    {
        work(&mut tx).await.map_err(retry)?;
    }
    tx.commit().await.map_err(retry)?;
    Ok(())
}

/// How long handled event ids are remembered (longer than any redelivery: rebalances and restarts
/// redeliver within minutes; replaying a topic from the start is an operator's decision).
pub const PROCESSED_RETENTION: Duration = Duration::from_secs(30 * 86_400);

/// Deletes handled event ids older than [`PROCESSED_RETENTION`] (every hour, see
/// `kit::app`).
pub async fn prune_processed(pool: sqlx::PgPool) {
    let deleted = sqlx::query(
        "DELETE FROM processed_events WHERE processed_at < now() - make_interval(secs => $1)",
    )
    .bind(PROCESSED_RETENTION.as_secs_f64())
    .execute(&pool)
    .await;
    match deleted {
        Ok(done) if done.rows_affected() > 0 => {
            tracing::info!(rows = done.rows_affected(), "pruned processed event ids");
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot prune processed event ids"),
    }
}
