//! The gateway's own OpenAPI document. It has no API of its own: every path under a route
//! prefix of platform.toml goes to the service that declares it (`crate::proxy`), whose own
//! `/openapi.json` documents it. The responses the gateway makes itself (404 without a route,
//! 401, 413, 429, 502, 504) are problem documents.

use kit::openapi::Conventions;
use utoipa::OpenApi;

/// The OpenAPI document of this service.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "api-gateway",
        description = "Single API entry: routes by prefix, verifies JWTs against auth's JWKS, rate limits. Each service documents its own paths."
    ),
    modifiers(&Conventions)
)]
pub struct ApiDoc;
