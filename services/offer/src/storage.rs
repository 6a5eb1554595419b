//! Queries. Redemptions lock the coupon's row (`FOR UPDATE`) and count against it in the same
//! transaction, so concurrent checkouts can never redeem a coupon more often than its limits
//! allow; the table's CHECK on `uses` holds the total limit even against a bug here.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::model::{Coupon, CouponId, CouponInput, DiscountKind, OrderId};

type Row = (
    CouponId,
    String,
    String,
    String,
    i64,
    String,
    i64,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<i32>,
    Option<i32>,
    i32,
    bool,
    i32,
    DateTime<Utc>,
    DateTime<Utc>,
);

const COLUMNS: &str = "id, code, description, kind, value, currency, min_spend, starts_at, \
    ends_at, max_uses, max_uses_per_user, uses, active, version, created_at, updated_at";

fn coupon(row: Row) -> Coupon {
    let (id, code, description, kind, value, currency, min_spend, starts_at, ends_at) = (
        row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8,
    );
    Coupon {
        id,
        code,
        description,
        kind: if kind == "percent" {
            DiscountKind::Percent
        } else {
            DiscountKind::Fixed
        },
        value,
        currency,
        min_spend,
        starts_at,
        ends_at,
        max_uses: row.9,
        max_uses_per_user: row.10,
        uses: row.11,
        active: row.12,
        version: row.13,
        created_at: row.14,
        updated_at: row.15,
    }
}

fn kind(kind: DiscountKind) -> &'static str {
    match kind {
        DiscountKind::Percent => "percent",
        DiscountKind::Fixed => "fixed",
    }
}

/// Whether `error` is the unique code's violation.
pub fn code_taken(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.constraint())
        .is_some_and(|c| c == "coupons_code_key")
}

pub async fn insert(db: &PgPool, input: &CouponInput) -> Result<Coupon, sqlx::Error> {
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO coupons (id, code, description, kind, value, currency, min_spend, \
           starts_at, ends_at, max_uses, max_uses_per_user) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {COLUMNS}"
    ))
    .bind(CouponId::new())
    .bind(&input.code)
    .bind(&input.description)
    .bind(kind(input.kind))
    .bind(input.value)
    .bind(&input.currency)
    .bind(input.min_spend)
    .bind(input.starts_at)
    .bind(input.ends_at)
    .bind(input.max_uses)
    .bind(input.max_uses_per_user)
    .fetch_one(db)
    .await?;
    Ok(coupon(row))
}

pub async fn by_code(conn: &mut PgConnection, code: &str) -> Result<Option<Coupon>, sqlx::Error> {
    let row: Option<Row> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM coupons WHERE code = $1"))
            .bind(code)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(coupon))
}

/// Replaces a coupon still at `version`; `None` when it changed (or is gone). The new limits
/// may not fall below the uses already held (the CHECK refuses it).
pub async fn replace(
    db: &PgPool,
    code: &str,
    version: i32,
    input: &CouponInput,
) -> Result<Option<Coupon>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE coupons SET code = $3, description = $4, kind = $5, value = $6, currency = $7, \
           min_spend = $8, starts_at = $9, ends_at = $10, max_uses = $11, \
           max_uses_per_user = $12, version = version + 1, updated_at = now() \
         WHERE code = $1 AND version = $2 RETURNING {COLUMNS}"
    ))
    .bind(code)
    .bind(version)
    .bind(&input.code)
    .bind(&input.description)
    .bind(kind(input.kind))
    .bind(input.value)
    .bind(&input.currency)
    .bind(input.min_spend)
    .bind(input.starts_at)
    .bind(input.ends_at)
    .bind(input.max_uses)
    .bind(input.max_uses_per_user)
    .fetch_optional(db)
    .await?;
    Ok(row.map(coupon))
}

pub async fn deactivate(db: &PgPool, code: &str) -> Result<Option<Coupon>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE coupons SET active = false, \
           version = version + CASE WHEN active THEN 1 ELSE 0 END, \
           updated_at = CASE WHEN active THEN now() ELSE updated_at END \
         WHERE code = $1 RETURNING {COLUMNS}"
    ))
    .bind(code)
    .fetch_optional(db)
    .await?;
    Ok(row.map(coupon))
}

/// The coupon by code, its row locked until the transaction ends.
pub async fn lock(conn: &mut PgConnection, code: &str) -> Result<Option<Coupon>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM coupons WHERE code = $1 FOR UPDATE"
    ))
    .bind(code)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(coupon))
}

/// Redemptions of `coupon` a shopper holds.
pub async fn user_uses(
    conn: &mut PgConnection,
    coupon: CouponId,
    user: uuid::Uuid,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM coupon_redemptions \
         WHERE coupon_id = $1 AND user_id = $2 AND released_at IS NULL",
    )
    .bind(coupon)
    .bind(user)
    .fetch_one(conn)
    .await
}

/// A transaction-scoped lock on one order's redemption: a retry racing the first waits for it.
pub async fn lock_order(conn: &mut PgConnection, order: OrderId) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 11))")
        .bind(order)
        .execute(conn)
        .await?;
    Ok(())
}

/// The order's redemption: (coupon code, subtotal, discount, released).
pub async fn redemption(
    conn: &mut PgConnection,
    order: OrderId,
) -> Result<Option<(String, i64, i64, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.code, r.subtotal, r.discount, r.released_at IS NOT NULL \
         FROM coupon_redemptions r JOIN coupons c ON c.id = r.coupon_id WHERE r.order_id = $1",
    )
    .bind(order)
    .fetch_optional(conn)
    .await
}

/// Records a redemption and counts the use.
pub async fn redeem(
    conn: &mut PgConnection,
    order: OrderId,
    coupon: CouponId,
    user: uuid::Uuid,
    subtotal: i64,
    discount: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO coupon_redemptions (order_id, coupon_id, user_id, subtotal, discount) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(order)
    .bind(coupon)
    .bind(user)
    .bind(subtotal)
    .bind(discount)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE coupons SET uses = uses + 1 WHERE id = $1")
        .bind(coupon)
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives an order's coupon use back, once; whether it did now.
pub async fn release(conn: &mut PgConnection, order: OrderId) -> Result<bool, sqlx::Error> {
    let coupon: Option<CouponId> = sqlx::query_scalar(
        "UPDATE coupon_redemptions SET released_at = now() \
         WHERE order_id = $1 AND released_at IS NULL RETURNING coupon_id",
    )
    .bind(order)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(coupon) = coupon else {
        return Ok(false);
    };
    sqlx::query("UPDATE coupons SET uses = uses - 1 WHERE id = $1")
        .bind(coupon)
        .execute(conn)
        .await?;
    Ok(true)
}
