//! `/v1/stock-reservations`: stock held for orders. Not routed by the gateway: only services that
//! declare `calls = ["product"]` reach it (order, before it takes payment), and the mesh admits
//! no one else.
//!
//! `POST` holds every line of an order or none (409 `insufficient-stock`, naming each line that
//! cannot be held); it is keyed by the order id, so a retry with the same lines answers 200 and
//! holds nothing more, and the same order with other lines is 409 `reservation-mismatch`.
//! `DELETE` puts the stock back once (payment declined, checkout failed after reserving, order
//! cancelled); releasing again, or an order that holds nothing, is a harmless 204.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use kit::extract::{Json, Path};
use kit::{ApiError, Problem};

use crate::catalog::{Held, ReserveError};
use crate::model::{OrderId, Reservation};
use crate::startup::AppState;

impl ApiError for ReserveError {
    fn problem(&self) -> Problem {
        match self {
            Self::Invalid(invalid) => invalid.problem(),
            Self::Short(lines) => {
                let mut problem = Problem::new(StatusCode::CONFLICT)
                    .kind("insufficient-stock")
                    .detail("Some lines cannot be held: nothing was reserved.");
                for (i, variant, stock) in lines {
                    problem = match stock {
                        Some(stock) => problem.field(
                            format!("lines[{i}]"),
                            format!("only {stock} of variant {variant} left"),
                        ),
                        None => problem.field(
                            format!("lines[{i}].variant_id"),
                            format!("{variant} is not a variant"),
                        ),
                    };
                }
                problem
            }
            Self::Mismatch => Problem::new(StatusCode::CONFLICT)
                .kind("reservation-mismatch")
                .detail("This order already holds other lines: an order's lines cannot change."),
            Self::Released => Problem::new(StatusCode::CONFLICT)
                .kind("reservation-released")
                .detail("This order's stock was released: check out again as a new order."),
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

/// Holds stock for an order: all lines or none.
#[utoipa::path(post, path = "/v1/stock-reservations", tag = "reservations",
    request_body = Reservation,
    responses(
        (status = 201, description = "Held now", body = Reservation),
        (status = 200, description = "Already held for this order (a retry)", body = Reservation),
        (status = 409, description = "Not enough stock for a line, or the order holds other lines or released them", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid lines, each named", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "reserve_stock", skip_all, fields(order = %request.order_id))]
pub async fn reserve(
    State(state): State<AppState>,
    Json(request): Json<Reservation>,
) -> kit::Result<Response, ReserveError> {
    let status = match state.catalog.reserve(&request).await? {
        Held::Now => StatusCode::CREATED,
        Held::Already => StatusCode::OK,
    };
    Ok((status, Json(request)).into_response())
}

/// Puts back what an order holds (once; again is harmless).
#[utoipa::path(delete, path = "/v1/stock-reservations/{order}", tag = "reservations",
    params(("order" = OrderId, Path, description = "The order whose stock to release")),
    responses((status = 204, description = "Nothing is held for the order any more")))]
#[tracing::instrument(name = "release_stock", skip_all, fields(order = %order))]
pub async fn release(
    State(state): State<AppState>,
    Path(order): Path<OrderId>,
) -> kit::Result<StatusCode, ReserveError> {
    let released = state.catalog.release(order).await?;
    tracing::info!(released, "stock released");
    Ok(StatusCode::NO_CONTENT)
}
