//! The HTTP API, one module per resource. Each handler documents itself with
//! `#[utoipa::path]` and is listed in [`ApiDoc`], served at `/openapi.json`.
//!
//! | route | module |
//! |---|---|
//! | `POST /v1/offers/coupons`, `GET`/`PUT /v1/offers/coupons/{code}`, `POST /v1/offers/coupons/{code}/deactivate` (admins), `POST /v1/offers/quote` | [`coupons`] |
//! | `POST /v1/coupon-redemptions`, `DELETE /v1/coupon-redemptions/{order}` (for order; not routed by the gateway) | [`redemptions`] |

use axum::Router;
use axum::routing::{delete, get, post};
use kit::openapi::Conventions;
use utoipa::OpenApi;

use crate::startup::AppState;

pub mod coupons;
pub mod redemptions;

/// The OpenAPI document of this service.
#[derive(OpenApi)]
#[openapi(
    info(title = "offer", description = "Coupons and promotions: validation, discounts, usage limits"),
    paths(
        coupons::create,
        coupons::get,
        coupons::replace,
        coupons::deactivate,
        coupons::quote,
        redemptions::redeem,
        redemptions::release,
    ),
    modifiers(&Conventions),
    tags(
        (name = "coupons", description = "Coupons: admins write them, shoppers price a subtotal with one"),
        (name = "redemptions", description = "Coupon uses held for orders, for the order service"),
    )
)]
pub struct ApiDoc;

/// Routes of this service's API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/offers/coupons", post(coupons::create))
        .route(
            "/v1/offers/coupons/{code}",
            get(coupons::get).put(coupons::replace),
        )
        .route(
            "/v1/offers/coupons/{code}/deactivate",
            post(coupons::deactivate),
        )
        .route("/v1/offers/quote", post(coupons::quote))
        .route("/v1/coupon-redemptions", post(redemptions::redeem))
        .route(
            "/v1/coupon-redemptions/{order}",
            delete(redemptions::release),
        )
}
