//! `/v1/users/me`: the signed-in user's profile and saved addresses, and erasing the account.
//! Only ever one's own: another user's address id is 404, never 403, so ids do not leak.

use axum::extract::State;
use axum::http::StatusCode;
use kit::auth::User;
use kit::extract::{Json, Path};
use kit::{ApiError, Problem};

use crate::profiles::{
    self, AddressId, AddressInput, Profile, ProfileError, ProfileInput, SavedAddress,
};
use crate::startup::AppState;

impl ApiError for ProfileError {
    fn problem(&self) -> Problem {
        match self {
            Self::Invalid(invalid) => invalid.problem(),
            Self::NotFound => Problem::new(StatusCode::NOT_FOUND)
                .kind("not-found")
                .detail("You have no such address."),
            Self::Erased => Problem::new(StatusCode::NOT_FOUND)
                .kind("erased")
                .detail("This account was erased."),
            Self::TooMany => Problem::new(StatusCode::CONFLICT)
                .kind("too-many-addresses")
                .detail(format!(
                    "You can save at most {} addresses: delete one first.",
                    profiles::MAX_ADDRESSES
                )),
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

/// The signed-in user's profile.
#[utoipa::path(get, path = "/v1/users/me", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile", body = Profile),
        (status = 404, description = "The account was erased", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "get_profile", skip_all, fields(user = %user.id))]
pub async fn get(
    State(state): State<AppState>,
    user: User,
) -> kit::Result<Json<Profile>, ProfileError> {
    Ok(Json(
        profiles::get(&state.platform.db, user.id, &user.email).await?,
    ))
}

/// Changes the display name and phone number.
#[utoipa::path(put, path = "/v1/users/me", tag = "me", security(("bearer" = [])),
    request_body = ProfileInput,
    responses(
        (status = 200, description = "The profile", body = Profile),
        (status = 404, description = "The account was erased", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "update_profile", skip_all, fields(user = %user.id))]
pub async fn update(
    State(state): State<AppState>,
    user: User,
    Json(input): Json<ProfileInput>,
) -> kit::Result<Json<Profile>, ProfileError> {
    Ok(Json(
        profiles::update(&state.platform.db, user.id, &user.email, &input).await?,
    ))
}

/// Erases the account (GDPR): the profile and addresses are deleted here, and `user.erased` tells
/// every other service (auth deletes the credentials). Cannot be undone.
#[utoipa::path(delete, path = "/v1/users/me", tag = "me", security(("bearer" = [])),
    responses((status = 204, description = "Erased")))]
#[tracing::instrument(name = "erase_account", skip_all, fields(user = %user.id))]
pub async fn erase(
    State(state): State<AppState>,
    user: User,
) -> kit::Result<StatusCode, ProfileError> {
    profiles::erase(&state.platform.db, user.id).await?;
    tracing::info!("account erased");
    Ok(StatusCode::NO_CONTENT)
}

/// The saved addresses, the default first.
#[utoipa::path(get, path = "/v1/users/me/addresses", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The addresses", body = Vec<SavedAddress>),
        (status = 404, description = "The account was erased", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "list_addresses", skip_all, fields(user = %user.id))]
pub async fn addresses(
    State(state): State<AppState>,
    user: User,
) -> kit::Result<Json<Vec<SavedAddress>>, ProfileError> {
    Ok(Json(
        profiles::addresses(&state.platform.db, user.id, &user.email).await?,
    ))
}

/// Saves an address (the first, or one marked default, becomes the default).
#[utoipa::path(post, path = "/v1/users/me/addresses", tag = "me", security(("bearer" = [])),
    request_body = AddressInput,
    responses(
        (status = 201, description = "Saved", body = SavedAddress),
        (status = 404, description = "The account was erased", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too many addresses", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "add_address", skip_all, fields(user = %user.id))]
pub async fn add_address(
    State(state): State<AppState>,
    user: User,
    Json(input): Json<AddressInput>,
) -> kit::Result<(StatusCode, Json<SavedAddress>), ProfileError> {
    let saved = profiles::add(&state.platform.db, user.id, &user.email, &input).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// Deletes a saved address.
#[utoipa::path(delete, path = "/v1/users/me/addresses/{address}", tag = "me", security(("bearer" = [])),
    params(("address" = AddressId, Path, description = "The address's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such address of yours", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "remove_address", skip_all, fields(user = %user.id))]
pub async fn remove_address(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<AddressId>,
) -> kit::Result<StatusCode, ProfileError> {
    profiles::remove(&state.platform.db, user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
