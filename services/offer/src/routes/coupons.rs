//! `/v1/offers/coupons`: admins create, read, replace (with `If-Match`) and deactivate coupons;
//! `/v1/offers/quote`: anyone prices a subtotal with a coupon (the cart), with a reason to show
//! when it does not apply.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kit::auth::{Admin, MaybeUser};
use kit::extract::{IfMatch, Json, Path};
use kit::{ApiError, Problem};

use crate::coupons::{self, CouponError};
use crate::model::{Coupon, CouponInput, Discount, Quote};
use crate::startup::AppState;

impl ApiError for CouponError {
    fn problem(&self) -> Problem {
        match self {
            Self::Invalid(invalid) => invalid.problem(),
            Self::NotFound => Problem::new(StatusCode::NOT_FOUND)
                .kind("not-found")
                .detail("There is no coupon with this code."),
            Self::Taken => Problem::new(StatusCode::CONFLICT)
                .kind("taken")
                .detail("Another coupon has this code.")
                .field("code", "is taken"),
            Self::Stale => Problem::new(StatusCode::PRECONDITION_FAILED)
                .kind("stale")
                .detail(
                    "The coupon changed since you read it: read it again and reapply your change.",
                ),
            // Unknown is a 404 like any missing resource; the rest are 422: the request is
            // well formed, the coupon does not apply. The detail is for the shopper.
            Self::Refused(refusal) => Problem::new(match refusal {
                crate::domain::Refusal::Unknown => StatusCode::NOT_FOUND,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            })
            .kind(refusal.kind())
            .detail(refusal.to_string()),
            Self::Mismatch => Problem::new(StatusCode::CONFLICT)
                .kind("redemption-mismatch")
                .detail("This order already redeemed another coupon or subtotal."),
            Self::Released => Problem::new(StatusCode::CONFLICT)
                .kind("redemption-released")
                .detail("This order's coupon use was given back: check out again as a new order."),
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

fn coupon_response(status: StatusCode, coupon: &Coupon) -> Response {
    let location = format!("/v1/offers/coupons/{}", coupon.code);
    kit::extract::versioned(status, coupon, coupon.version, &location)
}

/// Creates a coupon (admins only).
#[utoipa::path(post, path = "/v1/offers/coupons", tag = "coupons", security(("bearer" = [])),
    request_body = CouponInput,
    responses(
        (status = 201, description = "Created", body = Coupon, headers(("ETag" = String), ("Location" = String))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "create_coupon", skip_all, fields(admin = %admin.id))]
pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Json(input): Json<CouponInput>,
) -> kit::Result<Response, CouponError> {
    let coupon = coupons::create(&state.platform.db, &input).await?;
    tracing::info!(code = %coupon.code, "coupon created");
    Ok(coupon_response(StatusCode::CREATED, &coupon))
}

/// A coupon by code, with its uses (admins only).
#[utoipa::path(get, path = "/v1/offers/coupons/{code}", tag = "coupons", security(("bearer" = [])),
    params(("code" = String, Path, description = "The coupon's code (any case)")),
    responses(
        (status = 200, description = "The coupon", body = Coupon, headers(("ETag" = String))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such coupon", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "get_coupon", skip_all, fields(admin = %admin.id))]
pub async fn get(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(code): Path<String>,
) -> kit::Result<Response, CouponError> {
    let coupon = coupons::get(&state.platform.db, &code).await?;
    Ok(coupon_response(StatusCode::OK, &coupon))
}

/// Replaces a coupon (admins only): send its `ETag` in `If-Match`. Its limits may not fall below
/// the uses it already holds.
#[utoipa::path(put, path = "/v1/offers/coupons/{code}", tag = "coupons", security(("bearer" = [])),
    request_body = CouponInput,
    params(
        ("code" = String, Path, description = "The coupon's code (any case)"),
        ("If-Match" = String, Header, description = "The ETag of the version being replaced (or `*`)"),
    ),
    responses(
        (status = 200, description = "Replaced", body = Coupon, headers(("ETag" = String))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such coupon", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The new code is taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The coupon changed since that ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "replace_coupon", skip_all, fields(admin = %admin.id))]
pub async fn replace(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(code): Path<String>,
    IfMatch(version): IfMatch,
    Json(input): Json<CouponInput>,
) -> kit::Result<Response, CouponError> {
    let db = &state.platform.db;
    let version = match version {
        Some(version) => version,
        None => coupons::get(db, &code).await?.version,
    };
    let coupon = coupons::replace(db, &code, version, &input).await?;
    tracing::info!(code = %coupon.code, version = coupon.version, "coupon replaced");
    Ok(coupon_response(StatusCode::OK, &coupon))
}

/// Stops offering a coupon (admins only; idempotent). Redemptions already held stay.
#[utoipa::path(post, path = "/v1/offers/coupons/{code}/deactivate", tag = "coupons", security(("bearer" = [])),
    params(("code" = String, Path, description = "The coupon's code (any case)")),
    responses(
        (status = 200, description = "No longer offered", body = Coupon),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such coupon", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "deactivate_coupon", skip_all, fields(admin = %admin.id))]
pub async fn deactivate(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(code): Path<String>,
) -> kit::Result<Response, CouponError> {
    let coupon = coupons::deactivate(&state.platform.db, &code).await?;
    tracing::info!(code = %coupon.code, "coupon deactivated");
    Ok(coupon_response(StatusCode::OK, &coupon))
}

/// Prices a subtotal with a coupon: what it takes off now, or why it does not apply. A
/// signed-in shopper's own limit is checked too; nothing is held (checkout redeems).
#[utoipa::path(post, path = "/v1/offers/quote", tag = "coupons",
    request_body = Quote,
    responses(
        (status = 200, description = "The discount", body = Discount),
        (status = 404, description = "No coupon with this code (`coupon-unknown`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "It does not apply: `coupon-expired`, `coupon-not-started`, `coupon-used-up`, `coupon-limit-reached`, `coupon-below-minimum`, `coupon-currency`, `coupon-inactive`, or invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "quote", skip_all)]
pub async fn quote(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Json(quote): Json<Quote>,
) -> kit::Result<Json<Discount>, CouponError> {
    let discount = coupons::quote(&state.platform.db, &quote, user.map(|u| u.id)).await?;
    Ok(Json(discount))
}
