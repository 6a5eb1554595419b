//! The e-mails of an order: one confirmation when it is paid, one notice when it is cancelled,
//! never two for one event, not even when the process died between sending and recording.

use std::time::Duration;

use events::order::{OrderCancelled, OrderLine, OrderPaid, OrderPlaced};
use events::user::{UserErased, UserRegistered};
use notification::notify::handle;
use uuid::Uuid;

use crate::helpers::{envelope, spawn_app};

fn placed(order: Uuid, user: Uuid) -> OrderPlaced {
    OrderPlaced {
        order_id: order,
        user_id: user,
        lines: vec![OrderLine {
            product_id: Uuid::now_v7(),
            variant_id: Uuid::now_v7(),
            sku: "MUG-BLUE".into(),
            name: "Blue mug".into(),
            quantity: 2,
            unit_price: 1250,
        }],
        subtotal: 2500,
        discount: 250,
        total: 2250,
        currency: "USD".into(),
        coupon_code: Some("TEN".into()),
    }
}

fn order_placed(order: Uuid, user: Uuid) -> events::RawEnvelope {
    envelope("order", placed(order, user))
}

fn user_registered(user: Uuid, email: &str) -> events::RawEnvelope {
    let role = "customer".into();
    envelope(
        "auth",
        UserRegistered {
            user_id: user,
            email: email.into(),
            role,
        },
    )
}

fn order_paid(order: Uuid, user: Uuid) -> events::RawEnvelope {
    let currency = "USD".into();
    envelope(
        "order",
        OrderPaid {
            order_id: order,
            user_id: user,
            total: 2250,
            currency,
        },
    )
}

fn order_cancelled(order: Uuid, user: Uuid, reason: &str) -> events::RawEnvelope {
    let reason = reason.into();
    envelope(
        "order",
        OrderCancelled {
            order_id: order,
            user_id: user,
            reason,
        },
    )
}

#[tokio::test]
async fn a_paid_order_gets_one_confirmation_and_a_cancelled_one_one_notice() {
    let app = spawn_app().await;
    let db = app.app.pool();
    let (user, order) = (Uuid::now_v7(), Uuid::now_v7());
    let registered = user_registered(user, "ada@example.com");
    handle(db, &app.mailer, registered).await.unwrap();
    handle(db, &app.mailer, order_placed(order, user))
        .await
        .unwrap();
    let paid = order_paid(order, user);
    handle(db, &app.mailer, paid.clone()).await.unwrap();
    handle(db, &app.mailer, paid.clone()).await.unwrap(); // a redelivery

    let messages = app.sink.messages();
    assert_eq!(messages.len(), 1);
    let confirmation = &messages[0];
    assert_eq!(confirmation.to, ["ada@example.com"]);
    assert_eq!(confirmation.subject, "Your order is confirmed ($22.50)");
    assert_eq!(
        confirmation.message_id.as_deref(),
        Some(format!("<{}@shop.example.com>", paid.id).as_str())
    );
    assert_eq!(confirmation.deliveries, 1);
    assert!(confirmation.raw.contains("multipart/alternative"));
    assert!(confirmation.raw.contains("text/html"));
    assert!(
        confirmation.raw.contains("Blue mug"),
        "{}",
        confirmation.raw
    );

    let cancelled = order_cancelled(order, user, "customer");
    handle(db, &app.mailer, cancelled.clone()).await.unwrap();
    handle(db, &app.mailer, cancelled).await.unwrap();
    let messages = app.sink.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].subject, "Your order is cancelled");
    let sent: i64 = sqlx::query_scalar("SELECT count(*) FROM sent_emails")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(sent, 2);
}

#[tokio::test]
async fn killed_between_sending_and_recording_the_mailbox_still_shows_one_message() {
    let app = spawn_app().await;
    let db = app.app.pool();
    let (user, order) = (Uuid::now_v7(), Uuid::now_v7());
    handle(db, &app.mailer, user_registered(user, "ada@example.com"))
        .await
        .unwrap();
    let cancelled = order_cancelled(order, user, "payment-declined");
    // The first attempt sent the e-mail and died before recording it...
    let email = notification::emails::cancelled(order, "payment-declined").unwrap();
    app.mailer
        .send(cancelled.id, "ada@example.com", &email)
        .await
        .unwrap();
    // ...so the redelivered event sends it again, as the same message.
    handle(db, &app.mailer, cancelled).await.unwrap();
    let messages = app
        .sink
        .wait_for(Duration::from_secs(2), |m| {
            m.iter().any(|m| m.deliveries == 2)
        })
        .await;
    assert_eq!(messages.len(), 1, "one message per Message-ID");
    assert_eq!(messages[0].deliveries, 2);
    assert!(messages[0].raw.contains("nothing was charged"));
}

#[tokio::test]
async fn an_erased_user_is_forgotten_and_gets_no_mail() {
    let app = spawn_app().await;
    let db = app.app.pool();
    let user = Uuid::now_v7();
    handle(db, &app.mailer, user_registered(user, "ada@example.com"))
        .await
        .unwrap();
    handle(db, &app.mailer, order_placed(Uuid::now_v7(), user))
        .await
        .unwrap();
    handle(
        db,
        &app.mailer,
        envelope("user", UserErased { user_id: user }),
    )
    .await
    .unwrap();
    let addresses: i64 =
        sqlx::query_scalar("SELECT count(email) FROM recipients WHERE user_id = $1")
            .bind(user)
            .fetch_one(db)
            .await
            .unwrap();
    assert_eq!(addresses, 0, "the address is gone");
    assert_eq!(count(db, "orders").await, 0);
    let cancelled = order_cancelled(Uuid::now_v7(), user, "admin");
    handle(db, &app.mailer, cancelled).await.unwrap();
    assert_eq!(count(db, "pending_emails").await, 0, "dropped, not parked");
    // What comes for them afterwards, on a lagging order.v1, is neither kept nor retried.
    let order = Uuid::now_v7();
    handle(db, &app.mailer, order_placed(order, user))
        .await
        .unwrap();
    assert_eq!(
        count(db, "orders").await,
        0,
        "an erased buyer's order is not kept"
    );
    let paid = order_paid(order, user);
    handle(db, &app.mailer, paid)
        .await
        .expect("dropped, not retried into the dead-letter topic");
    assert!(app.sink.messages().is_empty());
}

/// A mailer whose relay is down: nothing listens on port 1, so every send fails at connect.
fn relay_down() -> notification::emails::Mailer {
    notification::emails::Mailer::new(
        &"smtp://127.0.0.1:1".to_owned().into(),
        "Shop <no-reply@shop.example.com>",
    )
    .unwrap()
}

async fn count(db: &sqlx::PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_order_e_mail_for_a_buyer_not_known_yet_waits_for_their_address() {
    let app = spawn_app().await;
    let db = app.app.pool();
    let (user, order) = (Uuid::now_v7(), Uuid::now_v7());
    // user.v1 lags behind order.v1 (a slow consumer, an outage): the order's events come first.
    handle(db, &app.mailer, order_placed(order, user))
        .await
        .unwrap();
    let paid = order_paid(order, user);
    handle(db, &app.mailer, paid.clone())
        .await
        .expect("parked, not retried into the dead-letter topic");
    handle(db, &app.mailer, paid.clone()).await.unwrap(); // a redelivery parks nothing more
    assert!(app.sink.messages().is_empty());
    assert_eq!(count(db, "pending_emails").await, 1);

    let registered = user_registered(user, "ada@example.com");
    handle(db, &app.mailer, registered.clone()).await.unwrap();
    handle(db, &app.mailer, registered).await.unwrap(); // a redelivery
    handle(db, &app.mailer, paid).await.unwrap(); // and a late one of the order's event
    let messages = app.sink.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].deliveries, 1, "sent once");
    assert_eq!(messages[0].to, ["ada@example.com"]);
    assert_eq!(messages[0].subject, "Your order is confirmed ($22.50)");
    assert_eq!(count(db, "pending_emails").await, 0);
    assert_eq!(count(db, "sent_emails").await, 1);
}

#[tokio::test]
async fn an_erasure_drops_what_waits_for_the_user() {
    let app = spawn_app().await;
    let db = app.app.pool();
    let user = Uuid::now_v7();
    let cancelled = order_cancelled(Uuid::now_v7(), user, "customer");
    handle(db, &app.mailer, cancelled).await.unwrap();
    assert_eq!(count(db, "pending_emails").await, 1);
    handle(
        db,
        &app.mailer,
        envelope("user", UserErased { user_id: user }),
    )
    .await
    .unwrap();
    // user.registered of the erased account, replayed late: the tombstone wins.
    handle(db, &app.mailer, user_registered(user, "ada@example.com"))
        .await
        .unwrap();
    assert_eq!(count(db, "pending_emails").await, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.sink.messages().is_empty());
}

#[tokio::test]
async fn a_relay_without_tls_is_refused_unless_it_is_local() {
    let mailer = |url: &str| {
        notification::emails::Mailer::new(&url.to_owned().into(), "no-reply@shop.example.com")
    };
    assert!(mailer("smtp://user:pw@smtp.example.com:587").is_err());
    assert!(mailer("smtps://user:pw@smtp.example.com:465").is_ok());
    assert!(mailer("smtp://user:pw@smtp.example.com:587?tls=required").is_ok());
    assert!(mailer("smtp://127.0.0.1:2525").is_ok());
    assert!(
        notification::emails::Mailer::new(
            &"smtp://127.0.0.1:2525".to_owned().into(),
            "not an address"
        )
        .is_err()
    );
}

#[tokio::test]
async fn the_sweeper_sends_what_a_failed_drain_left_and_gives_up_on_buyers_never_known() {
    let app = spawn_app().await;
    let db = app.app.pool();
    let (known, never) = (Uuid::now_v7(), Uuid::now_v7());
    for user in [known, never] {
        let cancelled = order_cancelled(Uuid::now_v7(), user, "customer");
        handle(db, &app.mailer, cancelled).await.unwrap();
    }
    // The address arrived but its drain never finished (the relay was down until the
    // user.registered went to the dead-letter topic).
    sqlx::query("INSERT INTO recipients (user_id, email) VALUES ($1, 'ada@example.com')")
        .bind(known)
        .execute(db)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE pending_emails SET parked_at = now() - interval '15 days' WHERE user_id = $1",
    )
    .bind(never)
    .execute(db)
    .await
    .unwrap();
    notification::notify::sweep_once(db, &app.mailer, notification::notify::PARKED_FOR).await;
    let messages = app.sink.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to, ["ada@example.com"]);
    assert_eq!(count(db, "pending_emails").await, 0);
}

#[tokio::test]
async fn a_parked_e_mail_the_relay_can_never_send_is_given_up_not_retried_forever() {
    let app = spawn_app().await;
    let db = app.app.pool();
    let user = Uuid::now_v7();
    let cancelled = order_cancelled(Uuid::now_v7(), user, "customer");
    handle(db, &app.mailer, cancelled).await.unwrap();
    let registered = user_registered(user, "not an address");
    handle(db, &app.mailer, registered)
        .await
        .expect("the drain gives the e-mail up and goes on");
    assert_eq!(count(db, "pending_emails").await, 0);
    assert!(app.sink.messages().is_empty());
}

#[tokio::test]
async fn a_relay_outage_parks_the_e_mail_and_the_sweeper_sends_it_when_the_relay_is_back() {
    let app = spawn_app().await;
    let db = app.app.pool();
    let (user, order) = (Uuid::now_v7(), Uuid::now_v7());
    handle(db, &app.mailer, user_registered(user, "ada@example.com"))
        .await
        .unwrap();
    let down = relay_down();
    handle(db, &down, order_cancelled(order, user, "customer"))
        .await
        .expect("parked, not retried into the dead-letter topic");
    assert_eq!(count(db, "pending_emails").await, 1);
    // A known buyer's e-mail outlives the expiry of unknown buyers' ones, and a failing round
    // keeps it.
    sqlx::query("UPDATE pending_emails SET parked_at = now() - interval '15 days'")
        .execute(db)
        .await
        .unwrap();
    let due = "UPDATE pending_emails SET next_attempt_at = now()";
    sqlx::query(due).execute(db).await.unwrap();
    notification::notify::sweep_once(db, &down, notification::notify::PARKED_FOR).await;
    assert_eq!(count(db, "pending_emails").await, 1);
    assert!(app.sink.messages().is_empty());
    let (attempts, backed_off): (i32, bool) =
        sqlx::query_as("SELECT attempts, next_attempt_at > now() FROM pending_emails")
            .fetch_one(db)
            .await
            .unwrap();
    assert_eq!(
        (attempts, backed_off),
        (2, true),
        "each failure counted, the next put off"
    );
    // Not due yet: the relay is back, but the e-mail waits for its time.
    notification::notify::sweep_once(db, &app.mailer, notification::notify::PARKED_FOR).await;
    assert!(app.sink.messages().is_empty());

    sqlx::query(due).execute(db).await.unwrap();
    notification::notify::sweep_once(db, &app.mailer, notification::notify::PARKED_FOR).await;
    let messages = app.sink.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].subject, "Your order is cancelled");
    assert_eq!(count(db, "pending_emails").await, 0);
    assert_eq!(count(db, "sent_emails").await, 1);
}

#[tokio::test]
async fn an_e_mail_is_not_parked_behind_a_registration_in_flight() {
    let app = spawn_app().await;
    let db = app.app.pool();
    let (user, order) = (Uuid::now_v7(), Uuid::now_v7());
    // A user.registered being handled: its transaction holds the user's lock and has written the
    // address, not yet committed; its drain runs after the commit.
    let mut registering = db.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 5))")
        .bind(user)
        .execute(&mut *registering)
        .await
        .unwrap();
    sqlx::query("INSERT INTO recipients (user_id, email) VALUES ($1, 'ada@example.com')")
        .bind(user)
        .execute(&mut *registering)
        .await
        .unwrap();
    let commit_later = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        registering.commit().await.unwrap();
    };
    // Without the lock this would read "not known yet" and park the e-mail after the drain had
    // looked: nothing would ever send it.
    let (handled, ()) = tokio::join!(
        handle(db, &app.mailer, order_cancelled(order, user, "customer")),
        commit_later
    );
    handled.unwrap();
    assert_eq!(
        app.sink.messages().len(),
        1,
        "sent once the address was committed"
    );
    assert_eq!(count(db, "pending_emails").await, 0);
}

#[tokio::test]
async fn a_registration_whose_drain_meets_a_relay_outage_is_not_retried_the_sweeper_sends_later() {
    let app = spawn_app().await;
    let db = app.app.pool();
    let user = Uuid::now_v7();
    handle(
        db,
        &app.mailer,
        order_cancelled(Uuid::now_v7(), user, "customer"),
    )
    .await
    .unwrap();
    let down = relay_down();
    handle(db, &down, user_registered(user, "ada@example.com"))
        .await
        .expect("the address is stored; the event is not retried into the dead-letter topic");
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM pending_emails")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(attempts, 1, "the failed drain is counted and put off");
    sqlx::query("UPDATE pending_emails SET next_attempt_at = now()")
        .execute(db)
        .await
        .unwrap();
    notification::notify::sweep_once(db, &app.mailer, notification::notify::PARKED_FOR).await;
    assert_eq!(app.sink.messages().len(), 1);
    assert_eq!(count(db, "pending_emails").await, 0);
}

#[tokio::test]
async fn a_drain_and_the_sweeper_racing_for_the_same_parked_e_mails_send_each_once() {
    let app = spawn_app().await;
    let db = app.app.pool();
    let user = Uuid::now_v7();
    handle(db, &app.mailer, user_registered(user, "ada@example.com"))
        .await
        .unwrap();
    // Ten e-mails parked by a relay outage, due now.
    let down = relay_down();
    for _ in 0..10 {
        handle(db, &down, order_cancelled(Uuid::now_v7(), user, "customer"))
            .await
            .unwrap();
    }
    sqlx::query("UPDATE pending_emails SET next_attempt_at = now()")
        .execute(db)
        .await
        .unwrap();
    assert_eq!(count(db, "pending_emails").await, 10);
    // The relay is back: a registration's drain (the address changed) and the sweeper run at once.
    let (drained, ()) = tokio::join!(
        handle(db, &app.mailer, user_registered(user, "ada@example.com")),
        notification::notify::sweep_once(db, &app.mailer, notification::notify::PARKED_FOR),
    );
    drained.unwrap();
    let messages = app.sink.messages();
    assert_eq!(messages.len(), 10);
    let resent: Vec<u32> = messages
        .iter()
        .map(|m| m.deliveries)
        .filter(|t| *t > 1)
        .collect();
    assert!(resent.is_empty(), "sent more than once: {resent:?}");
    assert_eq!(count(db, "pending_emails").await, 0);
    assert_eq!(count(db, "sent_emails").await, 10);
}
