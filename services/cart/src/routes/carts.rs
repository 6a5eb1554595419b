//! `/v1/carts/{cart}`: a signed-in user's cart (`mine`, with the user's access token) or a
//! guest's (the anonymous cart id the storefront keeps in a signed cookie: a random UUID, so
//! holding it is the permission). Lines are changed atomically and bounded by stock; every answer
//! re-reads names and prices from product. `POST /v1/carts/mine/merge` moves a guest cart into
//! the user's at sign-in.

use std::collections::BTreeMap;

use anyhow::Context as _;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use events::cart::{CartMerged, ItemAdded, ItemRemoved};
use kit::auth::{AuthError, MaybeUser, User};
use kit::extract::{Json, Path};
use kit::validate::Invalid;
use kit::{ApiError, Problem};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalog::VariantInfo;
use crate::startup::AppState;
use crate::store::{Change, Lines, Owner};
use crate::view::Cart;

/// Why a cart request failed.
#[derive(Debug, thiserror::Error)]
pub enum CartError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("only {0} in stock")]
    OverStock(u32),
    #[error("the cart has too many lines")]
    TooManyLines,
    #[error("variant not for sale")]
    NotForSale,
    #[error("cart request failed")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError for CartError {
    fn problem(&self) -> Problem {
        match self {
            Self::Auth(auth) => auth.problem(),
            Self::Invalid(invalid) => invalid.problem(),
            Self::OverStock(cap) => Problem::new(StatusCode::CONFLICT)
                .kind("insufficient-stock")
                .detail(format!(
                    "There are not enough in stock: a cart may hold at most {cap} of this item."
                )),
            Self::TooManyLines => Problem::new(StatusCode::CONFLICT)
                .kind("cart-full")
                .detail("The cart has as many different items as it may hold."),
            Self::NotForSale => Problem::new(StatusCode::NOT_FOUND)
                .kind("not-for-sale")
                .detail("That product is not for sale: it does not exist or was taken off sale."),
            Self::Unexpected(_) => Problem::internal(),
        }
    }

    fn headers(&self) -> HeaderMap {
        match self {
            Self::Auth(auth) => auth.headers(),
            _ => HeaderMap::new(),
        }
    }
}

/// Whose cart a path names: `mine` (the signed-in user's) or a guest's anonymous cart id, in
/// the canonical UUID form. Anything else is a 400 from the path extractor.
#[derive(Debug, Clone, Copy)]
pub enum CartRef {
    Mine,
    Guest(Uuid),
}

impl<'de> Deserialize<'de> for CartRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if text == "mine" {
            return Ok(Self::Mine);
        }
        text.parse::<kit::id::Id<CartRef>>()
            .map(|id| Self::Guest(id.uuid()))
            .map_err(|_| {
                serde::de::Error::custom("must be `mine` or an anonymous cart id (a UUID)")
            })
    }
}

impl utoipa::PartialSchema for CartRef {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(
                "^(mine|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
            ))
            .description(Some(
                "`mine` (with a bearer token), or a guest's anonymous cart id (a UUID)",
            ))
            .into()
    }
}

impl ToSchema for CartRef {}

/// The owner a path names: `mine` needs the user's token.
fn owner(cart: CartRef, user: Option<&User>) -> Result<Owner, CartError> {
    match cart {
        CartRef::Mine => user
            .map(|u| Owner::User(u.id))
            .ok_or(CartError::Auth(AuthError::Missing)),
        CartRef::Guest(id) => Ok(Owner::Anonymous(id)),
    }
}

/// The view of a cart's current lines.
async fn view(state: &AppState, owner: Owner) -> Result<Cart, CartError> {
    let lines = state.carts.lines(owner).await.context("cannot read cart")?;
    render(state, &lines, BTreeMap::new()).await
}

/// The view of `lines`, with `known` variants (asking product for the others).
async fn render(
    state: &AppState,
    lines: &Lines,
    mut known: BTreeMap<Uuid, VariantInfo>,
) -> Result<Cart, CartError> {
    let missing: Vec<Uuid> = lines
        .keys()
        .filter(|id| !known.contains_key(id))
        .copied()
        .collect();
    if !missing.is_empty() {
        known.extend(
            state
                .catalog
                .variants(&missing)
                .await
                .context("cannot read the cart's products")?,
        );
    }
    Ok(Cart::of(lines, &known))
}

/// Before changing the line of `variant`: product's word on it and on every other line of the
/// cart, in one call, so the answer after the change needs no second one.
async fn before_change(
    state: &AppState,
    owner: Owner,
    variant: Uuid,
) -> Result<(Option<VariantInfo>, BTreeMap<Uuid, VariantInfo>), CartError> {
    let lines = state.carts.lines(owner).await.context("cannot read cart")?;
    let ids: Vec<Uuid> = lines
        .keys()
        .copied()
        .filter(|id| *id != variant)
        .chain([variant])
        .collect();
    let variants = state
        .catalog
        .variants(&ids)
        .await
        .context("cannot read the product")?;
    Ok((variants.get(&variant).cloned(), variants))
}

/// A quantity in a request: 1 (or 0, where allowed) to the configured maximum.
fn quantity(raw: i64, min: i64, max: u32) -> Result<u32, Invalid> {
    u32::try_from(raw)
        .ok()
        .filter(|q| i64::from(*q) >= min && *q <= max)
        .ok_or_else(|| Invalid::field("quantity", format!("must be between {min} and {max}")))
}

/// A cart.
#[utoipa::path(get, path = "/v1/carts/{cart}", tag = "carts",
    params(("cart" = CartRef, Path)),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The cart, with current prices (empty if it does not exist)", body = Cart),
        (status = 401, description = "`mine` without a valid token", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "get_cart", skip_all)]
pub async fn get(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(cart): Path<CartRef>,
) -> kit::Result<Json<Cart>, CartError> {
    let owner = owner(cart, user.as_ref())?;
    Ok(Json(view(&state, owner).await?))
}

/// What to add.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddItem {
    pub variant_id: Uuid,
    /// Units to add.
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: i64,
}

/// Adds units of a variant to a cart.
#[utoipa::path(post, path = "/v1/carts/{cart}/items", tag = "carts", request_body = AddItem,
    params(("cart" = CartRef, Path)),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The cart after the change", body = Cart),
        (status = 401, description = "`mine` without a valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The variant is not for sale (unknown or taken off sale)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not enough in stock, or the cart is full", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "add_item", skip_all, fields(variant = %body.variant_id))]
pub async fn add(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(cart): Path<CartRef>,
    Json(body): Json<AddItem>,
) -> kit::Result<Json<Cart>, CartError> {
    let owner = owner(cart, user.as_ref())?;
    let max = state.config.service.max_quantity;
    let units = quantity(body.quantity, 1, max)?;
    let (variant, known) = before_change(&state, owner, body.variant_id).await?;
    let variant = variant.filter(|v| v.active).ok_or(CartError::NotForSale)?;
    let (change, lines) = state
        .carts
        .add(owner, variant.id, units, variant.cap(max))
        .await
        .context("cannot change cart")?;
    let after = match change {
        Change::Done { after, .. } => after,
        Change::OverCap(_) => return Err(CartError::OverStock(variant.cap(max)).into()),
        Change::TooManyLines => return Err(CartError::TooManyLines.into()),
    };
    state.publish(ItemAdded {
        cart: owner.event_ref(),
        product_id: variant.product_id,
        variant_id: variant.id,
        added: units,
        quantity: after,
        unit_price: variant.price.amount,
        currency: variant.price.currency.code().to_owned(),
    });
    Ok(Json(render(&state, &lines, known).await?))
}

/// A line's new quantity.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetQuantity {
    /// Units; 0 removes the line.
    #[schema(minimum = 0, maximum = 99)]
    pub quantity: i64,
}

/// Sets the quantity of a line (0 removes it).
#[utoipa::path(put, path = "/v1/carts/{cart}/items/{variant_id}", tag = "carts",
    request_body = SetQuantity,
    params(
        ("cart" = CartRef, Path),
        ("variant_id" = Uuid, Path, description = "The line's variant"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The cart after the change", body = Cart),
        (status = 401, description = "`mine` without a valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The variant is not for sale (unknown or taken off sale)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not enough in stock, or the cart is full", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "set_quantity", skip_all, fields(variant = %variant_id))]
pub async fn set(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path((cart, variant_id)): Path<(CartRef, Uuid)>,
    Json(body): Json<SetQuantity>,
) -> kit::Result<Json<Cart>, CartError> {
    let owner = owner(cart, user.as_ref())?;
    let max = state.config.service.max_quantity;
    let units = quantity(body.quantity, 0, max)?;
    let (variant, known) = before_change(&state, owner, variant_id).await?;
    let cap = variant.as_ref().map_or(0, |v| v.cap(max));
    if units > 0 && variant.as_ref().is_none_or(|v| !v.active) {
        return Err(CartError::NotForSale.into());
    }
    let (change, lines) = state
        .carts
        .set(owner, variant_id, units, cap)
        .await
        .context("cannot change cart")?;
    let before = match change {
        Change::Done { before, .. } => before,
        Change::OverCap(_) => return Err(CartError::OverStock(cap).into()),
        Change::TooManyLines => return Err(CartError::TooManyLines.into()),
    };
    state.publish_change(owner, variant.as_ref(), variant_id, before, units);
    Ok(Json(render(&state, &lines, known).await?))
}

/// Removes a line.
#[utoipa::path(delete, path = "/v1/carts/{cart}/items/{variant_id}", tag = "carts",
    params(
        ("cart" = CartRef, Path),
        ("variant_id" = Uuid, Path, description = "The line's variant"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The cart after the change", body = Cart),
        (status = 401, description = "`mine` without a valid token", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "remove_item", skip_all, fields(variant = %variant_id))]
pub async fn remove(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path((cart, variant_id)): Path<(CartRef, Uuid)>,
) -> kit::Result<Json<Cart>, CartError> {
    let owner = owner(cart, user.as_ref())?;
    let (change, lines) = state
        .carts
        .set(owner, variant_id, 0, 0)
        .await
        .context("cannot change cart")?;
    if let Change::Done { before, .. } = change {
        state.publish_change(owner, None, variant_id, before, 0);
    }
    Ok(Json(render(&state, &lines, BTreeMap::new()).await?))
}

/// Empties a cart.
#[utoipa::path(delete, path = "/v1/carts/{cart}", tag = "carts",
    params(("cart" = CartRef, Path)),
    security((), ("bearer" = [])),
    responses(
        (status = 204, description = "Emptied"),
        (status = 401, description = "`mine` without a valid token", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "clear_cart", skip_all)]
pub async fn clear(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(cart): Path<CartRef>,
) -> kit::Result<StatusCode, CartError> {
    let owner = owner(cart, user.as_ref())?;
    let lines = state
        .carts
        .clear(owner)
        .await
        .context("cannot clear cart")?;
    for (variant_id, quantity) in lines {
        state.publish_change(owner, None, variant_id, quantity, 0);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Which guest cart to merge.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Merge {
    /// The guest's anonymous cart id.
    pub anonymous_cart_id: Uuid,
}

/// Moves a guest cart into the signed-in user's cart (quantities add up, capped by stock); the
/// guest cart is gone afterwards.
#[utoipa::path(post, path = "/v1/carts/mine/merge", tag = "carts", request_body = Merge,
    security(("bearer" = [])),
    responses((status = 200, description = "The user's cart after the merge", body = Cart)))]
#[tracing::instrument(name = "merge_carts", skip_all, fields(user = %user.id))]
pub async fn merge(
    State(state): State<AppState>,
    user: User,
    Json(body): Json<Merge>,
) -> kit::Result<Json<Cart>, CartError> {
    let guest = Owner::Anonymous(body.anonymous_cart_id);
    let lines = state
        .carts
        .lines(guest)
        .await
        .context("cannot read guest cart")?;
    if !lines.is_empty() {
        let ids: Vec<Uuid> = lines.keys().copied().collect();
        let variants = state
            .catalog
            .variants(&ids)
            .await
            .context("cannot read the cart's products")?;
        let max = state.config.service.max_quantity;
        let caps = variants.values().map(|v| (v.id, v.cap(max))).collect();
        let changed = state
            .carts
            .merge(user.id, body.anonymous_cart_id, &caps)
            .await
            .context("cannot merge carts")?;
        state.publish(CartMerged {
            user_id: user.id,
            anonymous_id: body.anonymous_cart_id,
            lines: changed,
        });
    }
    Ok(Json(view(&state, Owner::User(user.id)).await?))
}

impl AppState {
    /// Queues a `cart.v1` event; a full queue is logged, never a failed request (the cart change
    /// is already made, and these events feed analytics).
    fn publish<T: events::Event>(&self, event: T) {
        if let Err(error) = self.events.publish(event) {
            tracing::warn!(error = %kit::problem::ErrorChain(&error), "cart event dropped");
        }
    }

    /// The event of a line going from `before` to `after` units.
    fn publish_change(
        &self,
        owner: Owner,
        variant: Option<&crate::catalog::VariantInfo>,
        variant_id: Uuid,
        before: u32,
        after: u32,
    ) {
        if after > before {
            if let Some(v) = variant {
                self.publish(ItemAdded {
                    cart: owner.event_ref(),
                    product_id: v.product_id,
                    variant_id,
                    added: after - before,
                    quantity: after,
                    unit_price: v.price.amount,
                    currency: v.price.currency.code().to_owned(),
                });
            }
        } else if before > after {
            self.publish(ItemRemoved {
                cart: owner.event_ref(),
                variant_id,
                removed: before - after,
                quantity: after,
            });
        }
    }
}
