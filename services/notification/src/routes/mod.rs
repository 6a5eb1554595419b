//! The HTTP API, one module per resource. Each handler documents itself with
//! `#[utoipa::path]` and is listed in [`ApiDoc`], served at `/openapi.json`.

use axum::Router;
use kit::openapi::Conventions;
use utoipa::OpenApi;

use crate::startup::AppState;

/// The OpenAPI document of this service.
#[derive(OpenApi)]
#[openapi(
    info(title = "notification", description = "E-mails for order and account events"),
    modifiers(&Conventions)
)]
pub struct ApiDoc;

/// Routes of this service's API.
pub fn router() -> Router<AppState> {
    Router::new()
}
