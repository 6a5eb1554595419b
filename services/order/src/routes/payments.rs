//! How the shop takes payment (`GET /v1/orders/payment-method`, for the storefront), and the
//! payment provider's signed events (`POST /v1/orders/payment-events`, called by the provider
//! through the gateway, without a token: its signature is the credential).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kit::extract::Json;
use kit::{ApiError, Problem};

use crate::model::{PaymentForm, PaymentMethod};
use crate::orders::OrderError;
use crate::payments::{PaymentProvider as _, WebhookError};
use crate::startup::AppState;

/// The header carrying the provider's signature (Stripe's name; see `kit::webhook`).
pub const SIGNATURE: &str = "stripe-signature";

/// How checkouts pay in this shop: with the card in the checkout, or on the provider's page.
#[utoipa::path(get, path = "/v1/orders/payment-method", tag = "payments",
    responses((status = 200, description = "How checkouts pay", body = PaymentMethod)))]
pub async fn method(State(state): State<AppState>) -> Json<PaymentMethod> {
    let form = if state.orders.payments.takes_card() {
        PaymentForm::Card
    } else {
        PaymentForm::ProviderPage
    };
    Json(PaymentMethod { form })
}

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    #[error(transparent)]
    Order(#[from] OrderError),
}

impl ApiError for EventError {
    fn problem(&self) -> Problem {
        match self {
            Self::Webhook(WebhookError::NoWebhooks) => Problem::new(StatusCode::NOT_FOUND)
                .kind("no-payment-events")
                .detail("This shop's payment provider sends no events."),
            Self::Webhook(WebhookError::Signature(_)) => Problem::new(StatusCode::BAD_REQUEST)
                .kind("invalid-signature")
                .detail("The event's signature is missing, wrong or too old."),
            Self::Webhook(WebhookError::Malformed(_)) => Problem::new(StatusCode::BAD_REQUEST)
                .kind("malformed-event")
                .detail("The body is not an event."),
            Self::Order(error) => error.problem(),
        }
    }
}

/// An event of the payment provider (Stripe: `checkout.session.completed` and
/// `checkout.session.expired`), signed in the `Stripe-Signature` header over the body as sent.
/// Events for other things are acknowledged and ignored; a repeated event changes nothing.
#[utoipa::path(post, path = "/v1/orders/payment-events", tag = "payments",
    request_body(content = serde_json::Value, description = "The provider's event, as it signed it"),
    params(("Stripe-Signature" = String, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256>`")),
    responses(
        (status = 204, description = "Received (acted on, or not one order acts on)"),
        (status = 400, description = "Bad signature (`invalid-signature`) or not an event", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The shop's provider sends no events (the local one)", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(name = "payment_event", skip_all)]
pub async fn event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> kit::Result<StatusCode, EventError> {
    let signature = headers.get(SIGNATURE).and_then(|v| v.to_str().ok());
    let event = state
        .orders
        .payments
        .event(signature, &body)
        .inspect_err(|error| tracing::warn!(%error, "payment event refused"))
        .map_err(EventError::from)?;
    if let Some(event) = event {
        state
            .orders
            .on_payment(event)
            .await
            .map_err(EventError::from)?;
    }
    Ok(StatusCode::NO_CONTENT)
}
