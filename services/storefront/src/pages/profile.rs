//! The signed-in shopper's account: `GET /account` (profile and saved addresses),
//! `POST /account/profile`, `POST /account/addresses` (add) and
//! `POST /account/addresses/{id}/delete`.

use askama::Template;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::SignedCookieJar;
use serde::Deserialize;
use uuid::Uuid;

use super::checkout::{AddressFields, one_line};
use super::{CsrfForm, Layout, Notice, PageError, field_problems, layout, render};
use crate::api::Profile;
use crate::session::{Posted, Session};
use crate::startup::AppState;

/// A saved address in the list.
pub struct AddressRow {
    pub id: Uuid,
    pub label: String,
    pub text: String,
    pub is_default: bool,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    layout: Layout,
    email: String,
    display_name: String,
    phone: String,
    addresses: Vec<AddressRow>,
    form: AddressFields,
    fields_required: bool,
    new_default: bool,
    profile_errors: Vec<String>,
    address_errors: Vec<String>,
}

/// What the page shows again after a form was refused.
#[derive(Default)]
struct Retry {
    profile: Option<(ProfileForm, Vec<String>)>,
    address: Option<(AddressForm, Vec<String>)>,
}

async fn page(
    state: &AppState,
    session: &Session,
    jar: &SignedCookieJar,
    notice: Option<&str>,
    retry: Retry,
) -> Result<Response, PageError> {
    let caller = session.caller();
    let profile: Profile = state.api.profile(&caller).await?;
    let addresses = state.api.addresses(&caller).await?;
    let layout = layout(state, session, jar, "Your account", notice, None).await?;
    let refused = retry.profile.is_some() || retry.address.is_some();
    let (display_name, phone, profile_errors) = match retry.profile {
        Some((form, errors)) => (form.display_name, form.phone, errors),
        None => (profile.display_name, profile.phone, Vec::new()),
    };
    let (form, new_default, address_errors) = match retry.address {
        Some((form, errors)) => (form.fields, form.is_default.is_some(), errors),
        None => (AddressFields::default(), false, Vec::new()),
    };
    let page = ProfilePage {
        layout,
        email: profile.email,
        display_name,
        phone,
        addresses: addresses
            .iter()
            .map(|a| AddressRow {
                id: a.id,
                label: a.label.clone(),
                text: one_line(&a.address),
                is_default: a.is_default,
            })
            .collect(),
        form,
        fields_required: true,
        new_default,
        profile_errors,
        address_errors,
    };
    let status = if refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, render(&page)).into_response())
}

/// The account page.
#[tracing::instrument(name = "account", skip_all)]
pub async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Query(query): Query<Notice>,
) -> Result<Response, PageError> {
    session.require_user("/account")?;
    page(
        &state,
        &session,
        &jar,
        query.notice.as_deref(),
        Retry::default(),
    )
    .await
}

/// The profile form.
#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub phone: String,
}

/// Saves the display name and phone number.
#[tracing::instrument(name = "save_profile", skip_all)]
pub async fn save_profile(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Posted(form): Posted<ProfileForm>,
) -> Result<Response, PageError> {
    session.require_user("/account")?;
    let saved = state
        .api
        .update_profile(
            &session.caller(),
            form.display_name.trim(),
            form.phone.trim(),
        )
        .await;
    match saved {
        Ok(_) => Ok(Redirect::to("/account?notice=profile-saved").into_response()),
        Err(error) if error.status().is_some() => {
            let errors = field_problems(&error);
            let retry = Retry {
                profile: Some((form, errors)),
                ..Retry::default()
            };
            page(&state, &session, &jar, None, retry).await
        }
        Err(error) => Err(error.into()),
    }
}

/// The new address form.
#[derive(Debug, Deserialize)]
pub struct AddressForm {
    #[serde(flatten)]
    pub fields: AddressFields,
    /// A checkbox: present when ticked.
    pub is_default: Option<String>,
}

/// Saves a new address.
#[tracing::instrument(name = "add_address", skip_all)]
pub async fn add_address(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Posted(form): Posted<AddressForm>,
) -> Result<Response, PageError> {
    session.require_user("/account")?;
    let added = state
        .api
        .add_address(
            &session.caller(),
            &form.fields.label(),
            &form.fields.address(),
            form.is_default.is_some(),
        )
        .await;
    match added {
        Ok(_) => Ok(Redirect::to("/account?notice=address-added").into_response()),
        Err(error) if error.status().is_some() => {
            let errors = field_problems(&error);
            let retry = Retry {
                address: Some((form, errors)),
                ..Retry::default()
            };
            page(&state, &session, &jar, None, retry).await
        }
        Err(error) => Err(error.into()),
    }
}

/// Deletes a saved address (one already gone is gone all the same).
#[tracing::instrument(name = "delete_address", skip_all)]
pub async fn delete_address(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Posted(CsrfForm {}): Posted<CsrfForm>,
) -> Result<Response, PageError> {
    session.require_user("/account")?;
    let id = id.parse::<Uuid>().map_err(|_| PageError::NotFound)?;
    match state.api.delete_address(&session.caller(), id).await {
        Ok(()) => Ok(Redirect::to("/account?notice=address-deleted").into_response()),
        Err(e) if e.is_not_found() => {
            Ok(Redirect::to("/account?notice=address-deleted").into_response())
        }
        Err(e) => Err(e.into()),
    }
}
