//! The API's types: coupons as admins write and read them, and the requests that price an
//! order's subtotal with a coupon (validation in the cart, redemption at checkout).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Marker of coupon ids.
#[derive(Debug)]
pub enum CouponTag {}
/// Marker of order ids (the order service's; redemptions are keyed by them).
#[derive(Debug)]
pub enum OrderTag {}

pub type CouponId = kit::Id<CouponTag>;
pub type OrderId = kit::Id<OrderTag>;

/// How a coupon takes money off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiscountKind {
    /// `value` percent of the subtotal (1 to 100), rounded down to the minor unit.
    Percent,
    /// `value` minor units, at most the subtotal.
    Fixed,
}

/// A coupon as an admin writes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CouponInput {
    /// What shoppers type: 3 to 32 letters, digits or dashes; case does not matter.
    #[schema(example = "WELCOME10", pattern = "^[A-Za-z0-9][A-Za-z0-9-]{2,31}$")]
    pub code: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    pub kind: DiscountKind,
    /// Percent (1 to 100), or minor units for a fixed amount.
    #[schema(example = 10, minimum = 1, maximum = 100_000_000)]
    pub value: i64,
    /// ISO 4217: the currency of the subtotals it applies to.
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// Lowest subtotal it applies to, minor units.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub min_spend: i64,
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// Redemptions in all (none: no limit).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub max_uses: Option<i32>,
    /// Redemptions per shopper (none: no limit).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub max_uses_per_user: Option<i32>,
}

/// A coupon as stored, with how often it is redeemed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Coupon {
    pub id: CouponId,
    pub code: String,
    pub description: String,
    pub kind: DiscountKind,
    pub value: i64,
    pub currency: String,
    pub min_spend: i64,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub max_uses: Option<i32>,
    pub max_uses_per_user: Option<i32>,
    /// Redemptions held (released ones are given back).
    pub uses: i32,
    pub active: bool,
    /// Changes with every write: send it back in `If-Match` to replace the coupon.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A subtotal to price with a coupon (what a cart shows).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    #[schema(example = "WELCOME10", pattern = "^[A-Za-z0-9][A-Za-z0-9-]{2,31}$")]
    pub code: String,
    /// Minor units.
    #[schema(example = 4500, minimum = 0, maximum = 100_000_000)]
    pub subtotal: i64,
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
}

/// What the coupon takes off the subtotal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Discount {
    /// The coupon's code, as stored.
    pub code: String,
    pub subtotal: i64,
    /// Minor units taken off.
    pub discount: i64,
    /// `subtotal - discount`.
    pub total: i64,
    pub currency: String,
}

/// A coupon use held for an order (what the order service asks at checkout).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Redemption {
    /// The key: a retry with the same order changes nothing.
    pub order_id: OrderId,
    /// The shopper, for the per-user limit (the order service verified their token).
    pub user_id: uuid::Uuid,
    #[schema(example = "WELCOME10", pattern = "^[A-Za-z0-9][A-Za-z0-9-]{2,31}$")]
    pub code: String,
    #[schema(example = 4500, minimum = 0, maximum = 100_000_000)]
    pub subtotal: i64,
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
}
