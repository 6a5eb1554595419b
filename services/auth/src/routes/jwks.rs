//! `GET /.well-known/jwks.json`: the public keys that verify access tokens (RFC 7517).
//!
//! The current signing key comes first, then the previous ones still accepted during a rotation.
//! Verifiers cache the document for `max-age` and fetch it again when a token names a `kid` they
//! do not know.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kit::jwt::Jwks;

use crate::startup::AppState;

/// How long verifiers may cache the key set, in seconds.
pub const MAX_AGE_SECS: u32 = 300;

/// The JSON Web Key Set.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "auth",
    responses(
        (status = 200, description = "The Ed25519 public keys, current first", body = Jwks,
            headers(("Cache-Control" = String, description = "public, max-age=300"))),
    )
)]
#[tracing::instrument(name = "jwks", skip_all)]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = axum::Json(state.tokens.keys().jwks().clone()).into_response();
    let cache = format!("public, max-age={MAX_AGE_SECS}");
    if let Ok(value) = HeaderValue::from_str(&cache) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}
