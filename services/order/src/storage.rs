//! Queries: orders with their lines, and the idempotency keys of checkouts.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::model::{Address, Order, OrderId, OrderLine, OrderStatus};
use crate::payments::Payment;

type OrderRow = (
    OrderId,
    Uuid,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
    Json<Address>,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<String>,
    Option<String>,
    Option<String>,
);

// The statements of a checkout are files, compiled in and read by `cargo xtask bench` (its
// `pgbench -f` baseline runs them as they are).
const ORDER_BY_ID: &str = include_str!("sql/order_by_id.sql");
const ORDERS_OF_USER: &str = include_str!("sql/orders_of_user.sql");
const LINES_OF_ORDERS: &str = include_str!("sql/lines_of_orders.sql");
const INSERT_ORDER: &str = include_str!("sql/insert_order.sql");
const INSERT_ORDER_LINE: &str = include_str!("sql/insert_order_line.sql");
const TRANSITION: &str = include_str!("sql/transition.sql");
const RECORD_PAYMENT: &str = include_str!("sql/record_payment.sql");
const RECORD_SESSION: &str = include_str!("sql/record_session.sql");
const CLAIM_KEY: &str = include_str!("sql/claim_key.sql");
const COMPLETE_KEY: &str = include_str!("sql/complete_key.sql");

/// An order with its owner and payment.
#[derive(Debug, Clone)]
pub struct Stored {
    pub order: Order,
    pub user_id: Uuid,
    pub payment: Payment,
}

async fn lines(
    conn: &mut PgConnection,
    ids: &[OrderId],
) -> Result<Vec<(OrderId, OrderLine)>, sqlx::Error> {
    let rows: Vec<(OrderId, Uuid, Uuid, String, String, i32, i64)> =
        sqlx::query_as(LINES_OF_ORDERS)
            .bind(ids.iter().map(OrderId::uuid).collect::<Vec<_>>())
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(
            |(order, product_id, variant_id, sku, name, quantity, unit_price)| {
                (
                    order,
                    OrderLine {
                        product_id,
                        variant_id,
                        sku,
                        name,
                        quantity: u32::try_from(quantity).unwrap_or(0),
                        unit_price,
                    },
                )
            },
        )
        .collect())
}

async fn assemble(
    conn: &mut PgConnection,
    rows: Vec<OrderRow>,
) -> Result<Vec<Stored>, sqlx::Error> {
    let ids: Vec<OrderId> = rows.iter().map(|r| r.0).collect();
    let all_lines = lines(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let id = row.0;
            let status = OrderStatus::parse(&row.2).unwrap_or(OrderStatus::Cancelled);
            Stored {
                user_id: row.1,
                payment: Payment {
                    order: id,
                    id: row.12,
                    session: row.13,
                },
                order: Order {
                    id,
                    status,
                    lines: all_lines
                        .iter()
                        .filter(|(order, _)| *order == id)
                        .map(|(_, line)| line.clone())
                        .collect(),
                    currency: row.3,
                    subtotal: row.4,
                    discount: row.5,
                    total: row.6,
                    coupon_code: row.7,
                    shipping_address: row.8.0,
                    cancel_reason: row.9,
                    created_at: row.10,
                    updated_at: row.11,
                    // Only while the shopper may still pay there.
                    payment_url: row.14.filter(|_| status == OrderStatus::Placed),
                },
            }
        })
        .collect())
}

pub async fn order(conn: &mut PgConnection, id: OrderId) -> Result<Option<Stored>, sqlx::Error> {
    let rows: Vec<OrderRow> = sqlx::query_as(ORDER_BY_ID)
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(assemble(conn, rows).await?.pop())
}

/// A buyer's latest orders, newest first.
pub async fn orders_of(db: &PgPool, user: Uuid, limit: i64) -> Result<Vec<Order>, sqlx::Error> {
    let mut conn = db.acquire().await?;
    let rows: Vec<OrderRow> = sqlx::query_as(ORDERS_OF_USER)
        .bind(user)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    Ok(assemble(&mut conn, rows)
        .await?
        .into_iter()
        .map(|s| s.order)
        .collect())
}

/// Writes a placed order and its lines (the caller's transaction holds its outbox event too).
pub async fn insert(conn: &mut PgConnection, user: Uuid, order: &Order) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_ORDER)
        .bind(order.id)
        .bind(user)
        .bind(order.status.as_str())
        .bind(&order.currency)
        .bind(order.subtotal)
        .bind(order.discount)
        .bind(order.total)
        .bind(&order.coupon_code)
        .bind(Json(&order.shipping_address))
        .bind(order.created_at)
        .execute(&mut *conn)
        .await?;
    for (position, line) in order.lines.iter().enumerate() {
        sqlx::query(INSERT_ORDER_LINE)
            .bind(order.id)
            .bind(i32::try_from(position).unwrap_or(i32::MAX))
            .bind(line.product_id)
            .bind(line.variant_id)
            .bind(&line.sku)
            .bind(&line.name)
            .bind(i32::try_from(line.quantity).unwrap_or(i32::MAX))
            .bind(line.unit_price)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Records the provider's id of an order's payment.
pub async fn record_payment(
    conn: &mut PgConnection,
    id: OrderId,
    payment_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(RECORD_PAYMENT)
        .bind(id)
        .bind(payment_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records the provider's payment page of a placed order (where its buyer pays, and the session
/// the provider's events name); false when it is no longer placed.
pub async fn record_session(
    conn: &mut PgConnection,
    id: OrderId,
    session: &str,
    url: &str,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(RECORD_SESSION)
        .bind(id)
        .bind(session)
        .bind(url)
        .execute(conn)
        .await?;
    Ok(changed.rows_affected() == 1)
}

/// What a cancelled order recorded of its payment, to void it.
pub async fn payment_of(db: &PgPool, id: OrderId) -> Result<Payment, sqlx::Error> {
    let (payment_id, session): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT payment_id, payment_session FROM orders WHERE id = $1")
            .bind(id)
            .fetch_one(db)
            .await?;
    Ok(Payment {
        order: id,
        id: payment_id,
        session,
    })
}

/// Records an authorization (or a payment page) that came for an order already cancelled, to be
/// voided (again).
pub async fn record_late_payment(
    db: &PgPool,
    id: OrderId,
    payment_id: Option<&str>,
    session: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE orders SET payment_id = coalesce($2, payment_id), \
                           payment_session = coalesce($3, payment_session), voided_at = NULL \
         WHERE id = $1 AND status = 'cancelled'",
    )
    .bind(id)
    .bind(payment_id)
    .bind(session)
    .execute(db)
    .await?;
    Ok(())
}

/// Records that a cancelled order's payment is voided.
pub async fn mark_voided(db: &PgPool, id: OrderId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE orders SET voided_at = now() WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Cancelled orders whose payment is not voided yet (a void failed), oldest first.
pub async fn unvoided(db: &PgPool, limit: i64) -> Result<Vec<OrderId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM orders WHERE status = 'cancelled' AND voided_at IS NULL \
         ORDER BY updated_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Moves an order from one of `from` to `to`; false when it is in none of them. A cancellation
/// records its reason.
pub async fn transition(
    conn: &mut PgConnection,
    id: OrderId,
    from: &[OrderStatus],
    to: OrderStatus,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let changed = sqlx::query(TRANSITION)
        .bind(id)
        .bind(&from)
        .bind(to.as_str())
        .bind(reason)
        .execute(conn)
        .await?;
    Ok(changed.rows_affected() == 1)
}

/// Records that a cancelled order's stock and coupon use are given back.
pub async fn mark_released(db: &PgPool, id: OrderId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE orders SET released_at = now() WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Cancelled orders whose holds are not given back yet (a release failed), oldest first.
pub async fn unreleased(db: &PgPool, limit: i64) -> Result<Vec<OrderId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM orders WHERE status = 'cancelled' AND released_at IS NULL \
         ORDER BY updated_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Orders placed longer than `age` ago whose checkout is not running (its key's lease expired
/// or was given up), or, paid on the provider's page, whose page is `page_age` old (it has
/// expired or been paid, and its event did not come): (order, buyer, page session), oldest first.
pub async fn abandoned(
    db: &PgPool,
    age: Duration,
    page_age: Duration,
    limit: i64,
) -> Result<Vec<(OrderId, Uuid, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT o.id, o.user_id, o.payment_session FROM orders o \
         WHERE o.status = 'placed' \
           AND o.created_at < now() - make_interval(secs => \
                 CASE WHEN o.payment_session IS NULL THEN $1 ELSE $2 END) \
           AND NOT EXISTS (SELECT 1 FROM idempotency_keys k \
                           WHERE k.order_id = o.id AND k.locked_until > now()) \
         ORDER BY o.created_at LIMIT $3",
    )
    .bind(age.as_secs_f64())
    .bind(page_age.as_secs_f64())
    .bind(limit)
    .fetch_all(db)
    .await
}

/// What claiming an idempotency key found.
#[derive(Debug)]
pub enum Claim {
    /// This request runs the checkout, for this order id: a new one, or `resumed` after an
    /// attempt that stopped (its order may exist).
    Run { order: OrderId, resumed: bool },
    /// A finished checkout: its status and body, to send again.
    Replay(u16, Vec<u8>),
    /// Another attempt is running it.
    Running,
    /// The key was used with another request.
    Reused,
}

/// Claims `key` for a request hashing to `hash`, with a lease of `lease`.
pub async fn claim(
    db: &PgPool,
    user: Uuid,
    key: &str,
    hash: &[u8],
    lease: Duration,
) -> Result<Claim, sqlx::Error> {
    let lease = lease.as_secs_f64();
    let inserted: Option<OrderId> = sqlx::query_scalar(CLAIM_KEY)
        .bind(user)
        .bind(key)
        .bind(hash)
        .bind(OrderId::new())
        .bind(lease)
        .fetch_optional(db)
        .await?;
    if let Some(order) = inserted {
        return Ok(Claim::Run {
            order,
            resumed: false,
        });
    }
    let mut tx = db.begin().await?;
    let (stored_hash, order, status, body, running): (
        Vec<u8>,
        OrderId,
        Option<i16>,
        Option<Vec<u8>>,
        bool,
    ) = sqlx::query_as(
        "SELECT request_hash, order_id, status, body, coalesce(locked_until > now(), false) \
             FROM idempotency_keys WHERE user_id = $1 AND key = $2 FOR UPDATE",
    )
    .bind(user)
    .bind(key)
    .fetch_one(&mut *tx)
    .await?;
    if stored_hash != hash {
        return Ok(Claim::Reused);
    }
    if let (Some(status), Some(body)) = (status, body) {
        return Ok(Claim::Replay(u16::try_from(status).unwrap_or(500), body));
    }
    if running {
        return Ok(Claim::Running);
    }
    // The attempt that held it stopped (a crash): this one resumes the same order.
    sqlx::query(
        "UPDATE idempotency_keys SET locked_until = now() + make_interval(secs => $3) \
         WHERE user_id = $1 AND key = $2",
    )
    .bind(user)
    .bind(key)
    .bind(lease)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Claim::Run {
        order,
        resumed: true,
    })
}

/// Stores the response of a checkout, for every retry.
pub async fn complete(
    db: &PgPool,
    user: Uuid,
    key: &str,
    status: u16,
    body: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(COMPLETE_KEY)
        .bind(user)
        .bind(key)
        .bind(i16::try_from(status).unwrap_or(500))
        .bind(body)
        .execute(db)
        .await?;
    Ok(())
}

/// Lets a failed attempt's key be run again at once (a failure no retry should replay, such as
/// a dependency being down).
pub async fn abandon(db: &PgPool, user: Uuid, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE idempotency_keys SET locked_until = NULL WHERE user_id = $1 AND key = $2 AND status IS NULL")
        .bind(user)
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// Keys older than `keep` are forgotten (a day at least: retries come within minutes).
pub async fn prune_keys(db: &PgPool, keep: Duration) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)",
    )
    .bind(keep.as_secs_f64())
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
