//! The API's types: a checkout request, and orders as their buyers and admins read them. Money
//! is integer minor units of `currency`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::payments::Card;

/// Marker of order ids.
#[derive(Debug)]
pub enum OrderTag {}
pub type OrderId = kit::Id<OrderTag>;

/// Most lines of one order, and most units of one line.
pub const MAX_LINES: usize = 50;
pub const MAX_QUANTITY: u32 = 99;

/// What a shopper buys: the cart's lines, a coupon, where to ship, how to pay. Prices are
/// never taken from the client: product says them at checkout.
///
/// How to pay depends on the shop's provider (`GET /v1/orders/payment-method`): with the card
/// form, `payment` is the card; with the provider's page, no card is sent and `return_url` is
/// where the page sends the shopper back.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CheckoutRequest {
    #[schema(min_items = 1, max_items = 50)]
    pub lines: Vec<LineRequest>,
    #[serde(default)]
    #[schema(example = "WELCOME10")]
    pub coupon_code: Option<String>,
    pub shipping_address: Address,
    /// The card, when the shop takes cards on its own form.
    #[serde(default)]
    pub payment: Option<Card>,
    /// When the shopper pays on the provider's page: an absolute `http(s)` URL to come back
    /// to, `{order}` replaced by the order's id.
    #[serde(default)]
    #[schema(example = "https://shop.example.com/orders/{order}")]
    pub return_url: Option<String>,
}

/// How this shop takes payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentForm {
    /// The checkout sends the card (`payment`) and answers paid or declined.
    Card,
    /// The checkout sends a `return_url` and answers the order `placed` with a `payment_url`
    /// where the shopper pays; the order becomes paid when the provider confirms.
    ProviderPage,
}

/// The answer of `GET /v1/orders/payment-method`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentMethod {
    pub form: PaymentForm,
}

/// Units of one variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineRequest {
    pub variant_id: Uuid,
    #[schema(minimum = 1, maximum = 99, example = 1)]
    pub quantity: u32,
}

pub use kit::postal::Address;

/// Where an order is in its life: placed → paid → shipped; placed or paid → cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Stock and coupon held; the payment is being authorized (on the provider's page, until
    /// the provider confirms it).
    Placed,
    /// Payment authorized; waiting to ship.
    Paid,
    /// Shipped; payment captured.
    Shipped,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "placed",
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "placed" => Self::Placed,
            "paid" => Self::Paid,
            "shipped" => Self::Shipped,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }
}

/// One line of an order, at the price charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    pub product_id: Uuid,
    pub variant_id: Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: i64,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: OrderId,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub currency: String,
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
    pub coupon_code: Option<String>,
    pub shipping_address: Address,
    /// Why it was cancelled: `customer`, `admin`, `payment-declined`, `payment-failed`,
    /// `payment-expired` (the provider's page was not paid in time) or `checkout-abandoned`.
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Where the buyer pays, while a `placed` order waits for payment on the provider's page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_url: Option<String>,
}

/// A buyer's orders, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderList {
    pub orders: Vec<Order>,
}
