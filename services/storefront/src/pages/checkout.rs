//! Checkout, in two steps and a confirmation, for a signed-in shopper:
//!
//! 1. `GET /checkout`: where to ship, a saved address or a new one (`POST /checkout/address`
//!    saves a new one to the profile, for next time);
//! 2. `GET /checkout/review?address=&coupon=`: the items at today's prices, a coupon (a `GET`
//!    form: quoting changes nothing), the card, and "Place order" (`POST /checkout/place`);
//! 3. the order's page is the confirmation (`/orders/{id}?notice=placed`).
//!
//! With a payment provider that takes the card on its own page (Stripe in a cluster; order says
//! which), step 2 has no card fields: "Continue to payment" places the order and sends the
//! shopper to the provider's page, which sends them back to the confirmation; the order is paid
//! when the provider confirms it to order.
//!
//! The "Place order" form carries everything the order is made of: the lines as reviewed, the
//! address id, the coupon and a random token that becomes the checkout's `Idempotency-Key`. A
//! double click, a resent form or a network retry therefore sends the same request with the same
//! key, and the order service answers it with the first order, never a second order or charge,
//! even after the first attempt emptied the cart. Every page that shows the form again after a
//! failure carries a new token.

use askama::Template;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::SignedCookieJar;
use kit::client::ClientError;
use kit::money::Money;
use kit::postal::Address;
use serde::Deserialize;
use uuid::Uuid;

use super::{Layout, PageError, field_problems, layout, render, with_count};
use crate::api::{Card, Cart, Checkout, CheckoutLine, SavedAddress};
use crate::session::{Posted, Session};
use crate::startup::AppState;

/// The address fields of a form, as typed (shown again when they need fixing).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AddressFields {
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub country: String,
}

impl AddressFields {
    pub fn address(&self) -> Address {
        Address {
            name: self.name.trim().to_owned(),
            line1: self.line1.trim().to_owned(),
            line2: self.line2.trim().to_owned(),
            city: self.city.trim().to_owned(),
            postal_code: self.postal_code.trim().to_owned(),
            country: self.country.trim().to_ascii_uppercase(),
        }
    }

    pub fn label(&self) -> String {
        match self.label.trim() {
            "" => "Address".to_owned(),
            label => label.to_owned(),
        }
    }
}

/// A saved address as a choice.
pub struct AddressChoice {
    pub id: Uuid,
    pub label: String,
    pub text: String,
    pub checked: bool,
}

/// An address on one line.
pub fn one_line(address: &Address) -> String {
    [
        address.name.as_str(),
        address.line1.as_str(),
        address.line2.as_str(),
        address.city.as_str(),
        address.postal_code.as_str(),
        address.country.as_str(),
    ]
    .into_iter()
    .filter(|part| !part.is_empty())
    .collect::<Vec<_>>()
    .join(", ")
}

/// The signed-in shopper's cart, ready to buy: not empty, every line available. Otherwise where
/// to send them instead.
async fn buyable_cart(
    state: &AppState,
    session: &Session,
) -> Result<Result<Cart, Response>, PageError> {
    let cart = state.api.cart(&session.caller(), session.sid).await?;
    if cart.lines.is_empty() {
        return Ok(Err(Redirect::to("/cart").into_response()));
    }
    if cart.lines.iter().any(|l| !l.available) {
        return Ok(Err(Redirect::to("/cart?notice=stock").into_response()));
    }
    Ok(Ok(cart))
}

#[derive(Template)]
#[template(path = "checkout_address.html")]
struct AddressPage {
    layout: Layout,
    saved: Vec<AddressChoice>,
    new_checked: bool,
    form: AddressFields,
    /// The new address's fields are the only choice, so the browser may insist on them.
    fields_required: bool,
    errors: Vec<String>,
}

impl AddressPage {
    fn of(
        layout: Layout,
        saved: &[SavedAddress],
        form: AddressFields,
        errors: Vec<String>,
    ) -> Self {
        let retyping = !errors.is_empty();
        Self {
            layout,
            saved: saved
                .iter()
                .map(|a| AddressChoice {
                    id: a.id,
                    label: a.label.clone(),
                    text: one_line(&a.address),
                    checked: a.is_default && !retyping,
                })
                .collect(),
            new_checked: retyping || saved.is_empty(),
            fields_required: saved.is_empty(),
            form,
            errors,
        }
    }
}

/// Step 1: where to ship.
#[tracing::instrument(name = "checkout_address", skip_all)]
pub async fn address_page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Query(query): Query<super::Notice>,
) -> Result<Response, PageError> {
    session.require_user("/checkout")?;
    if let Err(elsewhere) = buyable_cart(&state, &session).await? {
        return Ok(elsewhere);
    }
    let saved = state.api.addresses(&session.caller()).await?;
    let layout = layout(
        &state,
        &session,
        &jar,
        "Checkout: address",
        query.notice.as_deref(),
        None,
    )
    .await?;
    Ok(render(&AddressPage::of(
        layout,
        &saved,
        AddressFields::default(),
        Vec::new(),
    )))
}

/// The address form: a saved address's id, or `new` with the fields.
#[derive(Debug, Deserialize)]
pub struct AddressForm {
    pub address_id: Option<String>,
    #[serde(flatten)]
    pub fields: AddressFields,
}

/// Step 1 sent: a new address is saved to the profile (unless the same one is there already).
#[tracing::instrument(name = "checkout_choose_address", skip_all)]
pub async fn choose_address(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Posted(form): Posted<AddressForm>,
) -> Result<Response, PageError> {
    session.require_user("/checkout")?;
    let caller = session.caller();
    if let Some(id) = form
        .address_id
        .as_deref()
        .and_then(|a| a.parse::<Uuid>().ok())
    {
        return Ok(Redirect::to(&format!("/checkout/review?address={id}")).into_response());
    }
    let saved = state.api.addresses(&caller).await?;
    let address = form.fields.address();
    let id = match saved.iter().find(|a| a.address == address) {
        Some(same) => same.id,
        None => match state
            .api
            .add_address(&caller, &form.fields.label(), &address, false)
            .await
        {
            Ok(added) => added.id,
            Err(error) if error.status().is_some() => {
                let layout =
                    layout(&state, &session, &jar, "Checkout: address", None, None).await?;
                let page = AddressPage::of(layout, &saved, form.fields, field_problems(&error));
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
            }
            Err(error) => return Err(error.into()),
        },
    };
    Ok(Redirect::to(&format!("/checkout/review?address={id}")).into_response())
}

/// A line as the review shows it.
pub struct ReviewLine {
    pub name: String,
    pub options: String,
    pub quantity: u32,
    pub unit_price: String,
    pub total: String,
}

#[derive(Template)]
#[template(path = "checkout_review.html")]
struct ReviewPage {
    layout: Layout,
    address_id: Uuid,
    address: String,
    lines: Vec<ReviewLine>,
    /// The lines as the form sends them: `variant:quantity,…`.
    lines_field: String,
    subtotal: String,
    /// The applied coupon and what it takes off.
    coupon: Option<(String, String)>,
    /// What the shopper typed when it does not apply.
    coupon_typed: String,
    coupon_error: Option<String>,
    total: String,
    /// The card is typed here (else it is typed on the provider's page).
    card_form: bool,
    /// The new checkout's token (its Idempotency-Key).
    token: Uuid,
    errors: Vec<String>,
}

/// Query of the review page.
#[derive(Debug, Default, Deserialize)]
pub struct ReviewQuery {
    pub address: Option<String>,
    pub coupon: Option<String>,
}

/// A coupon code as typed: trimmed, bounded.
fn typed_coupon(raw: Option<&str>) -> Option<String> {
    raw.map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| c.chars().take(40).collect())
}

/// Why a coupon does not apply, for the shopper.
fn coupon_problem(error: &ClientError) -> Option<String> {
    match error {
        ClientError::Problem { problem, .. } if problem.kind.starts_with("/problems/coupon-") => {
            Some(
                problem
                    .detail
                    .clone()
                    .unwrap_or_else(|| problem.title.clone()),
            )
        }
        ClientError::Problem { problem, .. } if problem.status == 422 => {
            Some("This is not a coupon code.".to_owned())
        }
        _ => None,
    }
}

/// Builds the review page: the cart, the address, the coupon quoted.
async fn review(
    state: &AppState,
    session: &Session,
    jar: &SignedCookieJar,
    cart: &Cart,
    address: &SavedAddress,
    coupon: Option<String>,
    errors: Vec<String>,
) -> Result<ReviewPage, PageError> {
    let caller = session.caller();
    let subtotal = cart.subtotal.ok_or(PageError::BadRequest(
        "Your cart has an item whose price is unknown.",
    ))?;
    let (mut applied, mut coupon_error) = (None, None);
    if let Some(code) = &coupon {
        match state.api.quote(&caller, code, subtotal).await {
            Ok(discount) => applied = Some(discount),
            Err(error) => match coupon_problem(&error) {
                Some(message) => coupon_error = Some(message),
                None => return Err(error.into()),
            },
        }
    }
    let card_form = state.api.takes_card(&caller).await?;
    let discount = applied.as_ref().map_or(0, |d| d.discount);
    let total = Money::new(subtotal.amount - discount, subtotal.currency);
    let layout = layout(state, session, jar, "Checkout: review and pay", None, None).await?;
    Ok(ReviewPage {
        layout,
        address_id: address.id,
        address: one_line(&address.address),
        lines: cart
            .lines
            .iter()
            .map(|l| ReviewLine {
                name: l.name.clone().unwrap_or_default(),
                options: l.options.values().cloned().collect::<Vec<_>>().join(", "),
                quantity: l.quantity,
                unit_price: l.unit_price.map(|p| p.display()).unwrap_or_default(),
                total: l.line_total.map(|p| p.display()).unwrap_or_default(),
            })
            .collect(),
        lines_field: cart
            .lines
            .iter()
            .map(|l| format!("{}:{}", l.variant_id, l.quantity))
            .collect::<Vec<_>>()
            .join(","),
        subtotal: subtotal.display(),
        coupon: applied.map(|d| (d.code, Money::new(d.discount, subtotal.currency).display())),
        coupon_typed: if coupon_error.is_some() {
            coupon.unwrap_or_default()
        } else {
            String::new()
        },
        coupon_error,
        total: total.display(),
        card_form,
        token: Uuid::new_v4(),
        errors,
    })
}

/// The saved address `id` of the shopper, or `None` (not theirs, deleted, not an id).
async fn saved_address(
    state: &AppState,
    session: &Session,
    id: Option<&str>,
) -> Result<Option<SavedAddress>, PageError> {
    let Some(id) = id.and_then(|a| a.parse::<Uuid>().ok()) else {
        return Ok(None);
    };
    let saved = state.api.addresses(&session.caller()).await?;
    Ok(saved.into_iter().find(|a| a.id == id))
}

/// Step 2: review, coupon, card, place the order.
#[tracing::instrument(name = "checkout_review", skip_all)]
pub async fn review_page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Query(query): Query<ReviewQuery>,
) -> Result<Response, PageError> {
    session.require_user("/checkout")?;
    let cart = match buyable_cart(&state, &session).await? {
        Ok(cart) => cart,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let Some(address) = saved_address(&state, &session, query.address.as_deref()).await? else {
        return Ok(Redirect::to("/checkout").into_response());
    };
    let coupon = typed_coupon(query.coupon.as_deref());
    let page = review(&state, &session, &jar, &cart, &address, coupon, Vec::new()).await?;
    Ok(render(&page))
}

/// The "Place order" form.
#[derive(Deserialize)]
pub struct PlaceForm {
    pub token: Uuid,
    pub address: String,
    pub lines: String,
    #[serde(default)]
    pub coupon: String,
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub expiry: String,
    #[serde(default)]
    pub cvc: String,
}

/// The lines field of the form: `variant:quantity,…`, 1 to 50 lines of 1 to 99 units.
fn parse_lines(field: &str) -> Option<Vec<CheckoutLine>> {
    let lines: Vec<CheckoutLine> = field
        .split(',')
        .map(|pair| {
            let (variant, quantity) = pair.split_once(':')?;
            Some(CheckoutLine {
                variant_id: variant.trim().parse().ok()?,
                quantity: quantity
                    .trim()
                    .parse()
                    .ok()
                    .filter(|q| (1..=99).contains(q))?,
            })
        })
        .collect::<Option<_>>()?;
    (1..=50).contains(&lines.len()).then_some(lines)
}

/// Places the order; the confirmation page on success, the review again (with a new token) with
/// what to fix otherwise.
#[tracing::instrument(name = "place_order", skip_all)]
pub async fn place(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    jar: SignedCookieJar,
    Posted(form): Posted<PlaceForm>,
) -> Result<Response, PageError> {
    session.require_user("/checkout")?;
    let caller = session.caller();
    let lines = parse_lines(&form.lines).ok_or(PageError::BadRequest(
        "The order's items are missing; go back to your cart.",
    ))?;
    let Some(address) = saved_address(&state, &session, Some(&form.address)).await? else {
        return Ok(Redirect::to("/checkout").into_response());
    };
    let coupon = typed_coupon(Some(&form.coupon));
    let card_form = state.api.takes_card(&caller).await?;
    let return_url = if card_form {
        None
    } else {
        // The provider's page sends the shopper back to the confirmation.
        let origin = state.cookies.origin.as_deref().ok_or(PageError::BadRequest(
            "This shop cannot take payments yet: its public address (PUBLIC_ORIGIN) is not set.",
        ))?;
        Some(format!("{origin}/orders/{{order}}?notice=placed"))
    };
    let checkout = Checkout {
        lines,
        coupon_code: coupon.clone(),
        shipping_address: address.address.clone(),
        payment: card_form.then_some(Card {
            number: form.number,
            expiry: form.expiry,
            cvc: form.cvc,
        }),
        return_url,
    };
    let error = match state.api.place_order(&caller, form.token, &checkout).await {
        Ok(order) => {
            // The order is what was reviewed; the cart it came from is done with.
            let jar = match state.api.clear_cart(&caller).await {
                Ok(()) => with_count(jar, &Cart::default()),
                Err(error) => {
                    tracing::warn!(%error, "cannot empty the cart after an order");
                    jar
                }
            };
            tracing::info!(order = %order.id, "order placed");
            if let Some(page) = order.payment_url.filter(|_| order.status == "placed") {
                // Paid on the provider's page, which sends the shopper back.
                return Ok((jar, Redirect::to(&page)).into_response());
            }
            let to = format!("/orders/{}?notice=placed", order.id);
            return Ok((jar, Redirect::to(&to)).into_response());
        }
        Err(error) => error,
    };
    let kind = match &error {
        ClientError::Problem { problem, .. } => problem.kind.trim_start_matches("/problems/"),
        _ => "",
    };
    let message = match kind {
        "insufficient-stock" | "unavailable-items" => {
            return Ok(Redirect::to("/cart?notice=stock").into_response());
        }
        "checkout-in-progress" => {
            return Ok(Redirect::to("/orders?notice=processing").into_response());
        }
        "idempotency-key-reused" => vec![
            "The order's details changed after you placed it: check them and place it again."
                .to_owned(),
        ],
        // The provider's reason, already worded for the shopper ("…; try another card").
        "payment-declined" => vec![detail(&error)],
        "validation" => field_problems(&error),
        _ if coupon_problem(&error).is_some() => Vec::new(),
        _ if error.status().is_some() => vec![detail(&error)],
        _ => vec![
            "The payment could not be made right now and nothing was charged. Please try again in a moment."
                .to_owned(),
        ],
    };
    tracing::info!(%error, "checkout refused");
    let cart = match buyable_cart(&state, &session).await? {
        Ok(cart) => cart,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let mut page = review(&state, &session, &jar, &cart, &address, coupon, message).await?;
    if let Some(coupon_message) = coupon_problem(&error) {
        page.coupon = None;
        page.coupon_error = Some(coupon_message);
    }
    Ok((
        error.status().unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        render(&page),
    )
        .into_response())
}

/// A problem's detail (or title), for the shopper.
fn detail(error: &ClientError) -> String {
    match error {
        ClientError::Problem { problem, .. } => problem
            .detail
            .clone()
            .unwrap_or_else(|| problem.title.clone()),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lines_field_is_read_strictly() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        let lines = parse_lines(&format!("{a}:2,{b}:1")).unwrap();
        assert_eq!(
            lines
                .iter()
                .map(|l| (l.variant_id, l.quantity))
                .collect::<Vec<_>>(),
            [(a, 2), (b, 1)]
        );
        for bad in [
            String::new(),
            format!("{a}:0"),
            format!("{a}:100"),
            format!("{a}"),
            "x:1".to_owned(),
            format!("{a}:1,"),
        ] {
            assert!(parse_lines(&bad).is_none(), "{bad}");
        }
    }
}
