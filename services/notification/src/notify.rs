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
//! comes for them afterwards is dropped, not parked or kept. Parking, the drain and the erasure
//! take one lock per user, so an e-mail cannot be parked just after the drain that would have
//! sent it (or the erasure that would have deleted it). A relay that fails parks the e-mail too,
//! instead of retrying it into the dead-letter topic. [`sweep_once`] (every [`SWEEP_EVERY`]) sends what waits for a buyer
//! whose address is known (the relay is back, a drain failed) and gives up, loudly, on e-mails
//! whose buyer stays unknown for longer than the topics keep events.

use std::time::Duration;

use events::Event as _;
use events::order::{OrderCancelled, OrderPaid, OrderPlaced};
use events::user::{UserErased, UserRegistered};
use kit::kafka::HandleError;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::emails::{self, Email, Mailer, SendError};

const CONSUMER: &str = crate::platform::MANIFEST.name;

/// How long an e-mail waits for its buyer's address: the topics' retention, after which the
/// `user.registered` it waits for cannot come any more.
pub const PARKED_FOR: Duration = Duration::from_secs(14 * 86_400);

/// How long a parked e-mail being sent is claimed by its sender (the relay's timeout is 10 s).
pub const SENDING_FOR: Duration = Duration::from_secs(120);
/// How often [`sweep_once`] runs (see `startup`).
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Failed sends of a parked e-mail before it is given up: with the backoff (a minute, doubling,
/// at most six hours) about two weeks of trying.
pub const MAX_ATTEMPTS: i32 = 64;

fn retry(error: impl Into<anyhow::Error>) -> HandleError {
    HandleError::Retry(error.into())
}

fn poison(error: impl Into<anyhow::Error>) -> HandleError {
    HandleError::Poison(error.into())
}

/// Serializes, per user, parking an e-mail against the drain and the erasure (until the
/// transaction ends).
async fn lock_user(conn: &mut PgConnection, user: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 5))")
        .bind(user)
        .execute(conn)
        .await
        .map(|_| ())
}

/// What notification knows of a user.
enum Recipient {
    Known(String),
    /// Erased: the row stays, without an address.
    Erased,
    /// No `user.registered` yet.
    Unknown,
}

async fn recipient(conn: &mut PgConnection, user: Uuid) -> Result<Recipient, sqlx::Error> {
    let row: Option<Option<String>> =
        sqlx::query_scalar("SELECT email FROM recipients WHERE user_id = $1")
            .bind(user)
            .fetch_optional(conn)
            .await?;
    Ok(match row {
        Some(Some(email)) => Recipient::Known(email),
        Some(None) => Recipient::Erased,
        None => Recipient::Unknown,
    })
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
            let user = event.payload.user_id;
            kit::kafka::once(db, CONSUMER, event.id, |tx| {
                Box::pin(async move {
                    lock_user(tx, user).await?;
                    // An erasure seen first (out of order) keeps its tombstone.
                    sqlx::query("INSERT INTO recipients (user_id, email) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING")
                        .bind(user)
                        .bind(&event.payload.email)
                        .execute(&mut *tx)
                        .await
                        .map(|_| ())
                })
            })
            .await?;
            // After the commit. A failed drain does not fail the event (retried, then
            // dead-lettered, while the address is safely stored): what it left is due for the
            // sweeper.
            if let Err(error) = send_parked(db, mailer, user).await {
                tracing::warn!(%user, ?error, "cannot send parked e-mails yet; the sweeper will");
            }
            Ok(())
        }
        UserErased::TYPE => {
            let event = envelope.decode::<UserErased>().map_err(poison)?;
            let user = event.payload.user_id;
            kit::kafka::once(db, CONSUMER, event.id, |tx| {
                Box::pin(async move {
                    lock_user(tx, user).await?;
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
            let user = event.payload.user_id;
            kit::kafka::once(db, CONSUMER, event.id, |tx| {
                Box::pin(async move {
                    lock_user(tx, user).await?;
                    // Nothing is kept of an erased buyer's orders.
                    sqlx::query(
                        "INSERT INTO orders (order_id, user_id, placed) \
                         SELECT $1, $2, $3 WHERE NOT EXISTS \
                           (SELECT 1 FROM recipients WHERE user_id = $2 AND email IS NULL) \
                         ON CONFLICT (order_id) DO NOTHING",
                    )
                    .bind(event.payload.order_id)
                    .bind(user)
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
            let user = event.payload.user_id;
            let placed: Option<sqlx::types::Json<OrderPlaced>> =
                sqlx::query_scalar("SELECT placed FROM orders WHERE order_id = $1")
                    .bind(event.payload.order_id)
                    .fetch_optional(db)
                    .await
                    .map_err(retry)?;
            let Some(placed) = placed else {
                let mut conn = db.acquire().await.map_err(retry)?;
                if let Recipient::Erased = recipient(&mut conn, user).await.map_err(retry)? {
                    tracing::info!(event = %event.id, "the buyer is erased; no e-mail");
                    return Ok(());
                }
                // order.placed comes first on the order's partition; without it, wait for it.
                return Err(retry(anyhow::anyhow!("order.paid before its order.placed")));
            };
            let email = emails::confirmed(&placed.0).map_err(poison)?;
            let outgoing = Outgoing {
                event: event.id,
                user,
                kind: "order-confirmed",
                email: &email,
            };
            send_once(db, mailer, &outgoing).await
        }
        OrderCancelled::TYPE => {
            let event = envelope.decode::<OrderCancelled>().map_err(poison)?;
            let email =
                emails::cancelled(event.payload.order_id, &event.payload.reason).map_err(poison)?;
            let outgoing = Outgoing {
                event: event.id,
                user: event.payload.user_id,
                kind: "order-cancelled",
                email: &email,
            };
            send_once(db, mailer, &outgoing).await
        }
        _ => Ok(()),
    }
}

/// An e-mail answering one event, to one user.
struct Outgoing<'a> {
    event: Uuid,
    user: Uuid,
    /// What it is (`order-confirmed`, `order-cancelled`), as recorded.
    kind: &'a str,
    email: &'a Email,
}

/// Sends the e-mail unless it was sent (or the user is erased); parks it when the user is not
/// known yet, or when the relay fails (the sweeper sends it later).
async fn send_once(
    db: &PgPool,
    mailer: &Mailer,
    outgoing: &Outgoing<'_>,
) -> Result<(), HandleError> {
    let (event, kind) = (outgoing.event, outgoing.kind);
    let mut tx = db.begin().await.map_err(retry)?;
    lock_user(&mut tx, outgoing.user).await.map_err(retry)?;
    let sent: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sent_emails WHERE event_id = $1)")
            .bind(event)
            .fetch_one(&mut *tx)
            .await
            .map_err(retry)?;
    if sent {
        return Ok(());
    }
    match recipient(&mut tx, outgoing.user).await.map_err(retry)? {
        Recipient::Known(to) => {
            // The lock is not held while sending (a slow relay would hold up the user's drain).
            tx.rollback().await.map_err(retry)?;
            match deliver(db, mailer, outgoing, &to).await {
                Ok(()) => Ok(()),
                Err(Failed::Permanent(error)) => Err(poison(error)),
                Err(Failed::Transient(error)) => {
                    // Not retried into the dead-letter topic: the sweeper sends it when the
                    // relay is back.
                    tracing::warn!(%event, kind, error = %format!("{error:#}"), "cannot send yet; parked for the sweeper");
                    let mut tx = db.begin().await.map_err(retry)?;
                    lock_user(&mut tx, outgoing.user).await.map_err(retry)?;
                    if let Recipient::Known(_) =
                        recipient(&mut tx, outgoing.user).await.map_err(retry)?
                    {
                        park(&mut tx, outgoing).await.map_err(retry)?;
                        back_off(&mut *tx, event).await.map_err(retry)?;
                    }
                    tx.commit().await.map_err(retry)
                }
            }
        }
        Recipient::Erased => {
            tracing::info!(%event, kind, "the user is erased; no e-mail");
            Ok(())
        }
        Recipient::Unknown => {
            park(&mut tx, outgoing).await.map_err(retry)?;
            tx.commit().await.map_err(retry)?;
            tracing::info!(%event, kind, "the user is not known yet; the e-mail waits for user.registered");
            Ok(())
        }
    }
}

/// Keeps the rendered e-mail in `pending_emails` (the caller holds the user's lock).
async fn park(conn: &mut PgConnection, outgoing: &Outgoing<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO pending_emails (event_id, user_id, kind, subject, text_body, html_body) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(outgoing.event)
    .bind(outgoing.user)
    .bind(outgoing.kind)
    .bind(&outgoing.email.subject)
    .bind(&outgoing.email.text)
    .bind(&outgoing.email.html)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Counts a failed send of a parked e-mail and puts its next attempt off: a minute, doubling
/// with every failure, at most six hours.
async fn back_off<'c>(conn: impl sqlx::PgExecutor<'c>, event: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE pending_emails SET attempts = attempts + 1, \
           next_attempt_at = now() + make_interval(secs => least(60 * 2 ^ least(attempts, 20), 21600)) \
         WHERE event_id = $1",
    )
    .bind(event)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Sends what waits for `user`, in the order the events were made, while their address is
/// known: each e-mail is checked under the user's lock just before it goes, so an erasure in the
/// middle stops the drain. An e-mail that cannot be built (the address is not one) is given up
/// with an error in the log; a relay failure stops the drain, for the caller to retry.
async fn send_parked(db: &PgPool, mailer: &Mailer, user: Uuid) -> Result<(), HandleError> {
    // Event ids are UUIDv7: their order is the order the events were made in.
    let parked: Vec<Uuid> = sqlx::query_scalar(
        "SELECT event_id FROM pending_emails \
         WHERE user_id = $1 AND next_attempt_at <= now() ORDER BY event_id",
    )
    .bind(user)
    .fetch_all(db)
    .await
    .map_err(retry)?;
    for event in parked {
        let mut tx = db.begin().await.map_err(retry)?;
        lock_user(&mut tx, user).await.map_err(retry)?;
        let Recipient::Known(to) = recipient(&mut tx, user).await.map_err(retry)? else {
            return Ok(());
        };
        // Claimed for [`SENDING_FOR`]: a drain and the sweeper racing for the same e-mail send
        // it once (the one that finds it no longer due skips it). Sent, it is deleted; failed, it
        // is backed off; lost with a crashed sender, it is due again when the claim runs out.
        let row: Option<(String, String, String, String)> = sqlx::query_as(
            "UPDATE pending_emails SET next_attempt_at = now() + make_interval(secs => $2) \
             WHERE event_id = $1 AND next_attempt_at <= now() \
             RETURNING kind, subject, text_body, html_body",
        )
        .bind(event)
        .bind(SENDING_FOR.as_secs_f64())
        .fetch_optional(&mut *tx)
        .await
        .map_err(retry)?;
        tx.commit().await.map_err(retry)?;
        let Some((kind, subject, text, html)) = row else {
            continue; // sent, or being sent, meanwhile
        };
        let email = Email {
            subject,
            text,
            html,
        };
        let outgoing = Outgoing {
            event,
            user,
            kind: &kind,
            email: &email,
        };
        match deliver(db, mailer, &outgoing, &to).await {
            Ok(()) => {}
            Err(Failed::Permanent(error)) => {
                tracing::error!(%event, kind, error = %format!("{error:#}"), "a parked e-mail cannot be sent; given up");
                sqlx::query("DELETE FROM pending_emails WHERE event_id = $1")
                    .bind(event)
                    .execute(db)
                    .await
                    .map_err(retry)?;
            }
            Err(Failed::Transient(error)) => {
                back_off(db, event).await.map_err(retry)?;
                return Err(retry(error));
            }
        }
    }
    Ok(())
}

/// Why [`deliver`] did not send.
enum Failed {
    /// The message cannot be built (the address is not one): a retry cannot help. The relay's
    /// refusals are all transient here: a wrong password or relay setting answers 5xx too, and
    /// must not throw away what waits.
    Permanent(anyhow::Error),
    Transient(anyhow::Error),
}

/// Sends the e-mail to `to`, then records it (and forgets it as parked) in one transaction; an
/// erasure that came meanwhile leaves no record of it.
async fn deliver(
    db: &PgPool,
    mailer: &Mailer,
    outgoing: &Outgoing<'_>,
    to: &str,
) -> Result<(), Failed> {
    let Outgoing {
        event,
        user,
        kind,
        email,
    } = *outgoing;
    let transient = |e: sqlx::Error| Failed::Transient(e.into());
    match mailer.send(event, to, email).await {
        Ok(()) => {}
        Err(error @ SendError::Build(_)) => return Err(Failed::Permanent(error.into())),
        Err(error) => return Err(Failed::Transient(error.into())),
    }
    let mut tx = db.begin().await.map_err(transient)?;
    lock_user(&mut tx, user).await.map_err(transient)?;
    if !matches!(
        recipient(&mut tx, user).await.map_err(transient)?,
        Recipient::Erased
    ) {
        sqlx::query("INSERT INTO sent_emails (event_id, message_id, kind, user_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(event)
            .bind(mailer.message_id(event))
            .bind(kind)
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(transient)?;
    }
    sqlx::query("DELETE FROM pending_emails WHERE event_id = $1")
        .bind(event)
        .execute(&mut *tx)
        .await
        .map_err(transient)?;
    kit::kafka::mark_processed(&mut tx, CONSUMER, event)
        .await
        .map_err(transient)?;
    tx.commit().await.map_err(transient)?;
    tracing::info!(%event, kind, "e-mail sent");
    Ok(())
}

/// Sends what waits for buyers whose address is known (a drain or a send failed) and is due, the
/// longest waiting first, and gives up on e-mails parked longer than `parked_for` for buyers
/// never known and on those that failed [`MAX_ATTEMPTS`] times. One replica sweeps at a time; a
/// relay failure ends the round.
pub async fn sweep_once(db: &PgPool, mailer: &Mailer, parked_for: Duration) {
    let Ok(mut guard) = db.begin().await else {
        return;
    };
    let ours: Result<bool, _> = sqlx::query_scalar(
        "SELECT pg_try_advisory_xact_lock(hashtextextended('notification sweeper', 5))",
    )
    .fetch_one(&mut *guard)
    .await;
    if !matches!(ours, Ok(true)) {
        return;
    }
    let users: Result<Vec<Uuid>, _> = sqlx::query_scalar(
        "SELECT p.user_id FROM pending_emails p JOIN recipients r USING (user_id) \
         WHERE r.email IS NOT NULL AND p.next_attempt_at <= now() \
         GROUP BY p.user_id ORDER BY min(p.parked_at) LIMIT 100",
    )
    .fetch_all(db)
    .await;
    match users {
        Ok(users) => {
            for user in users {
                if let Err(error) = send_parked(db, mailer, user).await {
                    tracing::warn!(%user, ?error, "cannot send parked e-mails yet; next round");
                    break;
                }
            }
        }
        Err(error) => tracing::warn!(%error, "cannot list parked e-mails"),
    }
    let expired = sqlx::query(
        "DELETE FROM pending_emails p \
         WHERE (parked_at < now() - make_interval(secs => $1) \
                AND NOT EXISTS (SELECT 1 FROM recipients r \
                                WHERE r.user_id = p.user_id AND r.email IS NOT NULL)) \
            OR attempts >= $2",
    )
    .bind(parked_for.as_secs_f64())
    .bind(MAX_ATTEMPTS)
    .execute(db)
    .await;
    match expired {
        Ok(done) if done.rows_affected() > 0 => tracing::error!(
            count = done.rows_affected(),
            "e-mails whose buyer never became known, or that failed too often, are given up"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot expire parked e-mails"),
    }
    guard.rollback().await.ok();
}
