//! The consumer: keeps who to write to (`user.registered`, forgotten on `user.erased`) and what
//! each order holds (`order.placed`), and sends the e-mails of `order.paid` (the confirmation)
//! and `order.cancelled` once per event.
//!
//! Once: an event whose e-mail is recorded in `sent_emails` is skipped (redeliveries, replays).
//! An e-mail sent but not yet recorded when the process dies is sent again on redelivery, with
//! the same `Message-ID` (made from the event id), so the mailbox shows one message; the record
//! and the event's `processed_events` row are written in one transaction after the send.
//!
//! Never lost: `user.registered` travels on `user.v1`, the order's events on `order.v1`, and
//! nothing orders one topic against the other (a lagging consumer, a Kafka outage). An e-mail
//! for a buyer not known yet is rendered and parked in `pending_emails`, and sent when their
//! `user.registered` arrives. An erased buyer's `recipients` row stays without an address: what
//! comes for them afterwards is dropped, not parked.

use anyhow::Context as _;
use events::Event as _;
use events::order::{OrderCancelled, OrderPaid, OrderPlaced};
use events::user::{UserErased, UserRegistered};
use kit::kafka::HandleError;
use sqlx::PgPool;
use uuid::Uuid;

use crate::emails::{self, Email, Mailer};

const CONSUMER: &str = crate::platform::MANIFEST.name;

fn retry(error: impl Into<anyhow::Error>) -> HandleError {
    HandleError::Retry(error.into())
}

fn poison(error: impl Into<anyhow::Error>) -> HandleError {
    HandleError::Poison(error.into())
}

/// Handles one envelope of `order.v1` or `user.v1`.
pub async fn handle(
    db: &PgPool,
    mailer: &Mailer,
    envelope: events::RawEnvelope,
) -> Result<(), HandleError> {
    match envelope.event_type.as_str() {
        UserRegistered::TYPE => {
            let event = envelope.decode::<UserRegistered>().map_err(poison)?;
            kit::kafka::once(db, CONSUMER, event.id, |tx| {
                Box::pin(async move {
                    // An erasure seen first (out of order) keeps its tombstone.
                    sqlx::query("INSERT INTO recipients (user_id, email) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING")
                        .bind(event.payload.user_id)
                        .bind(&event.payload.email)
                        .execute(&mut *tx)
                        .await
                        .map(|_| ())
                })
            })
            .await?;
            // Outside `once`: a redelivery after a failed send drains again.
            send_parked(db, mailer, event.payload.user_id).await
        }
        UserErased::TYPE => {
            let event = envelope.decode::<UserErased>().map_err(poison)?;
            let user = event.payload.user_id;
            kit::kafka::once(db, CONSUMER, event.id, |tx| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO recipients (user_id, email) VALUES ($1, NULL) ON CONFLICT (user_id) DO UPDATE SET email = NULL")
                        .bind(user)
                        .execute(&mut *tx)
                        .await?;
                    for table in ["orders", "sent_emails", "pending_emails"] {
                        sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                            .bind(user)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Ok(())
                })
            })
            .await
        }
        OrderPlaced::TYPE => {
            let event = envelope.decode::<OrderPlaced>().map_err(poison)?;
            let placed = serde_json::to_value(&event.payload).map_err(poison)?;
            kit::kafka::once(db, CONSUMER, event.id, |tx| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO orders (order_id, user_id, placed) VALUES ($1, $2, $3) ON CONFLICT (order_id) DO NOTHING")
                        .bind(event.payload.order_id)
                        .bind(event.payload.user_id)
                        .bind(placed)
                        .execute(&mut *tx)
                        .await
                        .map(|_| ())
                })
            })
            .await
        }
        OrderPaid::TYPE => {
            let event = envelope.decode::<OrderPaid>().map_err(poison)?;
            let placed: Option<sqlx::types::Json<OrderPlaced>> =
                sqlx::query_scalar("SELECT placed FROM orders WHERE order_id = $1")
                    .bind(event.payload.order_id)
                    .fetch_optional(db)
                    .await
                    .map_err(retry)?;
            // order.placed comes first on the order's partition; without it, wait for it.
            let placed = placed
                .context("order.paid before its order.placed")
                .map_err(retry)?;
            let email = emails::confirmed(&placed.0).map_err(poison)?;
            send_once(
                db,
                mailer,
                event.id,
                event.payload.user_id,
                "order-confirmed",
                &email,
            )
            .await
        }
        OrderCancelled::TYPE => {
            let event = envelope.decode::<OrderCancelled>().map_err(poison)?;
            let email =
                emails::cancelled(event.payload.order_id, &event.payload.reason).map_err(poison)?;
            send_once(
                db,
                mailer,
                event.id,
                event.payload.user_id,
                "order-cancelled",
                &email,
            )
            .await
        }
        _ => Ok(()),
    }
}

/// Sends `email` for `event` to the user, unless it was sent (or the user is erased); parks it
/// when the user is not known yet.
async fn send_once(
    db: &PgPool,
    mailer: &Mailer,
    event: Uuid,
    user: Uuid,
    kind: &str,
    email: &Email,
) -> Result<(), HandleError> {
    let sent: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sent_emails WHERE event_id = $1)")
            .bind(event)
            .fetch_one(db)
            .await
            .map_err(retry)?;
    if sent {
        return Ok(());
    }
    let recipient: Option<Option<String>> =
        sqlx::query_scalar("SELECT email FROM recipients WHERE user_id = $1")
            .bind(user)
            .fetch_optional(db)
            .await
            .map_err(retry)?;
    match recipient {
        Some(Some(to)) => deliver(db, mailer, event, user, kind, email, &to).await,
        Some(None) => {
            tracing::info!(%event, kind, "the user is erased; no e-mail");
            Ok(())
        }
        None => {
            sqlx::query(
                "INSERT INTO pending_emails (event_id, user_id, kind, subject, text_body, html_body) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(event)
            .bind(user)
            .bind(kind)
            .bind(&email.subject)
            .bind(&email.text)
            .bind(&email.html)
            .execute(db)
            .await
            .map_err(retry)?;
            tracing::info!(%event, kind, "the user is not known yet; the e-mail waits for user.registered");
            Ok(())
        }
    }
}

/// Sends what waits for `user`, oldest first, now that their address is known.
async fn send_parked(db: &PgPool, mailer: &Mailer, user: Uuid) -> Result<(), HandleError> {
    let Some(Some(to)) =
        sqlx::query_scalar::<_, Option<String>>("SELECT email FROM recipients WHERE user_id = $1")
            .bind(user)
            .fetch_optional(db)
            .await
            .map_err(retry)?
    else {
        return Ok(());
    };
    let parked: Vec<(Uuid, String, String, String, String)> = sqlx::query_as(
        "SELECT event_id, kind, subject, text_body, html_body FROM pending_emails \
         WHERE user_id = $1 ORDER BY parked_at, event_id",
    )
    .bind(user)
    .fetch_all(db)
    .await
    .map_err(retry)?;
    for (event, kind, subject, text, html) in parked {
        let email = Email {
            subject,
            text,
            html,
        };
        deliver(db, mailer, event, user, &kind, &email, &to).await?;
    }
    Ok(())
}

/// Sends `email` for `event` to `to`, then records it (and forgets it as parked) in one
/// transaction.
async fn deliver(
    db: &PgPool,
    mailer: &Mailer,
    event: Uuid,
    user: Uuid,
    kind: &str,
    email: &Email,
    to: &str,
) -> Result<(), HandleError> {
    mailer.send(event, to, email).await.map_err(retry)?;
    let mut tx = db.begin().await.map_err(retry)?;
    sqlx::query("INSERT INTO sent_emails (event_id, message_id, kind, user_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
        .bind(event)
        .bind(mailer.message_id(event))
        .bind(kind)
        .bind(user)
        .execute(&mut *tx)
        .await
        .map_err(retry)?;
    sqlx::query("DELETE FROM pending_emails WHERE event_id = $1")
        .bind(event)
        .execute(&mut *tx)
        .await
        .map_err(retry)?;
    kit::kafka::mark_processed(&mut tx, CONSUMER, event)
        .await
        .map_err(retry)?;
    tx.commit().await.map_err(retry)?;
    tracing::info!(%event, kind, "e-mail sent");
    Ok(())
}
