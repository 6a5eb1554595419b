//! order's own settings, read from the environment after the kit's; every problem is
//! reported at once (see `kit::config`).

use kit::config::Env;
use secrecy::SecretString;

/// Settings beyond the kit's.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Secret `payment-provider-key` (platform.toml), from `PAYMENT_PROVIDER_KEY`.
    pub payment_provider_key: SecretString,
}

impl kit::config::Settings for Settings {
    fn read(env: &mut Env) -> Option<Self> {
        let payment_provider_key =
            env.secret("PAYMENT_PROVIDER_KEY", "the payment-provider-key secret");
        Some(Self {
            payment_provider_key: payment_provider_key?,
        })
    }
}

/// Everything order is configured with: the kit's settings and its own.
pub type Config = kit::config::Config<Settings>;
