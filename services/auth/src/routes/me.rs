//! `GET /v1/auth/me`: the account an access token belongs to.
//!
//! The token is verified offline by [`kit::auth::User`] with the same key set published in the
//! JWKS, exactly as other services verify it; the account is then read fresh from the database,
//! so the answer shows the current role. A token for an account that no longer exists is a 401
//! like any other unusable token.

use anyhow::Context as _;
use axum::extract::State;
use axum::http::HeaderMap;
use kit::auth::{AuthError, User};
use kit::extract::Json;
use kit::jwt::JwtError;
use kit::{ApiError, Problem};

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

/// The same answer, header included, as for any other unusable token.
fn unknown_account() -> AuthError {
    AuthError::Invalid(JwtError::InvalidClaims("unknown account".into()))
}

impl ApiError for MeError {
    fn problem(&self) -> Problem {
        match self {
            Self::UnknownAccount => unknown_account().problem(),
            Self::Unexpected(_) => Problem::internal(),
        }
    }

    fn headers(&self) -> HeaderMap {
        match self {
            Self::UnknownAccount => unknown_account().headers(),
            Self::Unexpected(_) => HeaderMap::new(),
        }
    }
}

/// The signed-in account.
#[utoipa::path(
    get,
    path = "/v1/auth/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account of the access token", body = UserResponse),
    )
)]
#[tracing::instrument(name = "me", skip_all, fields(user_id = %caller.id))]
pub async fn me(
    State(state): State<AppState>,
    caller: User,
) -> kit::Result<Json<UserResponse>, MeError> {
    let user = storage::find_user(&state.db, caller.id)
        .await
        .context("cannot look up account")?
        .ok_or(MeError::UnknownAccount)?;
    Ok(Json(user.into()))
}
