//! The kit's Kafka consumer loop against a real broker (embedded unless `KAFKA_BROKERS` is set):
//! retries transient failures, dead-letters poison messages and handlers that keep failing,
//! commits on shutdown so a restarted consumer resumes after what it handled, and dedupes
//! redeliveries through `processed_events`; the outbox relay publishes once, one replica at a
//! time, and is woken by the commit itself.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use events::user::UserRegistered;
use events::{Envelope, RawEnvelope};
use kit::Shutdown;
use kit::db::KitTables;
use kit::kafka::{HandleError, Producer, Subscription, headers_for, mark_processed};
use kit::testing::{TestDatabase, broker, consume, consume_until, create_topic, unique_topic};
use uuid::Uuid;

const TABLES: KitTables = KitTables {
    outbox: true,
    processed_events: true,
};

async fn database() -> TestDatabase {
    TestDatabase::create(None, TABLES).await
}

fn event(n: u128) -> Envelope<UserRegistered> {
    Envelope::new(
        "test",
        UserRegistered {
            user_id: Uuid::from_u128(n),
            email: format!("u{n}@example.com"),
            role: "customer".into(),
        },
    )
}

async fn publish(producer: &Producer, topic: &str, envelope: &Envelope<UserRegistered>) {
    let bytes = serde_json::to_vec(envelope).unwrap();
    producer
        .send_raw(
            topic,
            &envelope.payload.user_id.to_string(),
            &bytes,
            headers_for(envelope),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
}

fn setup() -> (String, Producer, Shutdown) {
    let topic = unique_topic("user.v1");
    create_topic(&topic, 1);
    create_topic(&kit::kafka::dead_letter_topic(&topic), 1);
    let shutdown = Shutdown::new();
    let producer = Producer::new(&broker(), "test", &shutdown).unwrap();
    (topic, producer, shutdown)
}

/// How a test handler treats one user id.
#[derive(Clone, Copy, Default)]
struct Faults {
    /// Fails permanently (poison).
    poison: Option<Uuid>,
    /// Fails once, then succeeds.
    flaky: Option<Uuid>,
    /// Always fails with a retryable error.
    broken: Option<Uuid>,
}

/// Starts a consumer recording handled user ids, failing as `faults` says. Returns the shutdown
/// that stops it; the loop runs on that shutdown's tracker.
fn start(
    topic: &str,
    group: &str,
    producer: &Producer,
    seen: Arc<Mutex<Vec<Uuid>>>,
    faults: Faults,
) -> Shutdown {
    let shutdown = Shutdown::new();
    let failed_once = Arc::new(Mutex::new(false));
    Subscription::new(
        &broker(),
        group,
        &[topic],
        producer.clone(),
        shutdown.clone(),
    )
    .max_attempts(3)
    .run(move |raw: RawEnvelope| {
        let seen = seen.clone();
        let failed_once = failed_once.clone();
        async move {
            let event = raw
                .decode::<UserRegistered>()
                .map_err(|e| HandleError::Poison(e.into()))?;
            let id = event.payload.user_id;
            if Some(id) == faults.poison {
                return Err(HandleError::Poison(anyhow::anyhow!("cannot handle {id}")));
            }
            if Some(id) == faults.broken {
                return Err(HandleError::Retry(anyhow::anyhow!("a bug in the handler")));
            }
            if Some(id) == faults.flaky
                && !std::mem::replace(&mut *failed_once.lock().unwrap(), true)
            {
                return Err(HandleError::Retry(anyhow::anyhow!("briefly failing")));
            }
            seen.lock().unwrap().push(id);
            Ok(())
        }
    });
    shutdown
}

async fn stop(shutdown: Shutdown) {
    shutdown.trigger();
    assert!(
        shutdown.wait(Duration::from_secs(20)).await,
        "the consumer stops and commits within the grace period"
    );
}

async fn wait_for(seen: &Arc<Mutex<Vec<Uuid>>>, count: usize) {
    for _ in 0..200 {
        if seen.lock().unwrap().len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("only {:?} handled", seen.lock().unwrap());
}

#[tokio::test]
async fn retries_dead_letters_and_resumes_after_commit() {
    let (topic, producer, _producer_shutdown) = setup();
    let group = format!("group-{}", Uuid::new_v4().simple());
    for n in 1..=5 {
        publish(&producer, &topic, &event(n)).await;
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let faults = Faults {
        poison: Some(Uuid::from_u128(2)),
        flaky: Some(Uuid::from_u128(3)),
        broken: Some(Uuid::from_u128(4)),
    };
    let shutdown = start(&topic, &group, &producer, seen.clone(), faults);
    wait_for(&seen, 3).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [Uuid::from_u128(1), Uuid::from_u128(3), Uuid::from_u128(5)],
        "in order; the flaky one after its retry; the poison one and the one whose handler \
         keeps failing skipped instead of stalling the partition"
    );
    let dead = consume(
        &kit::kafka::dead_letter_topic(&topic),
        2,
        Duration::from_secs(10),
    )
    .await;
    let dead_ids: Vec<&serde_json::Value> = dead.iter().map(|e| &e.payload["user_id"]).collect();
    assert_eq!(
        dead_ids,
        [
            &serde_json::json!(Uuid::from_u128(2)),
            &serde_json::json!(Uuid::from_u128(4))
        ]
    );
    stop(shutdown).await;

    // A new consumer in the same group starts after the committed offsets.
    publish(&producer, &topic, &event(6)).await;
    let seen_again = Arc::new(Mutex::new(Vec::new()));
    let shutdown = start(
        &topic,
        &group,
        &producer,
        seen_again.clone(),
        Faults::default(),
    );
    wait_for(&seen_again, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(*seen_again.lock().unwrap(), [Uuid::from_u128(6)]);
    stop(shutdown).await;
}

#[tokio::test]
async fn not_an_envelope_goes_to_the_dead_letter_topic() {
    let (topic, producer, _producer_shutdown) = setup();
    producer
        .send_raw(
            &topic,
            "k",
            b"{not json",
            rdkafka::message::OwnedHeaders::new(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    publish(&producer, &topic, &event(7)).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let group = format!("group-{}", Uuid::new_v4().simple());
    let shutdown = start(&topic, &group, &producer, seen.clone(), Faults::default());
    wait_for(&seen, 1).await;
    let (payload, reason) = tokio::time::timeout(
        Duration::from_secs(10),
        first_raw(&kit::kafka::dead_letter_topic(&topic)),
    )
    .await
    .unwrap();
    assert_eq!(payload, b"{not json");
    assert!(reason.starts_with("not an envelope"), "{reason}");
    stop(shutdown).await;
}

/// The first message on `topic`: its bytes and its `dlq-reason` header.
async fn first_raw(topic: &str) -> (Vec<u8>, String) {
    use rdkafka::Message as _;
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::message::Headers as _;
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker())
        .set("group.id", format!("dlq-{}", Uuid::new_v4().simple()))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let message = consumer.recv().await.unwrap();
    let reason = message
        .headers()
        .and_then(|h| h.iter().find(|h| h.key == "dlq-reason"))
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default();
    (message.payload().unwrap_or_default().to_vec(), reason)
}

#[tokio::test]
async fn redeliveries_are_recognised() {
    let db = database().await;
    let id = Uuid::new_v4();
    let mut tx = db.pool.begin().await.unwrap();
    assert!(mark_processed(&mut tx, "reporting", id).await.unwrap());
    assert!(
        !mark_processed(&mut tx, "reporting", id).await.unwrap(),
        "second delivery"
    );
    assert!(
        mark_processed(&mut tx, "audit", id).await.unwrap(),
        "another consumer's first"
    );
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn outbox_relay_publishes_once() {
    let db = database().await;
    create_topic("user.v1", 3);
    let shutdown = Shutdown::new();
    let producer = Producer::new(&broker(), "test", &shutdown).unwrap();
    let mut tx = db.pool.begin().await.unwrap();
    let user_id = Uuid::new_v4();
    let event_id = kit::outbox::enqueue(
        &mut tx,
        "test",
        UserRegistered {
            user_id,
            email: "o@example.com".into(),
            role: "customer".into(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let relay = kit::outbox::Relay::new(db.pool.clone(), producer.clone());
    assert_eq!(relay.relay_once().await.unwrap(), 1);
    assert_eq!(
        relay.relay_once().await.unwrap(),
        0,
        "published rows are not sent again"
    );
    let published: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT published_at FROM outbox WHERE id = $1")
            .bind(event_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(published.is_some());

    // A marker with the same key lands on the same partition after the relayed event: once it is
    // seen, every copy of the event the relay could have sent has been seen too.
    let marker = producer
        .publish(UserRegistered {
            user_id,
            email: "marker@example.com".into(),
            role: "customer".into(),
        })
        .unwrap();
    let seen = consume_until("user.v1", Duration::from_secs(10), |seen| {
        seen.iter().any(|e| e.id == marker)
    })
    .await;
    assert_eq!(seen.iter().filter(|e| e.id == event_id).count(), 1);
}

#[tokio::test]
async fn one_relay_works_at_a_time() {
    let db = database().await;
    create_topic("user.v1", 3);
    let shutdown = Shutdown::new();
    let producer = Producer::new(&broker(), "test", &shutdown).unwrap();
    let mut tx = db.pool.begin().await.unwrap();
    kit::outbox::enqueue(
        &mut tx,
        "test",
        UserRegistered {
            user_id: Uuid::new_v4(),
            email: "lock@example.com".into(),
            role: "customer".into(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Another replica's relay holds the lock: this one publishes nothing and does not wait.
    let mut other = db.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(kit::outbox::RELAY_LOCK)
        .execute(&mut *other)
        .await
        .unwrap();
    let relay = kit::outbox::Relay::new(db.pool.clone(), producer);
    assert_eq!(relay.relay_once().await.unwrap(), 0);
    other.commit().await.unwrap();
    assert_eq!(relay.relay_once().await.unwrap(), 1);
}

#[tokio::test]
async fn the_relay_is_woken_by_the_commit() {
    let db = database().await;
    create_topic("user.v1", 3);
    let shutdown = Shutdown::new();
    let producer = Producer::new(&broker(), "test", &shutdown).unwrap();
    let mut relay = kit::outbox::Relay::new(db.pool.clone(), producer);
    // Polling alone would take a minute: only the notification can be this fast.
    relay.poll = Duration::from_secs(60);
    shutdown.spawn(relay.run(shutdown.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await; // listening

    let mut tx = db.pool.begin().await.unwrap();
    let event_id = kit::outbox::enqueue(
        &mut tx,
        "test",
        UserRegistered {
            user_id: Uuid::new_v4(),
            email: "wake@example.com".into(),
            role: "customer".into(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let committed = std::time::Instant::now();
    let published = loop {
        let at: Option<chrono::DateTime<chrono::Utc>> =
            sqlx::query_scalar("SELECT published_at FROM outbox WHERE id = $1")
                .bind(event_id)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        if at.is_some() || committed.elapsed() > Duration::from_secs(20) {
            break at.is_some();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        published,
        "published after the commit, long before the next poll"
    );
    shutdown.trigger();
    assert!(shutdown.wait(Duration::from_secs(10)).await);
}
