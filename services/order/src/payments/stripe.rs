//! Stripe, with the card taken on Stripe's own page: a Checkout Session in `payment` mode with
//! `capture_method=manual` authorizes the total, `checkout.session.completed` (signed, see
//! [`kit::webhook`]) says it is held, shipping captures the PaymentIntent, a cancellation
//! cancels it (or expires the session still open). Every POST carries an `Idempotency-Key` of
//! its own per order and step, and the API version is pinned so the fields read here keep their
//! meaning.
//!
//! Stripe's API reference: <https://docs.stripe.com/api/checkout/sessions>,
//! <https://docs.stripe.com/api/payment_intents/capture>,
//! <https://docs.stripe.com/webhooks#verify-manually>.

use std::time::Duration;

use anyhow::Context as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::{
    Authorization, Payment, PaymentError, PaymentEvent, PaymentProvider, PaymentRequest,
    WebhookError,
};
use crate::model::OrderId;

/// Where Stripe's API is (`PAYMENT_API_URL` overrides it, for a test double).
pub const API: &str = "https://api.stripe.com";
/// The API version every request pins.
pub const VERSION: &str = "2025-09-30.clover";
/// How long a payment page stays open after the order is placed (Stripe allows 30 minutes to
/// 24 hours; a retried checkout sends the same `expires_at`, so it is counted from the order).
pub const SESSION_TTL: Duration = Duration::from_secs(60 * 60);
/// How long one call to Stripe may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Whether `key` is a Stripe secret or restricted key.
pub fn is_key(key: &str) -> bool {
    ["sk_live_", "sk_test_", "rk_live_", "rk_test_"]
        .iter()
        .any(|prefix| key.starts_with(prefix))
}

#[derive(Clone)]
pub struct StripeProvider {
    http: reqwest::Client,
    api: String,
    key: SecretString,
    webhook_secret: SecretString,
    /// The storefront's origin: where the page may send shoppers back to.
    return_origin: String,
}

impl std::fmt::Debug for StripeProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeProvider")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// A Checkout Session, as far as order reads it.
#[derive(Debug, Deserialize)]
struct Session {
    id: String,
    #[serde(default)]
    url: Option<String>,
    /// `open`, `complete` or `expired`.
    status: String,
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    client_reference_id: Option<String>,
}

/// An event, as far as order reads it.
#[derive(Debug, Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// Stripe's error body.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: StripeError,
}

#[derive(Debug, Deserialize)]
struct StripeError {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    code: Option<String>,
}

/// A call Stripe refused, by its error's type and code (never its message, which may quote what
/// was sent).
fn refused(call: &str, error: &StripeError) -> PaymentError {
    anyhow::anyhow!(
        "{call}: Stripe refused it ({}{})",
        error.kind,
        error
            .code
            .as_deref()
            .map(|c| format!(", {c}"))
            .unwrap_or_default()
    )
    .into()
}

impl StripeProvider {
    /// A client of Stripe at `api` (default [`API`]); `webhook_secret` is the endpoint's
    /// signing secret (`whsec_…`); the page sends shoppers back to pages on `return_origin`.
    pub fn new(
        key: SecretString,
        webhook_secret: &SecretString,
        api: Option<&str>,
        return_origin: &str,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            webhook_secret.expose_secret().starts_with("whsec_"),
            "PAYMENT_WEBHOOK_SECRET is not a Stripe webhook signing secret (whsec_…): with a \
             Stripe key, write the signing secret of the endpoint POST /v1/orders/payment-events"
        );
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .context("cannot build the Stripe client")?;
        Ok(Self {
            http,
            api: api.unwrap_or(API).trim_end_matches('/').to_owned(),
            key,
            webhook_secret: webhook_secret.clone(),
            return_origin: return_origin.trim_end_matches('/').to_owned(),
        })
    }

    /// The storefront's origin, which return URLs must be on.
    pub fn return_origin(&self) -> &str {
        &self.return_origin
    }

    /// Sends one call; a Stripe error body becomes a [`PaymentError::Failed`] naming its type
    /// and code (never its message, which may quote what was sent).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        idempotency_key: Option<&str>,
        form: &[(&str, String)],
    ) -> Result<Result<serde_json::Value, StripeError>, PaymentError> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.api))
            .bearer_auth(self.key.expose_secret())
            .header("Stripe-Version", VERSION);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if !form.is_empty() {
            request = request.form(form);
        }
        let response = request.send().await.map_err(|error| {
            if error.is_timeout() {
                PaymentError::Timeout
            } else {
                PaymentError::Failed(anyhow::Error::new(error).context(format!("{method} {path}")))
            }
        })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|error| {
            PaymentError::Failed(anyhow::Error::new(error).context(format!("{method} {path}")))
        })?;
        if status.is_success() {
            return Ok(Ok(serde_json::from_slice(&body)
                .with_context(|| format!("{method} {path}: not JSON"))?));
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(error) if status.is_client_error() => Ok(Err(error.error)),
            _ => Err(anyhow::anyhow!("{method} {path}: Stripe answered {status}").into()),
        }
    }

    /// A call that must succeed.
    async fn must(
        &self,
        method: reqwest::Method,
        path: &str,
        idempotency_key: Option<&str>,
        form: &[(&str, String)],
    ) -> Result<serde_json::Value, PaymentError> {
        self.call(method.clone(), path, idempotency_key, form)
            .await?
            .map_err(|error| refused(&format!("{method} {path}"), &error))
    }

    async fn get_session(&self, session: &str) -> Result<Session, PaymentError> {
        let value = self
            .must(
                reqwest::Method::GET,
                &format!("/v1/checkout/sessions/{session}"),
                None,
                &[],
            )
            .await?;
        Ok(serde_json::from_value(value).context("not a Checkout Session")?)
    }

    /// A PaymentIntent's status.
    async fn intent_status(&self, intent: &str) -> Result<String, PaymentError> {
        let found = self
            .must(
                reqwest::Method::GET,
                &format!("/v1/payment_intents/{intent}"),
                None,
                &[],
            )
            .await?;
        Ok(found["status"].as_str().unwrap_or("unknown").to_owned())
    }

    /// Cancels a PaymentIntent; one already cancelled is done.
    async fn cancel_intent(&self, payment: &Payment, intent: &str) -> Result<(), PaymentError> {
        let path = format!("/v1/payment_intents/{intent}/cancel");
        match self
            .call(
                reqwest::Method::POST,
                &path,
                Some(&payment.key("void")),
                &[],
            )
            .await?
        {
            Ok(_) => Ok(()),
            Err(error) if error.code.as_deref() == Some("payment_intent_unexpected_state") => {
                match self.intent_status(intent).await?.as_str() {
                    "canceled" => Ok(()),
                    status => Err(anyhow::anyhow!(
                        "cannot cancel PaymentIntent {intent}: it is {status}"
                    )
                    .into()),
                }
            }
            Err(error) => Err(refused(&path, &error)),
        }
    }

    /// The event in a signed webhook body, if order acts on it.
    pub fn event(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<Option<PaymentEvent>, WebhookError> {
        kit::webhook::verify(
            self.webhook_secret.expose_secret().as_bytes(),
            signature,
            body,
            now,
            kit::webhook::TOLERANCE,
        )?;
        let event: Event =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        if !event.kind.starts_with("checkout.session.") {
            return Ok(None);
        }
        let session: Session = serde_json::from_value(event.data.object)
            .map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let Some(order) = session
            .client_reference_id
            .as_deref()
            .and_then(|id| id.parse::<OrderId>().ok())
        else {
            // A session this shop did not open (another integration on the same account).
            return Ok(None);
        };
        Ok(match (event.kind.as_str(), session.status.as_str()) {
            ("checkout.session.completed", "complete") => {
                session
                    .payment_intent
                    .map(|payment_id| PaymentEvent::Authorized {
                        order,
                        session: session.id,
                        payment_id,
                    })
            }
            ("checkout.session.expired", _) => Some(PaymentEvent::Expired {
                order,
                session: session.id,
            }),
            _ => None,
        })
    }

    /// What became of `session` (`None` while it is open).
    pub async fn session(
        &self,
        order: OrderId,
        session: &str,
    ) -> Result<Option<PaymentEvent>, PaymentError> {
        let found = self.get_session(session).await?;
        Ok(match (found.status.as_str(), found.payment_intent) {
            ("complete", Some(payment_id)) => Some(PaymentEvent::Authorized {
                order,
                session: found.id,
                payment_id,
            }),
            ("expired", _) => Some(PaymentEvent::Expired {
                order,
                session: found.id,
            }),
            _ => None,
        })
    }
}

impl PaymentProvider for StripeProvider {
    fn takes_card(&self) -> bool {
        false
    }

    async fn authorize(&self, request: PaymentRequest<'_>) -> Result<Authorization, PaymentError> {
        let return_url = request
            .return_url
            .context("a Stripe checkout needs a return_url")?
            .replace("{order}", &request.order.to_string());
        let expires_at = request.placed_at.timestamp() + SESSION_TTL.as_secs() as i64;
        let order = request.order.to_string();
        let form = [
            ("mode", "payment".to_owned()),
            ("client_reference_id", order.clone()),
            ("metadata[order_id]", order.clone()),
            ("payment_intent_data[capture_method]", "manual".to_owned()),
            ("payment_intent_data[metadata][order_id]", order.clone()),
            ("line_items[0][quantity]", "1".to_owned()),
            (
                "line_items[0][price_data][currency]",
                request.currency.to_ascii_lowercase(),
            ),
            (
                "line_items[0][price_data][unit_amount]",
                request.amount.to_string(),
            ),
            (
                "line_items[0][price_data][product_data][name]",
                format!("Order {order}"),
            ),
            ("success_url", return_url.clone()),
            ("cancel_url", return_url),
            ("expires_at", expires_at.to_string()),
        ];
        let key = format!("{order}/authorize");
        let value = self
            .must(
                reqwest::Method::POST,
                "/v1/checkout/sessions",
                Some(&key),
                &form,
            )
            .await?;
        let session: Session = serde_json::from_value(value).context("not a Checkout Session")?;
        let url = session.url.context("a Checkout Session without a url")?;
        Ok(Authorization::Redirect {
            session: session.id,
            url,
        })
    }

    async fn capture(&self, payment: &Payment) -> Result<(), PaymentError> {
        let intent = payment
            .id
            .as_deref()
            .context("no PaymentIntent to capture")?;
        let path = format!("/v1/payment_intents/{intent}/capture");
        match self
            .call(
                reqwest::Method::POST,
                &path,
                Some(&payment.key("capture")),
                &[],
            )
            .await?
        {
            Ok(_) => Ok(()),
            // Captured already (a retry after Stripe forgot the key, or from the dashboard) is
            // done; an authorization that lapsed (Stripe cancels it after about 7 days) is not.
            Err(error) if error.code.as_deref() == Some("payment_intent_unexpected_state") => {
                match self.intent_status(intent).await?.as_str() {
                    "succeeded" => Ok(()),
                    status => Err(anyhow::anyhow!(
                        "cannot capture PaymentIntent {intent}: it is {status} (an authorization \
                         lapses about 7 days after it is made)"
                    )
                    .into()),
                }
            }
            Err(error) => Err(refused(&path, &error)),
        }
    }

    async fn void(&self, payment: &Payment) -> Result<(), PaymentError> {
        if let Some(intent) = payment.id.as_deref() {
            return self.cancel_intent(payment, intent).await;
        }
        let Some(session) = payment.session.as_deref() else {
            return Ok(()); // nothing was opened
        };
        let found = self.get_session(session).await?;
        match (found.status.as_str(), found.payment_intent) {
            ("open", _) => {
                // Expiring an open session ends its page. A shopper paying that instant makes it
                // complete instead and Stripe refuses to expire it: either way, read it again.
                let path = format!("/v1/checkout/sessions/{session}/expire");
                let expired = self
                    .call(
                        reqwest::Method::POST,
                        &path,
                        Some(&payment.key("expire")),
                        &[],
                    )
                    .await?;
                let after = self.get_session(session).await?;
                if let Err(error) = expired
                    && after.status == "open"
                {
                    return Err(refused(&path, &error));
                }
                match (after.status.as_str(), after.payment_intent) {
                    ("complete", Some(intent)) => self.cancel_intent(payment, &intent).await,
                    _ => Ok(()),
                }
            }
            ("complete", Some(intent)) => self.cancel_intent(payment, &intent).await,
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> StripeProvider {
        StripeProvider::new(
            "sk_test_x".to_owned().into(),
            &"whsec_test".to_owned().into(),
            None,
            "https://shop.example.com",
        )
        .unwrap()
    }

    fn event(kind: &str, session: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "id": "evt_1", "object": "event", "type": kind, "data": {"object": session}
        }))
        .unwrap()
    }

    #[test]
    fn keys_and_secrets_are_recognised() {
        assert!(is_key("sk_live_abc") && is_key("rk_test_abc"));
        assert!(!is_key("pk_live_abc") && !is_key("local-x"));
        let error = StripeProvider::new(
            "sk_test_x".to_owned().into(),
            &"local-development-payment-webhook-secret".to_owned().into(),
            None,
            "https://shop.example.com",
        )
        .unwrap_err();
        assert!(error.to_string().contains("whsec_"), "{error}");
    }

    #[test]
    fn signed_session_events_become_payment_events() {
        let stripe = provider();
        let order = OrderId::new();
        let completed = event(
            "checkout.session.completed",
            serde_json::json!({"id": "cs_1", "object": "checkout.session", "status": "complete",
                "payment_status": "unpaid", "payment_intent": "pi_1",
                "client_reference_id": order.to_string()}),
        );
        let now = 1_800_000_000;
        let signature = kit::webhook::sign(b"whsec_test", now, &completed);
        assert_eq!(
            stripe.event(Some(&signature), &completed, now).unwrap(),
            Some(PaymentEvent::Authorized {
                order,
                session: "cs_1".into(),
                payment_id: "pi_1".into()
            })
        );
        let expired = event(
            "checkout.session.expired",
            serde_json::json!({"id": "cs_1", "status": "expired",
                "client_reference_id": order.to_string()}),
        );
        let signature = kit::webhook::sign(b"whsec_test", now, &expired);
        assert_eq!(
            stripe.event(Some(&signature), &expired, now).unwrap(),
            Some(PaymentEvent::Expired {
                order,
                session: "cs_1".into()
            })
        );
        // Events order does not act on, and sessions it did not open.
        for (kind, object) in [
            ("charge.succeeded", serde_json::json!({"id": "ch_1"})),
            (
                "checkout.session.completed",
                serde_json::json!({"id": "cs_2", "status": "complete", "payment_intent": "pi_2"}),
            ),
        ] {
            let body = event(kind, object);
            let signature = kit::webhook::sign(b"whsec_test", now, &body);
            assert_eq!(stripe.event(Some(&signature), &body, now).unwrap(), None);
        }
        // Unsigned, signed with another secret, or replayed too late: refused.
        assert!(matches!(
            stripe.event(None, &completed, now),
            Err(WebhookError::Signature(_))
        ));
        let forged = kit::webhook::sign(b"whsec_other", now, &completed);
        assert!(stripe.event(Some(&forged), &completed, now).is_err());
        let old = kit::webhook::sign(b"whsec_test", now - 600, &completed);
        assert!(stripe.event(Some(&old), &completed, now).is_err());
    }
}
