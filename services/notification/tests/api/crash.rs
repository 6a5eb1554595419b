//! Crash safety with a real process: notification's own binary is killed with SIGKILL after it
//! handed the confirmation to the SMTP relay and before it recorded that (the test holds a lock
//! that keeps the record waiting), then started again. Kafka redelivers the event, the e-mail
//! is sent again with the same Message-ID, and the mailbox shows one message (delivered twice),
//! recorded once.

use std::time::Duration;

use events::order::{OrderLine, OrderPaid, OrderPlaced};
use events::user::UserRegistered;
use kit::mailsink::MailSink;
use kit::testing::{ServiceProcess, TestDatabase};
use sqlx::Connection as _;
use uuid::Uuid;

/// Polls `query` (a count) until it is `want` or a minute passes; the last count. A loaded
/// machine (plain `cargo test` of several crates) takes that long to start the binary and let
/// its consumer join the group.
async fn count_until(db: &sqlx::PgPool, query: &str, want: i64) -> i64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let count: i64 = sqlx::query_scalar(query).fetch_one(db).await.unwrap_or(-1);
        if count == want || tokio::time::Instant::now() >= deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_sending_and_recording_it_sends_the_same_message_not_a_second() {
    let shutdown = kit::Shutdown::new();
    let sink = MailSink::start(0, &shutdown).await.unwrap();
    for topic in ["order.v1", "user.v1"] {
        kit::testing::create_topic(topic, 3);
    }
    let database = TestDatabase::empty().await;
    let mut env = ServiceProcess::env(None);
    env.insert(
        "DATABASE_URL".into(),
        secrecy::ExposeSecret::expose_secret(&database.url).to_owned(),
    );
    env.insert("SMTP_RELAY".into(), sink.url());
    env.insert(
        "MAIL_FROM".into(),
        "Shop <no-reply@shop.example.com>".into(),
    );
    let mut notification = ServiceProcess::start(env!("CARGO_BIN_EXE_notification"), env).await;

    let producer = kit::kafka::Producer::new(&kit::testing::broker(), "test", &shutdown).unwrap();
    let (user, order) = (Uuid::now_v7(), Uuid::now_v7());
    producer
        .publish(UserRegistered {
            user_id: user,
            email: "ada@example.com".into(),
            role: "customer".into(),
        })
        .unwrap();
    producer
        .publish(OrderPlaced {
            order_id: order,
            user_id: user,
            lines: vec![OrderLine {
                product_id: Uuid::now_v7(),
                variant_id: Uuid::now_v7(),
                sku: "MUG-BLUE".into(),
                name: "Blue mug".into(),
                quantity: 1,
                unit_price: 1250,
            }],
            subtotal: 1250,
            discount: 0,
            total: 1250,
            currency: "USD".into(),
            coupon_code: None,
        })
        .unwrap();
    let db = &database.pool;
    assert_eq!(count_until(db, "SELECT count(*) FROM orders", 1).await, 1);
    assert_eq!(
        count_until(db, "SELECT count(*) FROM recipients", 1).await,
        1
    );

    // Recording what was sent must wait: the test holds a lock that blocks inserts (not reads).
    let mut blocker =
        sqlx::PgConnection::connect(secrecy::ExposeSecret::expose_secret(&database.url))
            .await
            .unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE sent_emails IN SHARE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();
    producer
        .publish(OrderPaid {
            order_id: order,
            user_id: user,
            total: 1250,
            currency: "USD".into(),
        })
        .unwrap();
    let sent = sink
        .wait_for(Duration::from_secs(30), |m| !m.is_empty())
        .await;
    assert_eq!(sent.len(), 1, "the confirmation reached the relay");
    // Sent, not recorded: killed now.
    tokio::time::sleep(Duration::from_millis(200)).await;
    notification.kill().await;
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap();
    assert_eq!(
        count_until(db, "SELECT count(*) FROM sent_emails", 0).await,
        0
    );

    notification.start_again().await;
    assert_eq!(
        count_until(db, "SELECT count(*) FROM sent_emails", 1).await,
        1,
        "recorded once after the restart"
    );
    let messages = sink
        .wait_for(Duration::from_secs(5), |m| {
            m.first().is_some_and(|m| m.deliveries == 2)
        })
        .await;
    assert_eq!(
        messages.len(),
        1,
        "one message in the mailbox: {messages:?}"
    );
    assert!(
        messages[0].subject.contains("confirmed"),
        "{}",
        messages[0].subject
    );
    assert_eq!(
        messages[0].deliveries, 2,
        "sent again after the crash, as the same message"
    );
    let recorded: String = sqlx::query_scalar("SELECT message_id FROM sent_emails")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(
        messages[0]
            .message_id
            .as_deref()
            .map(|id| id.trim_matches(['<', '>'])),
        Some(recorded.trim_matches(['<', '>'])),
        "the record and the mailbox agree on the message"
    );
    std::mem::forget(shutdown);
}
