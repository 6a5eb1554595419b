//! The HTTP API, one module per resource. Each handler documents itself with
//! `#[utoipa::path]` and is listed in [`ApiDoc`], served at `/openapi.json`.
//!
//! | route | module |
//! |---|---|
//! | `GET /v1/categories`, `GET /v1/categories/{slug}`, `POST /v1/categories` | [`categories`] |
//! | `GET /v1/products`, `GET /v1/products/{product}`, `POST /v1/products`, `PUT /v1/products/{product}`, `POST /v1/products/{product}/deactivate`, `POST /v1/products/{product}/stock` | [`products`] |
//! | `GET /v1/variants` (for services that call product; not routed by the gateway) | [`variants`] |
//! | `POST /v1/stock-reservations`, `DELETE /v1/stock-reservations/{order}` (for order; not routed by the gateway) | [`reservations`] |

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use kit::Problem;
use kit::openapi::Conventions;
use utoipa::OpenApi;

use crate::catalog::WriteError;
use crate::startup::AppState;

pub mod categories;
pub mod products;
pub mod reservations;
pub mod variants;

/// The OpenAPI document of this service.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "product",
        description = "Catalog, categories, search, prices and stock with reservations"
    ),
    paths(
        categories::list,
        categories::get,
        categories::create,
        products::list,
        products::get,
        products::create,
        products::replace,
        products::deactivate,
        products::adjust_stock,
        variants::lookup,
        reservations::reserve,
        reservations::release,
    ),
    components(schemas(crate::storage::Sort)),
    modifiers(&Conventions),
    tags(
        (name = "categories", description = "What products are filed under"),
        (name = "products", description = "The catalog: browse, search, read; admins write"),
        (name = "variants", description = "Variants by id, for carts"),
        (name = "reservations", description = "Stock held for orders, for the order service"),
    )
)]
pub struct ApiDoc;

/// Routes of this service's API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/categories",
            get(categories::list).post(categories::create),
        )
        .route("/v1/categories/{slug}", get(categories::get))
        .route("/v1/products", get(products::list).post(products::create))
        .route(
            "/v1/products/{product}",
            get(products::get).put(products::replace),
        )
        .route(
            "/v1/products/{product}/deactivate",
            post(products::deactivate),
        )
        .route("/v1/products/{product}/stock", post(products::adjust_stock))
        .route("/v1/variants", get(variants::lookup))
        .route("/v1/stock-reservations", post(reservations::reserve))
        .route(
            "/v1/stock-reservations/{order}",
            axum::routing::delete(reservations::release),
        )
}

/// The problem of a refused catalog write.
pub fn write_problem(error: &WriteError) -> Problem {
    match error {
        WriteError::Invalid(invalid) => invalid.problem(),
        WriteError::NotFound => Problem::new(StatusCode::NOT_FOUND)
            .kind("not-found")
            .detail("There is no such product or variant."),
        WriteError::Stale => Problem::new(StatusCode::PRECONDITION_FAILED)
            .kind("stale")
            .detail(
                "The product changed since you read it: read it again and reapply your change.",
            ),
        WriteError::Taken(field) => Problem::new(StatusCode::CONFLICT)
            .kind("taken")
            .detail(format!(
                "This {field} is used by another product or category."
            ))
            .field(*field, "is taken"),
        WriteError::Short(stock) => Problem::new(StatusCode::CONFLICT)
            .kind("insufficient-stock")
            .detail(format!("The stock would go below zero; it is {stock}.")),
        WriteError::Unexpected(_) => Problem::internal(),
    }
}
