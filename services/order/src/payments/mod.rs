//! Payments behind one interface, shaped after Stripe's PaymentIntents with manual capture: a
//! checkout *authorizes* the total, shipping *captures* it, a cancellation *voids* it. Every call
//! carries an idempotency key of its own (`<order>/authorize`, `/capture`, `/void`), so a
//! retried call never charges twice.
//!
//! Two providers, chosen by the secret `payment-provider-key`:
//!
//! - a key starting with `local-` is [`LocalProvider`], a processor's test mode with its ledger in
//!   order's database (`local_payments`), what `cargo xtask up` and the tests use. The shopper
//!   types a test card into the storefront's form and the checkout answers paid or declined at
//!   once. Test cards:
//!
//!   | card number | outcome |
//!   |---|---|
//!   | `4242 4242 4242 4242` (and any other valid number) | authorized |
//!   | `4000 0000 0000 0002` | declined |
//!   | `4000 0000 0000 9995` | declined: insufficient funds |
//!   | `4000 0000 0000 0119` | the processor times out (after authorizing: the caller must void) |
//!
//! - a Stripe secret key (`sk_live_…`, `sk_test_…`, or a restricted `rk_…`) is [`StripeProvider`]:
//!   the card is never typed into the shop (a server that sees card numbers is in PCI DSS
//!   scope). The checkout opens a Stripe Checkout Session with `capture_method=manual` and answers
//!   the order still `placed` with the session's `payment_url`; the storefront sends the shopper
//!   there. Stripe then calls `POST /v1/orders/payment-events`, signed with the secret
//!   `payment-webhook-secret` ([`kit::webhook`]), and the order becomes paid (or, the session
//!   expired, cancelled with its holds given back). The sweeper asks Stripe about sessions whose
//!   event never came.
//!
//! Any other key is refused at start, not silently run in test mode.

pub mod local;
pub mod stripe;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret as _;
use sqlx::PgPool;

pub use local::{DECLINED, INSUFFICIENT_FUNDS, LocalProvider, TIMES_OUT};
pub use stripe::StripeProvider;

use crate::config::Settings;
use crate::model::OrderId;

/// The card a shopper pays with. Only its last four digits are ever stored or logged.
#[derive(Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct Card {
    /// 12 to 19 digits, spaces allowed (test cards above).
    #[schema(example = "4242 4242 4242 4242")]
    pub number: String,
    /// `MM/YY`, not in the past.
    #[schema(example = "12/30")]
    pub expiry: String,
    /// 3 or 4 digits.
    #[schema(example = "123")]
    pub cvc: String,
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Card(…{})", self.last4())
    }
}

impl Card {
    pub fn digits(&self) -> String {
        self.number.chars().filter(char::is_ascii_digit).collect()
    }

    pub fn last4(&self) -> String {
        let digits = self.digits();
        digits[digits.len().saturating_sub(4)..].to_owned()
    }

    /// What is wrong with the card, field by field (number by the Luhn check).
    pub fn problems(&self, today: chrono::NaiveDate) -> Vec<(&'static str, String)> {
        use chrono::Datelike as _;
        let mut problems = Vec::new();
        let digits = self.digits();
        let only_digits = self.number.chars().all(|c| c.is_ascii_digit() || c == ' ');
        if !only_digits || !(12..=19).contains(&digits.len()) || !luhn(&digits) {
            problems.push(("payment.number", "is not a card number".to_owned()));
        }
        let expiry = self.expiry.split_once('/').and_then(|(m, y)| {
            let month: u32 = m.trim().parse().ok()?;
            let year: i32 = y.trim().parse().ok()?;
            ((1..=12).contains(&month) && (0..100).contains(&year)).then_some((2000 + year, month))
        });
        match expiry {
            None => problems.push(("payment.expiry", "must be MM/YY".to_owned())),
            Some((year, month)) if (year, month) < (today.year(), today.month()) => {
                problems.push(("payment.expiry", "is in the past".to_owned()));
            }
            Some(_) => {}
        }
        if !(3..=4).contains(&self.cvc.len()) || !self.cvc.chars().all(|c| c.is_ascii_digit()) {
            problems.push(("payment.cvc", "must be 3 or 4 digits".to_owned()));
        }
        problems
    }
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| match (i % 2, d * 2) {
            (0, _) => d,
            (_, doubled) if doubled > 9 => doubled - 9,
            (_, doubled) => doubled,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// What starting a payment came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// The amount is held on the card: capture or void it with this id.
    Approved { payment_id: String },
    /// The card was refused; the reason is for the shopper.
    Declined { reason: String },
    /// The shopper pays on the provider's page at `url`; the outcome comes later, as a
    /// [`PaymentEvent`] about `session`.
    Redirect { session: String, url: String },
}

/// A failure of the provider itself: the outcome is unknown, so the caller voids.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("the payment provider did not answer in time")]
    Timeout,
    #[error("the payment provider failed")]
    Failed(#[from] anyhow::Error),
}

/// What a checkout asks the provider for.
#[derive(Debug, Clone, Copy)]
pub struct PaymentRequest<'a> {
    pub order: OrderId,
    /// When the order was placed: a retry of the checkout sends the same request.
    pub placed_at: DateTime<Utc>,
    pub amount: i64,
    pub currency: &'a str,
    /// The card, for a provider that takes one ([`PaymentProvider::takes_card`]).
    pub card: Option<&'a Card>,
    /// Where the provider's page sends the shopper back, `{order}` replaced by the order id.
    pub return_url: Option<&'a str>,
}

/// The payment id of an order whose total is zero: nothing to authorize, capture or void.
pub const FREE: &str = "free";

/// What order recorded of an order's payment: enough to capture or void it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub order: OrderId,
    /// The provider's id of the authorization, once there is one.
    pub id: Option<String>,
    /// The provider's payment page session, for a hosted payment.
    pub session: Option<String>,
}

impl Payment {
    /// The idempotency key of `step` of this order's payment.
    pub fn key(&self, step: &str) -> String {
        format!("{}/{step}", self.order)
    }
}

/// A card processor, as order uses it.
pub trait PaymentProvider: Send + Sync {
    /// Whether the shopper types the card into the shop's own form (true) or pays on the
    /// provider's page ([`Authorization::Redirect`]).
    fn takes_card(&self) -> bool;
    /// Holds the amount: at once with a card, or on the provider's page. Idempotent per order:
    /// a retry answers what the first call decided.
    fn authorize(
        &self,
        request: PaymentRequest<'_>,
    ) -> impl Future<Output = Result<Authorization, PaymentError>> + Send;
    /// Takes what the authorization held (idempotent).
    fn capture(&self, payment: &Payment) -> impl Future<Output = Result<(), PaymentError>> + Send;
    /// Releases the authorization, or closes the payment page, if there is one (idempotent).
    fn void(&self, payment: &Payment) -> impl Future<Output = Result<(), PaymentError>> + Send;
}

/// What the provider says happened to a payment page (its webhook, or asked by the sweeper).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentEvent {
    /// The shopper paid: the amount is held under `payment_id`.
    Authorized {
        order: OrderId,
        session: String,
        payment_id: String,
    },
    /// The page expired unpaid.
    Expired { order: OrderId, session: String },
}

/// The provider the secret `payment-provider-key` chose.
#[derive(Clone, Debug)]
pub enum Provider {
    Local(LocalProvider),
    Stripe(StripeProvider),
}

impl Provider {
    /// The provider for the configured keys: `local-…` is the local test-mode provider, a
    /// Stripe secret key is Stripe (which needs the webhook secret, and the storefront's origin
    /// to send shoppers back to); anything else is an error, said once, at start.
    pub fn new(
        settings: &Settings,
        storefront_origin: Option<&str>,
        db: PgPool,
    ) -> anyhow::Result<Self> {
        let key = settings.payment_provider_key.expose_secret();
        if key.starts_with("local-") {
            return Ok(Self::Local(LocalProvider::new(db)));
        }
        if stripe::is_key(key) {
            let origin = storefront_origin.context(
                "STOREFRONT_ORIGIN is not set: Stripe's payment page sends shoppers back to the \
                 shop's pages there (platform.toml's storefront renders it)",
            )?;
            return Ok(Self::Stripe(StripeProvider::new(
                settings.payment_provider_key.clone(),
                &settings.payment_webhook_secret,
                settings.payment_api_url.as_deref(),
                origin,
            )?));
        }
        anyhow::bail!(
            "PAYMENT_PROVIDER_KEY is not a key of a provider this build has: write a Stripe secret \
             key (sk_live_…, sk_test_… or a restricted rk_…), or local-<anything> for the local \
             test-mode provider"
        )
    }

    /// The origin a checkout's `return_url` must be on: the storefront's, for a provider whose
    /// page sends the shopper there (so the provider's page cannot be made to send a payer to
    /// another site); `None` when the provider sends nobody anywhere.
    pub fn return_origin(&self) -> Option<&str> {
        match self {
            Self::Local(_) => None,
            Self::Stripe(stripe) => Some(stripe.return_origin()),
        }
    }

    /// The payment event a signed webhook carries, if it is one order acts on; `None` for
    /// events it ignores. Only a provider with a payment page sends any.
    pub fn event(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Option<PaymentEvent>, WebhookError> {
        if signature.is_none() {
            return Err(kit::webhook::SignatureError::Missing.into());
        }
        match self {
            Self::Local(_) => Err(WebhookError::NoWebhooks),
            Self::Stripe(stripe) => stripe.event(signature, body, Utc::now().timestamp()),
        }
    }

    /// Asks the provider what became of a payment page whose event has not come.
    pub async fn session(
        &self,
        order: OrderId,
        session: &str,
    ) -> Result<Option<PaymentEvent>, PaymentError> {
        match self {
            Self::Local(_) => Ok(None),
            Self::Stripe(stripe) => stripe.session(order, session).await,
        }
    }
}

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("this shop's payment provider sends no webhooks")]
    NoWebhooks,
    #[error("invalid signature: {0}")]
    Signature(#[from] kit::webhook::SignatureError),
    #[error("not an event: {0}")]
    Malformed(String),
}

impl PaymentProvider for Provider {
    fn takes_card(&self) -> bool {
        match self {
            Self::Local(local) => local.takes_card(),
            Self::Stripe(stripe) => stripe.takes_card(),
        }
    }

    async fn authorize(&self, request: PaymentRequest<'_>) -> Result<Authorization, PaymentError> {
        match self {
            Self::Local(local) => local.authorize(request).await,
            Self::Stripe(stripe) => stripe.authorize(request).await,
        }
    }

    async fn capture(&self, payment: &Payment) -> Result<(), PaymentError> {
        if payment.id.as_deref() == Some(FREE) {
            return Ok(());
        }
        match self {
            Self::Local(local) => local.capture(payment).await,
            Self::Stripe(stripe) => stripe.capture(payment).await,
        }
    }

    async fn void(&self, payment: &Payment) -> Result<(), PaymentError> {
        if payment.id.as_deref() == Some(FREE) {
            return Ok(());
        }
        match self {
            Self::Local(local) => local.void(payment).await,
            Self::Stripe(stripe) => stripe.void(payment).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(number: &str, expiry: &str, cvc: &str) -> Card {
        Card {
            number: number.into(),
            expiry: expiry.into(),
            cvc: cvc.into(),
        }
    }

    #[test]
    fn cards_are_checked_and_never_shown_whole() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert!(
            card("4242 4242 4242 4242", "12/26", "123")
                .problems(today)
                .is_empty()
        );
        let fields: Vec<&str> = card("4242 4242 4242 4241", "11/26", "12")
            .problems(today)
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, ["payment.number", "payment.expiry", "payment.cvc"]);
        assert_eq!(card("4242-4242", "13/30", "1234").problems(today).len(), 2);
        assert_eq!(
            format!("{:?}", card("4242424242424242", "", "")),
            "Card(…4242)"
        );
    }
}
