//! `/v1/orders`: checkout (`POST`, with an `Idempotency-Key`), a buyer's orders and one order
//! (others' are 404, never 403), cancellation by its buyer or an admin while not shipped, and
//! shipping by an admin.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use kit::auth::{Admin, User};
use kit::extract::{Json, Path};
use kit::{Problem, problem::PROBLEM_JSON};

use crate::model::{CheckoutRequest, Order, OrderId, OrderList};
use crate::orders::OrderError;
use crate::startup::AppState;

/// The header that makes a checkout safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Places an order from the cart's lines: prices from product, the coupon from offer, stock
/// held, payment authorized (or, when the shop takes cards on its provider's page, the page
/// opened: see `GET /v1/orders/payment-method`). Retry with the same `Idempotency-Key` and body for the same answer,
/// byte for byte; never a second order or charge.
#[utoipa::path(post, path = "/v1/orders", tag = "orders", security(("bearer" = [])),
    request_body = CheckoutRequest,
    params(("Idempotency-Key" = String, Header, description = "Unique per checkout, the same for its retries (a UUID, say)")),
    responses(
        (status = 201, description = "Placed and paid; or, with a provider's payment page, placed with the `payment_url` to send the shopper to", body = Order),
        (status = 400, description = "No Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "The card was declined (`payment-declined`): nothing held, nothing charged", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No coupon with this code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not enough stock (`insufficient-stock`), or the first attempt with this key is still running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, an item no longer for sale, a coupon that does not apply, or the key reused for another request", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The payment provider did not answer: nothing charged", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "checkout", skip_all, fields(user = %user.id))]
pub async fn checkout(
    State(state): State<AppState>,
    user: User,
    headers: HeaderMap,
    Json(raw): Json<serde_json::Value>,
) -> kit::Result<Response, OrderError> {
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .ok_or(OrderError::KeyRequired)?;
    let request: CheckoutRequest = serde_json::from_value(raw.clone())
        .map_err(|e| OrderError::Invalid(vec![("body".to_owned(), e.to_string())]))?;
    let outcome = state.orders.checkout(user.id, key, &request, &raw).await?;
    let content_type = if outcome.is_problem() {
        PROBLEM_JSON
    } else {
        "application/json"
    };
    let mut response = (outcome.status, outcome.body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

/// The signed-in buyer's orders, newest first (the latest 50).
#[utoipa::path(get, path = "/v1/orders", tag = "orders", security(("bearer" = [])),
    responses((status = 200, description = "Their orders", body = OrderList)))]
#[tracing::instrument(name = "list_orders", skip_all, fields(user = %user.id))]
pub async fn list(
    State(state): State<AppState>,
    user: User,
) -> kit::Result<Json<OrderList>, OrderError> {
    let orders = crate::storage::orders_of(&state.orders.db, user.id, 50)
        .await
        .map_err(|e| OrderError::Unexpected(anyhow::Error::new(e).context("cannot list orders")))?;
    Ok(Json(OrderList { orders }))
}

/// One order: its buyer's, or any for an admin.
#[utoipa::path(get, path = "/v1/orders/{order}", tag = "orders", security(("bearer" = [])),
    params(("order" = OrderId, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 404, description = "No such order of yours", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "get_order", skip_all, fields(user = %user.id, order = %id))]
pub async fn get(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<OrderId>,
) -> kit::Result<Json<Order>, OrderError> {
    let order = state.orders.get(id, user.id, user.is_admin()).await?;
    Ok(Json(order))
}

/// Cancels an order that is not shipped yet (its buyer, or an admin): the payment is voided,
/// the stock and coupon use given back.
#[utoipa::path(post, path = "/v1/orders/{order}/cancel", tag = "orders", security(("bearer" = [])),
    params(("order" = OrderId, Path, description = "The order's id")),
    responses(
        (status = 200, description = "Cancelled", body = Order),
        (status = 404, description = "No such order of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Shipped or cancelled already", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "cancel_order", skip_all, fields(user = %user.id, order = %id))]
pub async fn cancel(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<OrderId>,
) -> kit::Result<Json<Order>, OrderError> {
    let order = state.orders.cancel(id, user.id, user.is_admin()).await?;
    tracing::info!("order cancelled");
    Ok(Json(order))
}

/// Ships a paid order (admins only): the payment is captured.
#[utoipa::path(post, path = "/v1/orders/{order}/ship", tag = "orders", security(("bearer" = [])),
    params(("order" = OrderId, Path, description = "The order's id")),
    responses(
        (status = 200, description = "Shipped", body = Order),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not paid (placed, shipped or cancelled)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The provider did not capture the payment (`payment-unavailable`): still paid, not shipped", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "ship_order", skip_all, fields(admin = %admin.id, order = %id))]
pub async fn ship(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<OrderId>,
) -> kit::Result<(StatusCode, Json<Order>), OrderError> {
    let order = state.orders.ship(id, admin.id).await?;
    Ok((StatusCode::OK, Json(order)))
}
