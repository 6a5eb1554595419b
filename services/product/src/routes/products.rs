//! `/v1/products`: browse, search and read the catalog; admins create, replace, take off sale and
//! restock products.
//!
//! Reads are public and cached. A product read carries an `ETag` (its version) and answers 304 to
//! a matching `If-None-Match`. A replacement must name the version it replaces in `If-Match`: 428
//! without one, 412 when the product changed since (two admins cannot overwrite each other).
//! Inactive products are visible to admins only; to everyone else they do not exist.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kit::auth::{Admin, MaybeUser};
use kit::extract::{IfMatch, Json, Path, Query};
use kit::pagination::{Page, Paginated};
use kit::validate::{Invalid, fields};
use kit::{ApiError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::catalog::WriteError;
use crate::domain::{MAX_PRICE, Slug};
use crate::model::{Product, ProductId, ProductInput, ProductPage, StockAdjustment};
use crate::search;
use crate::startup::AppState;
use crate::storage::{self, ListQuery, Sort, SortKey};

/// Why a product request failed.
#[derive(Debug, thiserror::Error)]
pub enum ProductError {
    #[error("no such product")]
    NotFound,
    #[error("invalid query")]
    Query(#[source] Invalid),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("product request failed")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError for ProductError {
    fn problem(&self) -> Problem {
        match self {
            Self::NotFound => Problem::new(StatusCode::NOT_FOUND)
                .kind("not-found")
                .detail("There is no such product."),
            Self::Query(invalid) => {
                let mut problem = Problem::new(StatusCode::BAD_REQUEST)
                    .kind("invalid-query")
                    .detail("Some query parameters are invalid.");
                problem.errors = invalid.fields.clone();
                problem
            }
            Self::Write(error) => super::write_problem(error),
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

impl From<Invalid> for ProductError {
    fn from(invalid: Invalid) -> Self {
        Self::Write(WriteError::Invalid(invalid))
    }
}

/// Filters, search, order and page of a product list.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only products of this category (its slug).
    #[param(example = "mugs")]
    pub category: Option<String>,
    /// Words to search for, typos forgiven (`mgu` finds mugs).
    #[param(example = "blue mug", max_length = 200)]
    pub q: Option<String>,
    /// Lowest price, minor units (of the lowest-priced variant).
    #[param(minimum = 0, maximum = 100_000_000)]
    pub min_price: Option<i64>,
    /// Highest price, minor units.
    #[param(minimum = 0, maximum = 100_000_000)]
    pub max_price: Option<i64>,
    /// Only products with (or without) a variant in stock.
    pub in_stock: Option<bool>,
    /// Only featured products.
    pub featured: Option<bool>,
    /// Order: `relevance` (best match with `q`; featured, then newest, without), `price_asc`,
    /// `price_desc`, `name`, `newest`.
    pub sort: Option<Sort>,
    /// Page size.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Where the page starts: a `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// Lists and searches active products.
#[utoipa::path(get, path = "/v1/products", tag = "products", params(ListParams),
    responses((status = 200, description = "A page of products", body = ProductPage)))]
#[tracing::instrument(name = "list_products", skip_all)]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> kit::Result<Json<ProductPage>, ProductError> {
    let money = |field: Option<i64>| match field {
        Some(v) if !(0..=MAX_PRICE).contains(&v) => {
            Err(format!("must be between 0 and {MAX_PRICE}"))
        }
        other => Ok(other),
    };
    let q = params.q.as_deref();
    let checked = fields((
        ("min_price", money(params.min_price)),
        ("max_price", money(params.max_price)),
        (
            "q",
            match q {
                Some(q) if q.chars().count() > 200 => Err("must be at most 200 characters"),
                other => Ok(other
                    .map(str::trim)
                    .filter(|q| !q.is_empty())
                    .map(str::to_owned)),
            },
        ),
    ));
    let page = Page::<SortKey>::parse(params.limit, params.cursor.as_deref());
    let ((min_price, max_price, q), page) = match (checked, page) {
        (Ok(checked), Ok(page)) => (checked, page),
        (checked, page) => {
            let fields = checked
                .err()
                .into_iter()
                .chain(page.err())
                .flat_map(|invalid| invalid.fields)
                .collect();
            return Err(ProductError::Query(Invalid { fields }).into());
        }
    };
    let sort = params.sort.unwrap_or_default();
    if let Some(after) = &page.after {
        let matches = matches!(
            (after, sort),
            (SortKey::Price(..), Sort::PriceAsc | Sort::PriceDesc)
                | (SortKey::Name(..), Sort::Name)
                | (SortKey::Newest(..), Sort::Newest)
                | (SortKey::Rank(..), Sort::Relevance)
        );
        if !matches {
            return Err(ProductError::Query(Invalid::field(
                "cursor",
                "belongs to a list in another order",
            ))
            .into());
        }
    }
    // A category slug that cannot exist matches nothing; no need to ask the database.
    let category = params.category.clone();
    if category.as_deref().is_some_and(|c| Slug::parse(c).is_err()) {
        return Ok(Json(ProductPage {
            items: Vec::new(),
            next_cursor: None,
            corrected_query: None,
        }));
    }
    let key = serde_json::to_string(&(&params, "v1")).map_err(anyhow::Error::from)?;
    let db = state.catalog.db().clone();
    let product_page = state
        .catalog
        .list(&format!("products:{key}"), || async move {
            let search = match &q {
                Some(q) => Some(search::prepare(&db, q).await?),
                None => None,
            };
            let query = ListQuery {
                category,
                tsquery: search.as_ref().and_then(|s| s.tsquery.clone()),
                text: search.as_ref().map(|s| s.text.clone()),
                min_price,
                max_price,
                in_stock: params.in_stock,
                featured: params.featured,
                sort,
                after: page.after.clone(),
                fetch: page.fetch(),
            };
            let rows = storage::list(&db, &query).await?;
            let paged = Paginated::from_rows(rows, page.limit, |(_, key)| key.clone());
            Ok(ProductPage {
                items: paged
                    .items
                    .into_iter()
                    .map(|(summary, _)| summary)
                    .collect(),
                next_cursor: paged.next_cursor,
                corrected_query: search.and_then(|s| s.corrected),
            })
        })
        .await?;
    Ok(Json(product_page))
}

/// A product answer: the product, its `ETag`, revalidated on every use.
fn product_response(status: StatusCode, product: &Product) -> Response {
    let location = format!("/v1/products/{}", product.id);
    kit::extract::versioned(status, product, product.version, &location)
}

/// Whether an `If-None-Match` header matches `etag` (a list of tags, or `*`).
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// Reads a product by id or slug.
#[utoipa::path(get, path = "/v1/products/{product}", tag = "products",
    params(
        ("product" = String, Path, description = "The product's id or slug", example = "blue-mug"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier read: 304 when it is still current"),
    ),
    responses(
        (status = 200, description = "The product", body = Product,
            headers(("ETag" = String, description = "The product's version"))),
        (status = 304, description = "Not modified since the ETag sent"),
        (status = 401, description = "A token was sent and is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product (or not for sale)", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "get_product", skip_all, fields(product = %key))]
pub async fn get(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> kit::Result<Response, ProductError> {
    let product = match key.parse::<ProductId>() {
        Ok(id) => state.catalog.product_json(id).await?,
        Err(_) => state.catalog.product_json_by_slug(&key).await?,
    }
    .ok_or(ProductError::NotFound)?;
    if !product.active && !user.as_ref().is_some_and(kit::auth::User::is_admin) {
        return Err(ProductError::NotFound.into());
    }
    let etag = HeaderValue::from_str(&product.etag()).map_err(anyhow::Error::from)?;
    if none_match(&headers, etag.to_str().unwrap_or_default()) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    // The cached representation is the body, as it is.
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        product.body,
    )
        .into_response())
}

/// Creates a product with its variants (admins only).
#[utoipa::path(post, path = "/v1/products", tag = "products", request_body = ProductInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Product,
            headers(("ETag" = String), ("Location" = String))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug or a SKU is taken", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "create_product", skip_all, fields(admin = %admin.id))]
pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Json(body): Json<ProductInput>,
) -> kit::Result<Response, ProductError> {
    let product = state
        .catalog
        .create(body)
        .await
        .map_err(ProductError::Write)?;
    tracing::info!(product = %product.id, slug = %product.slug, "product created");
    Ok(product_response(StatusCode::CREATED, &product))
}

/// Replaces a product (admins only): send its `ETag` in `If-Match`.
#[utoipa::path(put, path = "/v1/products/{product}", tag = "products", request_body = ProductInput,
    security(("bearer" = [])),
    params(
        ("product" = ProductId, Path, description = "The product's id"),
        ("If-Match" = String, Header, description = "The ETag of the version being replaced (or `*`)"),
    ),
    responses(
        (status = 200, description = "Replaced", body = Product, headers(("ETag" = String))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug or a SKU is taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The product changed since that ETag", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "replace_product", skip_all, fields(admin = %admin.id, product = %id))]
pub async fn replace(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<ProductId>,
    IfMatch(version): IfMatch,
    Json(body): Json<ProductInput>,
) -> kit::Result<Response, ProductError> {
    let version = match version {
        Some(version) => version,
        None => {
            state
                .catalog
                .product(id)
                .await?
                .ok_or(ProductError::NotFound)?
                .version
        }
    };
    let product = state
        .catalog
        .replace(id, version, body)
        .await
        .map_err(ProductError::Write)?;
    tracing::info!(version = product.version, "product replaced");
    Ok(product_response(StatusCode::OK, &product))
}

/// Takes a product off sale (admins only; idempotent).
#[utoipa::path(post, path = "/v1/products/{product}/deactivate", tag = "products",
    security(("bearer" = [])),
    params(("product" = ProductId, Path, description = "The product's id")),
    responses(
        (status = 200, description = "Not for sale any more", body = Product),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "deactivate_product", skip_all, fields(admin = %admin.id, product = %id))]
pub async fn deactivate(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<ProductId>,
) -> kit::Result<Response, ProductError> {
    let product = state
        .catalog
        .deactivate(id)
        .await
        .map_err(ProductError::Write)?;
    tracing::info!("product deactivated");
    Ok(product_response(StatusCode::OK, &product))
}

/// Adds to or takes from a variant's stock (admins only); never below zero.
#[utoipa::path(post, path = "/v1/products/{product}/stock", tag = "products",
    request_body = StockAdjustment, security(("bearer" = [])),
    params(("product" = ProductId, Path, description = "The product's id")),
    responses(
        (status = 200, description = "Adjusted", body = Product),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such variant of that product", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The stock would go below zero", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "adjust_stock", skip_all, fields(admin = %admin.id, product = %id))]
pub async fn adjust_stock(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<ProductId>,
    Json(body): Json<StockAdjustment>,
) -> kit::Result<Response, ProductError> {
    let product = state
        .catalog
        .adjust_stock(id, body.variant_id, body.delta)
        .await
        .map_err(ProductError::Write)?;
    tracing::info!(variant = %body.variant_id, delta = body.delta, "stock adjusted");
    Ok(product_response(StatusCode::OK, &product))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_wildcards() {
        let mut headers = HeaderMap::new();
        assert!(!none_match(&headers, "\"3\""));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"2\", W/\"3\""),
        );
        assert!(none_match(&headers, "\"3\""));
        assert!(!none_match(&headers, "\"4\""));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(none_match(&headers, "\"4\""));
    }
}
