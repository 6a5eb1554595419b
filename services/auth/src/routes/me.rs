//! `GET /v1/auth/me`: the account an access token belongs to.
//!
//! The token is verified offline by [`kit::jwt::Authenticated`] with the same key set published
//! in the JWKS, exactly as other services verify it; the account is then read fresh from the
//! database, so the answer shows the current role. A token for an account that no longer exists
//! is a 401 like any other unusable token.

use anyhow::Context as _;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use kit::jwt::{Authenticated, JwtError, Unauthorized};
use kit::{ApiError, Problem, ValidJson};

use super::signup::UserResponse;
use crate::startup::AppState;
use crate::storage;

/// Why `/me` failed.
#[derive(Debug, thiserror::Error)]
pub enum MeError {
    #[error("the token's account does not exist")]
    UnknownAccount,
    #[error("cannot read the account")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError for MeError {
    fn problem(&self) -> Problem {
        match self {
            Self::UnknownAccount => unknown_account().problem(),
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

impl IntoResponse for MeError {
    fn into_response(self) -> Response {
        match self {
            // Same answer, header included, as for any other unusable token.
            Self::UnknownAccount => unknown_account().into_response(),
            other => other.into_problem_response(),
        }
    }
}

fn unknown_account() -> Unauthorized {
    Unauthorized::Invalid(JwtError::InvalidClaims("unknown account".into()))
}

/// The signed-in account.
#[utoipa::path(
    get,
    path = "/v1/auth/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account of the access token", body = UserResponse),
        (status = 401, description = "Missing, expired or invalid access token; see WWW-Authenticate", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge (RFC 6750)"))),
    )
)]
#[tracing::instrument(name = "me", skip_all, fields(user_id = %claims.sub))]
pub async fn me(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
) -> Result<ValidJson<UserResponse>, MeError> {
    let user = storage::find_user(&state.db, claims.sub)
        .await
        .context("cannot look up account")?
        .ok_or(MeError::UnknownAccount)?;
    Ok(ValidJson(user.into()))
}
