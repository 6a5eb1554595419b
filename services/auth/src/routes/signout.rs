//! `POST /v1/auth/signout`: ends a session by revoking its refresh token family.
//!
//! Idempotent: an unknown, malformed or already revoked token also answers 204, so the endpoint
//! says nothing about which tokens exist. Access tokens already issued stay valid until they
//! expire (at most `AUTH_ACCESS_TOKEN_TTL`); clients drop them on sign-out.

use anyhow::Context as _;
use axum::extract::State;
use axum::http::StatusCode;
use kit::extract::Json;
use kit::{ApiError, Problem};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::RefreshToken;
use crate::startup::AppState;
use crate::storage;

/// Body of `POST /v1/auth/signout`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignoutRequest {
    #[schema(value_type = String)]
    pub refresh_token: SecretString,
}

/// Why a sign-out failed.
#[derive(Debug, thiserror::Error)]
pub enum SignoutError {
    #[error("sign-out failed")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError for SignoutError {
    fn problem(&self) -> Problem {
        match self {
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

/// Revokes the session a refresh token belongs to.
#[utoipa::path(
    post,
    path = "/v1/auth/signout",
    tag = "auth",
    request_body = SignoutRequest,
    responses(
        (status = 204, description = "Signed out (also when the token was unknown or already revoked)"),
    )
)]
#[tracing::instrument(name = "signout", skip_all, fields(revoked = tracing::field::Empty))]
pub async fn signout(
    State(state): State<AppState>,
    Json(body): Json<SignoutRequest>,
) -> kit::Result<StatusCode, SignoutError> {
    if let Some(token) = RefreshToken::parse(&body.refresh_token) {
        let revoked = storage::revoke_family_of(&state.db, &token.hash())
            .await
            .context("cannot revoke refresh tokens")?;
        tracing::Span::current().record("revoked", revoked);
    }
    Ok(StatusCode::NO_CONTENT)
}
