//! The HTTP API, one module per resource. Each handler documents itself with
//! `#[utoipa::path]` and is listed in [`ApiDoc`], served at `/openapi.json`.
//!
//! | route | module |
//! |---|---|
//! | `GET`/`PUT`/`DELETE /v1/users/me`, `GET`/`POST /v1/users/me/addresses`, `DELETE /v1/users/me/addresses/{address}` | [`me`] |

use axum::Router;
use axum::routing::{delete, get};
use kit::openapi::Conventions;
use utoipa::OpenApi;

use crate::startup::AppState;

pub mod me;

/// The OpenAPI document of this service.
#[derive(OpenApi)]
#[openapi(
    info(title = "user", description = "Profiles and addresses"),
    paths(me::get, me::update, me::erase, me::addresses, me::add_address, me::remove_address),
    modifiers(&Conventions),
    tags((name = "me", description = "The signed-in user's profile and addresses")),
)]
pub struct ApiDoc;

/// Routes of this service's API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/users/me",
            get(me::get).put(me::update).delete(me::erase),
        )
        .route(
            "/v1/users/me/addresses",
            get(me::addresses).post(me::add_address),
        )
        .route(
            "/v1/users/me/addresses/{address}",
            delete(me::remove_address),
        )
}
