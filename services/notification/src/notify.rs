//! The consumer: keeps who to write to (`user.registered`, forgotten on `user.erased`) and what
//! each order holds (`order.placed`), and sends the e-mails of `order.paid` (the confirmation)
//! and `order.cancelled` once per event.
//!
//! Once: an event whose e-mail is recorded in `sent_emails` is skipped (redeliveries, replays).
//! An e-mail sent but not yet recorded when the process dies is sent again on redelivery, with
//! the same `Message-ID` (made from the event id), so the mailbox shows one message; the record
//! and the event's `processed_events` row are written in one transaction after the send.

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
                    sqlx::query("INSERT INTO recipients (user_id, email) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING")
                        .bind(event.payload.user_id)
                        .bind(&event.payload.email)
                        .execute(&mut *tx)
                        .await
                        .map(|_| ())
                })
            })
            .await
        }
        UserErased::TYPE => {
            let event = envelope.decode::<UserErased>().map_err(poison)?;
            let user = event.payload.user_id;
            kit::kafka::once(db, CONSUMER, event.id, |tx| {
                Box::pin(async move {
                    for table in ["recipients", "orders", "sent_emails"] {
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

/// Sends `email` for `event` to the user, unless it was sent: then records it.
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
    let to: Option<String> = sqlx::query_scalar("SELECT email FROM recipients WHERE user_id = $1")
        .bind(user)
        .fetch_optional(db)
        .await
        .map_err(retry)?;
    // The user's user.registered is on another topic: it may come later. Erased users get
    // nothing (their row is gone, and the retries end in the dead-letter topic).
    let to = to.context("no address for the user yet").map_err(retry)?;
    mailer.send(event, &to, email).await.map_err(retry)?;
    let mut tx = db.begin().await.map_err(retry)?;
    sqlx::query("INSERT INTO sent_emails (event_id, message_id, kind, user_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
        .bind(event)
        .bind(mailer.message_id(event))
        .bind(kind)
        .bind(user)
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
