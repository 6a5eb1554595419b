//! Crash safety with a real process: order's own binary is killed with SIGKILL after a checkout
//! committed and before its events were published (the broker is down, so the relay cannot
//! publish them), then started again on the same database. The relay publishes every event of
//! the order, and notification (consuming as in a cluster) sends the confirmation e-mail once.
//! The test has a broker of its own: taking it down touches no other test of this process.

use std::time::Duration;

use kit::broker::EmbeddedBroker;
use kit::mailsink::MailSink;
use kit::testing::{ServiceProcess, TestApp, TestDatabase, TestSigner};
use serde_json::Value;

use crate::helpers::{CARD, checkout, create_variant, key, spawn_upstream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_killed_between_commit_and_publish_loses_no_event_and_mails_once() {
    let signer = TestSigner::start().await;
    let (product, offer) = spawn_upstream(&signer).await;
    let broker = EmbeddedBroker::start().unwrap();
    let brokers = broker.bootstrap_servers().to_owned();
    for topic in ["order.v1", "user.v1", "order.v1.dlq", "user.v1.dlq"] {
        broker.create_topic(topic, 3).unwrap();
    }

    // notification, in this process, sending to a sink of the test's.
    let shutdown = kit::Shutdown::new();
    let sink = MailSink::start(0, &shutdown).await.unwrap();
    let notification = TestApp::builder(notification::Settings {
        smtp_relay: sink.url().into(),
        mail_from: "Shop <no-reply@shop.example.com>".to_owned(),
    })
    .configure({
        let brokers = brokers.clone();
        move |common| common.kafka_brokers = Some(brokers)
    })
    .spawn(
        notification::Application::build,
        notification::Application::run_until_stopped,
    )
    .await;

    // order, as its own process.
    let database = TestDatabase::empty().await;
    let mut env = ServiceProcess::env(Some(&signer));
    for (key, value) in [
        (
            "DATABASE_URL",
            secrecy::ExposeSecret::expose_secret(&database.url).to_owned(),
        ),
        ("PRODUCT_URL", product.address.clone()),
        ("OFFER_URL", offer.address.clone()),
        ("PAYMENT_PROVIDER_KEY", "local-test".to_owned()),
        ("PAYMENT_WEBHOOK_SECRET", "local-test".to_owned()),
        ("KAFKA_BROKERS", brokers.clone()),
    ] {
        env.insert(key.to_owned(), value);
    }
    let mut order = ServiceProcess::start(env!("CARGO_BIN_EXE_order"), env).await;

    // A buyer notification knows (their user.registered), and something to buy.
    let (buyer, buyer_id) = signer.token(kit::jwt::Role::Customer);
    let producer = kit::kafka::Producer::new(&brokers, "auth", &shutdown).unwrap();
    producer
        .publish(events::user::UserRegistered {
            user_id: buyer_id,
            email: "ada@example.com".to_owned(),
            role: "customer".to_owned(),
        })
        .unwrap();
    // notification knows where to write before anything else happens (an order's e-mail waits,
    // retrying, for its recipient).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM recipients WHERE user_id = $1)")
                .bind(buyer_id)
                .fetch_one(notification.pool())
                .await
                .unwrap();
        if known {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "notification never saw the buyer"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let admin = signer.token(kit::jwt::Role::Admin).0;
    let mug = create_variant(&product, &admin, "MUG", 1250, 5).await;

    // Kafka goes away; the checkout commits the order and its events to the outbox all the same.
    broker.set_down(true).unwrap();
    let placed = reqwest::Client::new()
        .post(order.url("/v1/orders"))
        .bearer_auth(&buyer)
        .header("idempotency-key", key())
        .json(&checkout(&[(&mug, 1)], None, CARD))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 201);
    let placed: Value = placed.json().await.unwrap();
    let order_id = placed["id"].as_str().unwrap().to_owned();
    let unpublished = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&database.pool)
            .await
            .unwrap()
    };
    assert_eq!(unpublished().await, 2, "order.placed and order.paid wait");

    // Killed: whatever the relay had queued in memory is gone with the process.
    order.kill().await;
    assert_eq!(unpublished().await, 2);
    broker.set_down(false).unwrap();
    order.start_again().await;

    let of_order = |seen: &[events::RawEnvelope]| {
        seen.iter()
            .filter(|e| e.payload["order_id"] == order_id.as_str())
            .map(|e| e.event_type.clone())
            .collect::<Vec<_>>()
    };
    // Clients reconnect with backoff after the outage, and consumers rejoin their group: give
    // a loaded machine time.
    let seen =
        kit::testing::consume_until_from(&brokers, "order.v1", Duration::from_secs(60), |seen| {
            of_order(seen).len() >= 2
        })
        .await;
    assert_eq!(of_order(&seen), ["order.placed", "order.paid"]);
    assert_eq!(unpublished().await, 0);

    let mail = sink
        .wait_for(Duration::from_secs(90), |m| {
            m.iter().any(|m| m.subject.contains("confirmed"))
        })
        .await;
    let confirmations: Vec<_> = mail
        .iter()
        .filter(|m| m.subject.contains("confirmed"))
        .collect();
    assert_eq!(confirmations.len(), 1, "{mail:?}");
    assert_eq!(confirmations[0].deliveries, 1);
    assert_eq!(confirmations[0].to, ["ada@example.com"]);
    std::mem::forget(shutdown);
}
