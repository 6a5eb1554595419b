//! The signed-in shopper's orders: `GET /orders` (history, newest first, without checkouts whose
//! card was declined), `GET /orders/{id}`
//! (one order; also the confirmation after checkout) and `POST /orders/{id}/cancel` (while it is
//! not shipped). Another shopper's order is "not found", like one that does not exist.

use askama::Template;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::SignedCookieJar;
use uuid::Uuid;

use super::checkout::one_line;
use super::{CsrfForm, Layout, Notice, PageError, layout, render};
use crate::api::Order;
use crate::session::{Posted, Session};
use crate::startup::AppState;

/// An order's status, for people.
fn status_text(status: &str) -> &'static str {
    match status {
        "placed" => "Placed: confirming payment",
        "paid" => "Paid: preparing to ship",
        "shipped" => "Shipped",
        "cancelled" => "Cancelled",
        _ => "Unknown",
    }
}

/// Why an order was cancelled, for people.
fn cancel_text(reason: Option<&str>) -> &'static str {
    match reason {
        Some("customer") => "You cancelled it.",
        Some("admin") => "The shop cancelled it.",
        Some("payment-declined") => "The card was declined.",
        Some("checkout-abandoned") => "The checkout was not finished.",
        Some("payment-expired") => "It was not paid in time.",
        Some("payment-failed") => "The payment could not be made.",
        _ => "",
    }
}

/// The date part of an RFC 3339 time.
fn date(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

/// An order in the history.
pub struct OrderRow {
    pub id: Uuid,
    pub short: String,
    pub date: String,
    pub status: String,
    pub status_text: &'static str,
    pub items: u32,
    pub total: String,
}

impl From<&Order> for OrderRow {
    fn from(order: &Order) -> Self {
        Self {
            id: order.id,
            short: short_id(order.id),
            date: date(&order.created_at).to_owned(),
            status: order.status.clone(),
            status_text: status_text(&order.status),
            items: order.lines.iter().map(|l| l.quantity).sum(),
            total: order.money(order.total).display(),
        }
    }
}

/// What a person quotes to the shop: the id's last 8 hex digits, upper case (the random part of
/// a UUIDv7).
fn short_id(id: Uuid) -> String {
    let hex = id.simple().to_string();
    hex[hex.len() - 8..].to_ascii_uppercase()
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    layout: Layout,
    orders: Vec<OrderRow>,
}

/// The order history.
#[tracing::instrument(name = "orders", skip_all)]
pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Query(query): Query<Notice>,
) -> Result<Response, PageError> {
    session.require_user("/orders")?;
    let orders = state.api.orders(&session.caller()).await?;
    let layout = layout(
        &state,
        &session,
        &jar,
        "Your orders",
        query.notice.as_deref(),
        None,
    )
    .await?;
    Ok(render(&OrdersPage {
        layout,
        // A checkout whose card was declined never became an order for the shopper (they were
        // told at once, and nothing was held or charged); the API keeps it for the record.
        orders: orders
            .iter()
            .filter(|o| o.cancel_reason.as_deref() != Some("payment-declined"))
            .map(OrderRow::from)
            .collect(),
    }))
}

/// A line of an order.
pub struct OrderLineView {
    pub name: String,
    pub sku: String,
    pub quantity: u32,
    pub unit_price: String,
    pub total: String,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    layout: Layout,
    row: OrderRow,
    confirmation: bool,
    lines: Vec<OrderLineView>,
    subtotal: String,
    discount: Option<(String, String)>,
    address: String,
    cancellable: bool,
    cancelled_because: &'static str,
    /// Where to pay, while it waits for payment on the provider's page.
    pay_at: Option<String>,
}

/// One order; with `?notice=placed`, the checkout's confirmation.
#[tracing::instrument(name = "order", skip_all, fields(order = %id))]
pub async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(query): Query<Notice>,
) -> Result<Response, PageError> {
    session.require_user(&format!("/orders/{id}"))?;
    let id = id.parse::<Uuid>().map_err(|_| PageError::NotFound)?;
    let order = state
        .api
        .order(&session.caller(), id)
        .await?
        .ok_or(PageError::NotFound)?;
    let confirmation = query.notice.as_deref() == Some("placed");
    let title = if confirmation {
        "Thank you for your order".to_owned()
    } else {
        format!("Order {}", short_id(order.id))
    };
    let layout = layout(
        &state,
        &session,
        &jar,
        title,
        query.notice.as_deref().filter(|_| !confirmation),
        None,
    )
    .await?;
    Ok(render(&OrderPage {
        layout,
        row: OrderRow::from(&order),
        confirmation,
        lines: order
            .lines
            .iter()
            .map(|l| OrderLineView {
                name: l.name.clone(),
                sku: l.sku.clone(),
                quantity: l.quantity,
                unit_price: order.money(l.unit_price).display(),
                total: order
                    .money(l.unit_price.saturating_mul(i64::from(l.quantity)))
                    .display(),
            })
            .collect(),
        subtotal: order.money(order.subtotal).display(),
        discount: (order.discount > 0).then(|| {
            (
                order.coupon_code.clone().unwrap_or_default(),
                order.money(order.discount).display(),
            )
        }),
        address: one_line(&order.shipping_address),
        cancellable: order.cancellable(),
        cancelled_because: cancel_text(order.cancel_reason.as_deref()),
        pay_at: order
            .payment_url
            .clone()
            .filter(|_| order.status == "placed"),
    }))
}

/// Cancels an order that is not shipped yet.
#[tracing::instrument(name = "cancel_order", skip_all, fields(order = %id))]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Posted(CsrfForm {}): Posted<CsrfForm>,
) -> Result<Response, PageError> {
    session.require_user("/orders")?;
    let id = id.parse::<Uuid>().map_err(|_| PageError::NotFound)?;
    match state.api.cancel_order(&session.caller(), id).await {
        Ok(_) => Ok(Redirect::to(&format!("/orders/{id}?notice=cancelled")).into_response()),
        Err(e) if e.is_not_found() => Err(PageError::NotFound),
        Err(e) if e.status() == Some(StatusCode::CONFLICT) => {
            Ok(Redirect::to(&format!("/orders/{id}?notice=not-cancellable")).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_is_quoted_by_the_end_of_its_id() {
        let id: Uuid = "0190f6a1-2b3c-7d4e-8f50-a1b2c3d4e5f6".parse().unwrap();
        assert_eq!(short_id(id), "C3D4E5F6");
        assert_eq!(date("2026-12-03T10:00:00Z"), "2026-12-03");
    }
}
