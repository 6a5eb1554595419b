//! The HTTP API, one module per resource. Each handler documents itself with
//! `#[utoipa::path]` and is listed in [`ApiDoc`], served at `/openapi.json`.
//!
//! | route | module |
//! |---|---|
//! | `POST /v1/auth/signup` | [`signup`] |
//! | `POST /v1/auth/signin` | [`signin`] |
//! | `POST /v1/auth/refresh` | [`refresh`] |
//! | `POST /v1/auth/signout` | [`signout`] |
//! | `GET /v1/auth/me` | [`me`] |
//! | `GET /.well-known/jwks.json` | [`jwks`] |

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kit::openapi::Conventions;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::startup::AppState;

pub mod jwks;
pub mod me;
pub mod refresh;
pub mod signin;
pub mod signout;
pub mod signup;

/// The OpenAPI document of this service.
#[derive(OpenApi)]
#[openapi(
    info(title = "auth", description = "Sign-up, sign-in, JWT access tokens, rotating refresh tokens, JWKS, roles"),
    paths(signup::signup, signin::signin, refresh::refresh, signout::signout, me::me, jwks::jwks),
    components(schemas(kit::jwt::Role, kit::jwt::Jwks, kit::jwt::Jwk, TokenResponse)),
    modifiers(&Conventions),
    tags((name = "auth", description = "Accounts, sessions and tokens"))
)]
pub struct ApiDoc;

/// Routes of this service's API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/signup", post(signup::signup))
        .route("/v1/auth/signin", post(signin::signin))
        .route("/v1/auth/refresh", post(refresh::refresh))
        .route("/v1/auth/signout", post(signout::signout))
        .route("/v1/auth/me", get(me::me))
        .route("/.well-known/jwks.json", get(jwks::jwks))
}

/// A new session's tokens (sign-in and refresh). `Debug` leaves the tokens out.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
    /// Opaque; exchange it at `/v1/auth/refresh` for new tokens. Single use.
    pub refresh_token: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

impl TokenResponse {
    pub fn bearer(access_token: String, expires_in: u64, refresh_token: String) -> Self {
        Self {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in,
            refresh_token,
        }
    }
}

impl IntoResponse for TokenResponse {
    /// Tokens must not be cached by anything between the client and us (RFC 6749, 5.1).
    fn into_response(self) -> Response {
        let mut response = axum::Json(self).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}
