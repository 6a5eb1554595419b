//! `/v1/coupon-redemptions`: coupon uses held for orders. Not routed by the gateway: only services
//! that declare `calls = ["offer"]` reach it (order, at checkout), and the mesh admits no one else.
//!
//! `POST` holds one use for an order within every limit of the coupon (the same reasons as a
//! quote when it does not apply); keyed by the order, so a retry answers 200 with the discount
//! held, and the same order with another coupon or subtotal is 409. `DELETE` gives the use back
//! once (payment declined, checkout failed, order cancelled); again is a harmless 204.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use kit::Problem;
use kit::extract::{Json, Path};

use crate::coupons::{self, CouponError, Held};
use crate::model::{Discount, OrderId, Redemption};
use crate::startup::AppState;

/// Holds one use of a coupon for an order.
#[utoipa::path(post, path = "/v1/coupon-redemptions", tag = "redemptions",
    request_body = Redemption,
    responses(
        (status = 201, description = "Held now", body = Discount),
        (status = 200, description = "Already held for this order (a retry)", body = Discount),
        (status = 404, description = "No coupon with this code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The order redeemed another coupon or subtotal, or gave its use back", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The coupon does not apply, or invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "redeem", skip_all, fields(order = %request.order_id))]
pub async fn redeem(
    State(state): State<AppState>,
    Json(request): Json<Redemption>,
) -> kit::Result<Response, CouponError> {
    let (discount, held) = coupons::redeem(&state.platform.db, &request).await?;
    let status = match held {
        Held::Now => StatusCode::CREATED,
        Held::Already => StatusCode::OK,
    };
    Ok((status, Json(discount)).into_response())
}

/// Gives an order's coupon use back (once; again is harmless).
#[utoipa::path(delete, path = "/v1/coupon-redemptions/{order}", tag = "redemptions",
    params(("order" = OrderId, Path, description = "The order whose coupon use to give back")),
    responses((status = 204, description = "The order holds no coupon use any more")))]
#[tracing::instrument(name = "release_redemption", skip_all, fields(order = %order))]
pub async fn release(
    State(state): State<AppState>,
    Path(order): Path<OrderId>,
) -> kit::Result<StatusCode, CouponError> {
    let released = coupons::release(&state.platform.db, order).await?;
    tracing::info!(released, "coupon use released");
    Ok(StatusCode::NO_CONTENT)
}
