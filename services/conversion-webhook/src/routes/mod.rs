//! The HTTP API, one module per resource. Each handler documents itself with
//! `#[utoipa::path]` and is listed in [`ApiDoc`], served at `/openapi.json`.

use axum::Router;
use kit::openapi::Conventions;
use utoipa::OpenApi;

use crate::startup::AppState;

/// The OpenAPI document of this service.
#[derive(OpenApi)]
#[openapi(
    info(title = "conversion-webhook", description = "Partner conversion postbacks, HMAC-signed with a replay window"),
    modifiers(&Conventions)
)]
pub struct ApiDoc;

/// Routes of this service's API.
pub fn router() -> Router<AppState> {
    Router::new()
}
