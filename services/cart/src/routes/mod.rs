//! The HTTP API, one module per resource. Each handler documents itself with
//! `#[utoipa::path]` and is listed in [`ApiDoc`], served at `/openapi.json`.
//!
//! | route | module |
//! |---|---|
//! | `GET, DELETE /v1/carts/{cart}`, `POST /v1/carts/{cart}/items`, `PUT, DELETE /v1/carts/{cart}/items/{variant_id}`, `POST /v1/carts/mine/merge` | [`carts`] |

use axum::Router;
use axum::routing::{get, post, put};
use kit::openapi::Conventions;
use utoipa::OpenApi;

use crate::startup::AppState;

pub mod carts;

/// The OpenAPI document of this service.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cart",
        description = "Carts per user or anonymous session, with TTL and merge on sign-in"
    ),
    paths(carts::get, carts::add, carts::set, carts::remove, carts::clear, carts::merge),
    components(schemas(carts::CartRef)),
    modifiers(&Conventions),
    tags((name = "carts", description = "A user's cart, or a guest's"))
)]
pub struct ApiDoc;

/// Routes of this service's API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/carts/mine/merge", post(carts::merge))
        .route("/v1/carts/{cart}", get(carts::get).delete(carts::clear))
        .route("/v1/carts/{cart}/items", post(carts::add))
        .route(
            "/v1/carts/{cart}/items/{variant_id}",
            put(carts::set).delete(carts::remove),
        )
}
