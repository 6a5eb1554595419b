//! `POST /v1/auth/signup`: creates a customer account and records `user.registered`.
//!
//! The e-mail address is normalised and the password checked against the policy (every invalid
//! field is reported at once, 422). The password is hashed with Argon2id before the transaction
//! opens; the user row and the outbox row are then written in one transaction, so the event is
//! published if and only if the account exists. A taken address is a 409 (the address is not
//! secret once it can be tried; e-mail verification, which would hide it, is future work).
//! Sign-ups are rate limited per client IP (429 with `Retry-After`), since each costs a hash.

use anyhow::Context as _;
use axum::extract::State;
use axum::http::StatusCode;
use events::user::UserRegistered;
use kit::extract::{ClientIp, Json};
use kit::jwt::Role;
use kit::validate::Invalid;
use kit::{ApiError, Problem};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{Email, NewPassword};
use crate::rate_limit::Limited;
use crate::startup::AppState;
use crate::storage::{self, User};

/// Body of `POST /v1/auth/signup`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupRequest {
    #[schema(example = "ada@example.com", format = Email, max_length = 254, pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    pub email: String,
    #[schema(schema_with = crate::domain::NewPassword::schema)]
    pub password: SecretString,
}

/// An account, as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserResponse {
    pub user_id: Uuid,
    /// The normalised e-mail address.
    pub email: String,
    pub role: Role,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            user_id: user.id,
            email: user.email,
            role: user.role,
        }
    }
}

/// Why a sign-up failed.
#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    #[error(transparent)]
    Validation(#[from] Invalid),
    #[error("the e-mail address is taken")]
    EmailTaken,
    #[error("too many sign-ups")]
    RateLimited(Limited),
    #[error("sign-up failed")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError for SignupError {
    fn problem(&self) -> Problem {
        match self {
            Self::Validation(invalid) => invalid.problem(),
            Self::EmailTaken => Problem::new(StatusCode::CONFLICT)
                .kind("email-taken")
                .detail("An account with this e-mail address already exists."),
            Self::RateLimited(limited) => Problem::new(StatusCode::TOO_MANY_REQUESTS)
                .retry_after(limited.retry_after_secs)
                .kind("too-many-attempts")
                .detail("Too many sign-ups from this address; try again later."),
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

/// Creates an account.
#[utoipa::path(
    post,
    path = "/v1/auth/signup",
    tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Account created", body = UserResponse),
        (status = 409, description = "E-mail address taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid e-mail address, or a password that breaks the policy (12 to 128 characters, not one repeated character, not a common password, not the e-mail address)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many sign-ups; see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[tracing::instrument(name = "signup", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn signup(
    State(state): State<AppState>,
    ip: ClientIp,
    Json(body): Json<SignupRequest>,
) -> kit::Result<(StatusCode, Json<UserResponse>), SignupError> {
    state
        .signin_limiter
        .signup_from(&ip.to_string())
        .await
        .context("cannot count sign-up")?
        .map_err(SignupError::RateLimited)?;
    let email = Email::parse(&body.email);
    let password = NewPassword::parse(body.password, email.as_ref().ok());
    let (email, password) = kit::validate::fields((("email", email), ("password", password)))?;
    let password_hash = state.passwords.hash(&password).await?;

    let id = Uuid::now_v7();
    tracing::Span::current().record("user_id", tracing::field::display(id));
    let mut tx = state.db.begin().await.context("cannot begin transaction")?;
    let user = storage::insert_user(&mut tx, id, &email, &password_hash)
        .await
        .context("cannot insert user")?
        .ok_or(SignupError::EmailTaken)?;
    let event = UserRegistered {
        user_id: user.id,
        email: user.email.clone(),
        role: user.role.as_str().to_owned(),
    };
    kit::outbox::enqueue(&mut tx, crate::platform::MANIFEST.name, event)
        .await
        .context("cannot enqueue user.registered")?;
    tx.commit().await.context("cannot commit sign-up")?;
    tracing::info!("account created");
    Ok((StatusCode::CREATED, Json(user.into())))
}
