//! order's own settings, read from the environment after the kit's; every problem is
//! reported at once (see `kit::config`).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PAYMENT_PROVIDER_KEY` | required (secret) | the payment-provider-key secret: `local-…` for the local test-mode provider, a Stripe secret key for Stripe (see `payments`) |
//! | `PAYMENT_WEBHOOK_SECRET` | required (secret) | the payment-webhook-secret secret: the signing secret (`whsec_…`) of Stripe's webhook endpoint `POST /v1/orders/payment-events`; unused by the local provider |
//! | `PAYMENT_API_URL` | `https://api.stripe.com` | where the provider's API is (a test double's address in tests) |

use kit::config::Env;
use secrecy::SecretString;

/// Settings beyond the kit's.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Secret `payment-provider-key` (platform.toml), from `PAYMENT_PROVIDER_KEY`.
    pub payment_provider_key: SecretString,
    /// Secret `payment-webhook-secret` (platform.toml), from `PAYMENT_WEBHOOK_SECRET`.
    pub payment_webhook_secret: SecretString,
    /// `PAYMENT_API_URL`: the provider's API, when not its public one.
    pub payment_api_url: Option<String>,
}

impl Settings {
    /// The local test-mode provider (what the tests use).
    pub fn local() -> Self {
        Self {
            payment_provider_key: "local-test".to_owned().into(),
            payment_webhook_secret: "local-test".to_owned().into(),
            payment_api_url: None,
        }
    }
}

impl kit::config::Settings for Settings {
    fn read(env: &mut Env) -> Option<Self> {
        let payment_provider_key =
            env.secret("PAYMENT_PROVIDER_KEY", "the payment-provider-key secret");
        let payment_webhook_secret = env.secret(
            "PAYMENT_WEBHOOK_SECRET",
            "the payment-webhook-secret secret",
        );
        let payment_api_url = env.optional(
            "PAYMENT_API_URL",
            "the payment provider's API URL, e.g. https://api.stripe.com",
        );
        Some(Self {
            payment_provider_key: payment_provider_key?,
            payment_webhook_secret: payment_webhook_secret?,
            payment_api_url,
        })
    }
}

/// Everything order is configured with: the kit's settings and its own.
pub type Config = kit::config::Config<Settings>;
