//! Events on the `order.v1` topic, produced by order through its outbox. Keyed by order, so one
//! order's events keep their order: placed, then paid or cancelled, then shipped or cancelled.
//! Money is integer minor units of `currency`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Event;

/// One line of an order, at the price charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: Uuid,
    pub variant_id: Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: i64,
}

/// An order was placed: its stock and coupon use are held, payment is being authorized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub order_id: Uuid,
    pub user_id: Uuid,
    pub lines: Vec<OrderLine>,
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon_code: Option<String>,
}

impl Event for OrderPlaced {
    const TYPE: &'static str = "order.placed";
    const VERSION: u16 = 1;
    const TOPIC: &'static str = "order.v1";
    fn key(&self) -> String {
        self.order_id.to_string()
    }
}

/// The payment of an order was authorized: the order will ship.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPaid {
    pub order_id: Uuid,
    pub user_id: Uuid,
    pub total: i64,
    pub currency: String,
}

impl Event for OrderPaid {
    const TYPE: &'static str = "order.paid";
    const VERSION: u16 = 1;
    const TOPIC: &'static str = "order.v1";
    fn key(&self) -> String {
        self.order_id.to_string()
    }
}

/// An order was cancelled (by its buyer, an admin, or a declined payment): its stock and coupon
/// use are given back, its authorization voided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub order_id: Uuid,
    pub user_id: Uuid,
    /// `customer`, `admin` or `payment-declined`.
    pub reason: String,
}

impl Event for OrderCancelled {
    const TYPE: &'static str = "order.cancelled";
    const VERSION: u16 = 1;
    const TOPIC: &'static str = "order.v1";
    fn key(&self) -> String {
        self.order_id.to_string()
    }
}

/// An order left the warehouse: its payment was captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderShipped {
    pub order_id: Uuid,
    pub user_id: Uuid,
}

impl Event for OrderShipped {
    const TYPE: &'static str = "order.shipped";
    const VERSION: u16 = 1;
    const TOPIC: &'static str = "order.v1";
    fn key(&self) -> String {
        self.order_id.to_string()
    }
}
