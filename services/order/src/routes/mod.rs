//! The HTTP API, one module per resource. Each handler documents itself with
//! `#[utoipa::path]` and is listed in [`ApiDoc`], served at `/openapi.json`.
//!
//! | route | module |
//! |---|---|
//! | `POST /v1/orders` (checkout), `GET /v1/orders`, `GET /v1/orders/{order}`, `POST /v1/orders/{order}/cancel`, `POST /v1/orders/{order}/ship` (admins) | [`orders`] |

use axum::Router;
use axum::routing::{get, post};
use kit::openapi::Conventions;
use utoipa::OpenApi;

use crate::startup::AppState;

pub mod orders;

/// The OpenAPI document of this service.
#[derive(OpenApi)]
#[openapi(
    info(title = "order", description = "Checkout with idempotency keys, stock reservation, offers; order lifecycle"),
    paths(orders::checkout, orders::list, orders::get, orders::cancel, orders::ship),
    modifiers(&Conventions),
    tags((name = "orders", description = "Checkout and the order lifecycle")),
)]
pub struct ApiDoc;

/// Routes of this service's API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orders", get(orders::list).post(orders::checkout))
        .route("/v1/orders/{order}", get(orders::get))
        .route("/v1/orders/{order}/cancel", post(orders::cancel))
        .route("/v1/orders/{order}/ship", post(orders::ship))
}
