//! `/v1/categories`: the categories products are filed under. Anyone lists and reads them;
//! admins create them.

use axum::extract::State;
use axum::http::StatusCode;
use kit::auth::Admin;
use kit::extract::{Json, Path};
use kit::{ApiError, Problem};

use crate::catalog::WriteError;
use crate::model::{Category, NewCategory};
use crate::startup::AppState;
use crate::storage;

/// Why a category request failed.
#[derive(Debug, thiserror::Error)]
pub enum CategoryError {
    #[error("no such category")]
    NotFound,
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("category request failed")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError for CategoryError {
    fn problem(&self) -> Problem {
        match self {
            Self::NotFound => Problem::new(StatusCode::NOT_FOUND)
                .kind("not-found")
                .detail("There is no category with this slug."),
            Self::Write(error) => super::write_problem(error),
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

/// Every category, in the order the shop lists them.
#[utoipa::path(get, path = "/v1/categories", tag = "categories",
    responses((status = 200, description = "The categories", body = Vec<Category>)))]
#[tracing::instrument(name = "list_categories", skip_all)]
pub async fn list(
    State(state): State<AppState>,
) -> kit::Result<Json<Vec<Category>>, CategoryError> {
    let db = state.catalog.db().clone();
    let categories = state
        .catalog
        .list("categories", || async move {
            storage::categories(&db).await.map_err(anyhow::Error::from)
        })
        .await?;
    Ok(Json(categories))
}

/// One category.
#[utoipa::path(get, path = "/v1/categories/{slug}", tag = "categories",
    params(("slug" = String, Path, description = "The category's slug", example = "mugs")),
    responses(
        (status = 200, description = "The category", body = Category),
        (status = 404, description = "No such category", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "get_category", skip_all, fields(slug = %slug))]
pub async fn get(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> kit::Result<Json<Category>, CategoryError> {
    let category = storage::category_by_slug(state.catalog.db(), &slug)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or(CategoryError::NotFound)?;
    Ok(Json(category))
}

/// Creates a category (admins only).
#[utoipa::path(post, path = "/v1/categories", tag = "categories", request_body = NewCategory,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Category),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "create_category", skip_all, fields(admin = %admin.id))]
pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Json(body): Json<NewCategory>,
) -> kit::Result<(StatusCode, Json<Category>), CategoryError> {
    let category = state
        .catalog
        .create_category(body)
        .await
        .map_err(CategoryError::Write)?;
    tracing::info!(slug = %category.slug, "category created");
    Ok((StatusCode::CREATED, Json(category)))
}
