//! `POST /v1/auth/signin`: exchanges e-mail and password for an access token and a refresh token.
//!
//! Every failure that could tell an attacker whether an address has an account answers the same
//! 401: an unknown address, a wrong password, an address that cannot exist. An unknown address
//! still costs one Argon2id verification (against a dummy hash) so timing does not tell either.
//! Before any of that the attempt is counted per client IP and per account ([`crate::rate_limit`]);
//! over a limit the answer is 429 with `Retry-After`. A successful sign-in starts a new refresh
//! token family.

use anyhow::Context as _;
use axum::extract::State;
use axum::http::StatusCode;
use kit::extract::{ClientIp, Json};
use kit::{ApiError, Problem};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::TokenResponse;
use crate::domain::{Email, RefreshToken, password};
use crate::rate_limit::Limited;
use crate::startup::AppState;
use crate::storage;

/// Body of `POST /v1/auth/signin`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SigninRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum SigninError {
    #[error("wrong e-mail address or password")]
    InvalidCredentials,
    #[error("too many sign-in attempts")]
    RateLimited(Limited),
    #[error("sign-in failed")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError for SigninError {
    fn problem(&self) -> Problem {
        match self {
            Self::InvalidCredentials => Problem::new(StatusCode::UNAUTHORIZED)
                .kind("invalid-credentials")
                .detail("The e-mail address or the password is wrong."),
            Self::RateLimited(limited) => Problem::new(StatusCode::TOO_MANY_REQUESTS)
                .retry_after(limited.retry_after_secs)
                .kind("too-many-attempts")
                .detail("Too many sign-in attempts; try again later."),
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

/// Signs in with e-mail address and password.
#[utoipa::path(
    post,
    path = "/v1/auth/signin",
    tag = "auth",
    request_body = SigninRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Wrong e-mail address or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts; see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[tracing::instrument(name = "signin", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn signin(
    State(state): State<AppState>,
    ip: ClientIp,
    Json(body): Json<SigninRequest>,
) -> kit::Result<TokenResponse, SigninError> {
    let limiter = &state.signin_limiter;
    limiter
        .attempt_from(&ip.to_string())
        .await
        .context("cannot count sign-in attempt")?
        .map_err(limited("ip"))?;
    // An address that cannot be valid cannot have an account; no need to hash for it.
    let email = Email::parse(&body.email).map_err(|_| SigninError::InvalidCredentials)?;
    limiter
        .attempt_on(&email)
        .await
        .context("cannot count sign-in attempt")?
        .map_err(limited("account"))?;
    if body.password.expose_secret().chars().count() > password::MAX_CHARS {
        return Err(SigninError::InvalidCredentials.into());
    }

    let credentials = storage::find_credentials(&state.db, &email)
        .await
        .context("cannot look up account")?;
    let stored = credentials.as_ref().map(|c| c.password_hash.as_str());
    let matches = state.passwords.verify(&body.password, stored).await?;
    let user = match credentials {
        Some(credentials) if matches => credentials.user,
        _ => return Err(SigninError::InvalidCredentials.into()),
    };
    tracing::Span::current().record("user_id", tracing::field::display(user.id));
    if let Err(error) = limiter.succeeded(&email).await {
        tracing::warn!(error = %kit::problem::ErrorChain(&error), "cannot reset sign-in failures");
    }

    let refresh_token = RefreshToken::generate();
    let expires_at = chrono::Utc::now() + state.config.service.refresh_token_ttl;
    let mut conn = state
        .db
        .acquire()
        .await
        .context("cannot get a connection")?;
    storage::insert_refresh_token(
        &mut conn,
        &refresh_token.hash(),
        Uuid::new_v4(),
        user.id,
        expires_at,
    )
    .await
    .context("cannot store refresh token")?;
    let access_token = state.tokens.issue(&user)?;
    tracing::info!("signed in");
    Ok(TokenResponse::bearer(
        access_token,
        state.tokens.ttl_secs(),
        refresh_token.expose().to_owned(),
    ))
}

/// Logs which limit was reached and turns it into the error.
fn limited(which: &'static str) -> impl FnOnce(Limited) -> SigninError {
    move |limited| {
        tracing::info!(
            limit = which,
            retry_after_secs = limited.retry_after_secs,
            "sign-in rate limited"
        );
        SigninError::RateLimited(limited)
    }
}
