//! The outbox: `user.registered` is written in the sign-up transaction, or not at all, and the
//! relay publishes it to `user.v1` exactly once per row.

use std::time::Duration;

use events::RawEnvelope;
use events::user::UserRegistered;
use kit::kafka::Producer;
use kit::outbox::Relay;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{PASSWORD, problem, spawn_app};

const TOPIC: &str = "user.v1";

async fn count(pool: &sqlx::PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn user_and_event_are_written_together_or_not_at_all() {
    let app = spawn_app().await;
    let created: Value = app
        .signup("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let envelope: Value = sqlx::query_scalar("SELECT envelope FROM outbox WHERE key = $1")
        .bind(created["user_id"].as_str().unwrap())
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(envelope["type"], "user.registered");
    assert_eq!(envelope["payload"]["email"], "ada@example.com");

    // Make the outbox insert fail: the user row must roll back with it.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN RAISE EXCEPTION 'outbox unavailable'; END $$; \
         CREATE TRIGGER refuse BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse();",
    )
    .execute(app.pool())
    .await
    .unwrap();
    let body = problem(app.signup("bob@example.com", PASSWORD).await, 500).await;
    assert!(
        !body.to_string().contains("outbox"),
        "no internals in {body}"
    );
    assert_eq!(count(app.pool(), "users").await, 1);
    assert_eq!(count(app.pool(), "outbox").await, 1);
}

/// Reads `user.v1` from the beginning, at least `expected` events, until `done` holds for what
/// was read (other tests may share the broker, so how many events precede ours is not known).
async fn consume_until(expected: usize, done: impl Fn(&[RawEnvelope]) -> bool) -> Vec<RawEnvelope> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut seen = expected.saturating_sub(1);
    loop {
        let events = kit::testing::consume(TOPIC, seen + 1, Duration::from_secs(10)).await;
        if done(&events) {
            return events;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected events were not published"
        );
        seen = events.len();
    }
}

fn registered(events: &[RawEnvelope], user_id: Uuid) -> Vec<UserRegistered> {
    events
        .iter()
        .filter_map(|e| e.decode::<UserRegistered>().ok())
        .map(|e| e.payload)
        .filter(|payload| payload.user_id == user_id)
        .collect()
}

#[tokio::test]
async fn the_relay_publishes_user_registered_once() {
    let app = spawn_app().await;
    let created: Value = app
        .signup("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let user_id: Uuid = created["user_id"].as_str().unwrap().parse().unwrap();

    // The application's relay publishes the row and marks it published.
    let mut published = false;
    for _ in 0..100 {
        published = sqlx::query_scalar("SELECT published_at IS NOT NULL FROM outbox")
            .fetch_one(app.pool())
            .await
            .unwrap();
        if published {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "outbox row not marked published");

    // Relaying again finds nothing to publish.
    let shutdown = kit::Shutdown::new();
    let producer = Producer::new(&kit::testing::broker(), "auth", &shutdown).unwrap();
    let relay = Relay::new(app.pool().clone(), producer.clone());
    assert_eq!(relay.relay_once().await.unwrap(), 0);

    // A marker with the same key lands on the same partition after our event; once it is read,
    // everything published before it has been read too.
    let marker = "marker@example.com";
    producer
        .publish(UserRegistered {
            user_id,
            email: marker.into(),
            role: "customer".into(),
        })
        .unwrap();
    let events = consume_until(2, |events| {
        registered(events, user_id)
            .iter()
            .any(|e| e.email == marker)
    })
    .await;
    let ours: Vec<&RawEnvelope> = events
        .iter()
        .filter(|e| {
            registered(std::slice::from_ref(*e), user_id)
                .iter()
                .any(|p| p.email != marker)
        })
        .collect();
    assert_eq!(ours.len(), 1, "published exactly once");
    let event = ours[0];
    assert_eq!(event.event_type, "user.registered");
    assert_eq!(event.producer, "auth");
    assert_eq!(event.payload["email"], "ada@example.com");
    assert_eq!(event.payload["role"], "customer");
}
