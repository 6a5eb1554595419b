//! The HTTP API, one module per resource. Each handler documents itself with
//! `#[utoipa::path]` and is listed in [`ApiDoc`], served at `/openapi.json`.
//!
//! | route | module |
//! |---|---|
//! | `POST /v1/orders` (checkout), `GET /v1/orders`, `GET /v1/orders/{order}`, `POST /v1/orders/{order}/cancel`, `POST /v1/orders/{order}/ship` (admins) | [`orders`] |
//! | `GET /v1/orders/payment-method`, `POST /v1/orders/payment-events` (the provider's signed webhook) | [`payments`] |

use axum::Router;
use axum::routing::{get, post};
use kit::openapi::Conventions;
use utoipa::OpenApi;

use crate::startup::AppState;

pub mod orders;
pub mod payments;

/// The OpenAPI document of this service.
#[derive(OpenApi)]
#[openapi(
    info(title = "order", description = "Checkout with idempotency keys, stock reservation, offers; order lifecycle"),
    paths(orders::checkout, orders::list, orders::get, orders::cancel, orders::ship, payments::method, payments::event),
    modifiers(&Conventions),
    tags(
        (name = "orders", description = "Checkout and the order lifecycle"),
        (name = "payments", description = "How the shop takes payment, and the provider's events"),
    ),
)]
pub struct ApiDoc;

/// Routes of this service's API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orders", get(orders::list).post(orders::checkout))
        .route("/v1/orders/payment-method", get(payments::method))
        .route("/v1/orders/payment-events", post(payments::event))
        .route("/v1/orders/{order}", get(orders::get))
        .route("/v1/orders/{order}/cancel", post(orders::cancel))
        .route("/v1/orders/{order}/ship", post(orders::ship))
}
