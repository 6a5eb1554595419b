//! `GET /v1/variants?ids=...`: variants by id with what a cart needs of their products (name,
//! price, stock, whether they are for sale). Not routed by the gateway: services that declare
//! `calls = ["product"]` ask it directly.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Response};
use kit::extract::Query;
use kit::validate::Invalid;
use kit::{ApiError, Problem};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::model::{VariantDetails, VariantId};
use crate::startup::AppState;

/// Most variants asked for at once.
pub const MAX_IDS: usize = 100;

/// Why a variant lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum VariantsError {
    #[error("invalid ids")]
    Query(#[source] Invalid),
    #[error("variant lookup failed")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError for VariantsError {
    fn problem(&self) -> Problem {
        match self {
            Self::Query(invalid) => {
                let mut problem = Problem::new(axum::http::StatusCode::BAD_REQUEST)
                    .kind("invalid-query")
                    .detail("The ids are invalid.");
                problem.errors = invalid.fields.clone();
                problem
            }
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

/// Which variants.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VariantIds {
    /// Comma-separated variant ids (UUIDs), 1 to 100.
    #[param(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(,[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}){0,99}$"
    )]
    pub ids: String,
}

/// Variants by id; unknown ids are left out. Cached until the next catalog write: the body is
/// the cached JSON, sent as it is.
#[utoipa::path(get, path = "/v1/variants", tag = "variants", params(VariantIds),
    responses((status = 200, description = "The variants found", body = Vec<VariantDetails>)))]
#[tracing::instrument(name = "variants", skip_all)]
pub async fn lookup(
    State(state): State<AppState>,
    Query(query): Query<VariantIds>,
) -> kit::Result<Response, VariantsError> {
    let ids: Vec<VariantId> = query
        .ids
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| VariantsError::Query(Invalid::field("ids", "must be variant ids (UUIDs)")))?;
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(VariantsError::Query(Invalid::field(
            "ids",
            format!("must name 1 to {MAX_IDS} variants"),
        ))
        .into());
    }
    let variants = state.catalog.variants_json(&ids).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        variants,
    )
        .into_response())
}
