//! `POST /v1/auth/refresh`: exchanges a refresh token for a new access token and a new refresh
//! token.
//!
//! Refresh tokens are single use: the presented token is marked rotated and its successor joins
//! the same family ([`storage::rotate_refresh_token`]). Presenting a rotated token again means two
//! parties hold it, so the whole family is revoked and both must sign in again. Unknown, expired,
//! revoked and reused tokens all answer the same 401. The role and e-mail address in the new
//! access token are read from the database, so a role change takes effect at the next refresh.

use anyhow::Context as _;
use axum::extract::State;
use axum::http::StatusCode;
use kit::extract::Json;
use kit::{ApiError, Problem};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::TokenResponse;
use crate::domain::RefreshToken;
use crate::startup::AppState;
use crate::storage::{self, Rotation};

/// Body of `POST /v1/auth/refresh`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    #[schema(value_type = String)]
    pub refresh_token: SecretString,
}

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("unknown, expired or revoked refresh token")]
    Rejected,
    #[error("refresh token reused; family {family_id} of user {user_id} revoked")]
    Reused { user_id: Uuid, family_id: Uuid },
    #[error("refresh failed")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError for RefreshError {
    fn problem(&self) -> Problem {
        match self {
            Self::Rejected | Self::Reused { .. } => Problem::new(StatusCode::UNAUTHORIZED)
                .kind("invalid-refresh-token")
                .detail("The refresh token is not valid; sign in again."),
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

/// Rotates a refresh token.
#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens; the presented refresh token is used up", body = TokenResponse),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "refresh", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> kit::Result<TokenResponse, RefreshError> {
    let presented = RefreshToken::parse(&body.refresh_token).ok_or(RefreshError::Rejected)?;
    let next = RefreshToken::generate();
    let expires_at = chrono::Utc::now() + state.config.service.refresh_token_ttl;
    let rotation =
        storage::rotate_refresh_token(&state.db, &presented.hash(), &next.hash(), expires_at)
            .await
            .context("cannot rotate refresh token")?;
    let user = match rotation {
        Rotation::Rotated { user, .. } => user,
        Rotation::Reused { user_id, family_id } => {
            tracing::warn!(%user_id, %family_id, "refresh token reused; session family revoked");
            return Err(RefreshError::Reused { user_id, family_id }.into());
        }
        Rotation::Rejected => return Err(RefreshError::Rejected.into()),
    };
    tracing::Span::current().record("user_id", tracing::field::display(user.id));
    let access_token = state.tokens.issue(&user)?;
    Ok(TokenResponse::bearer(
        access_token,
        state.tokens.ttl_secs(),
        next.expose().to_owned(),
    ))
}
