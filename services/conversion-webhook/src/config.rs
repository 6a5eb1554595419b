//! conversion-webhook's own settings, read from the environment after the kit's; every problem is
//! reported at once (see `kit::config`).

use kit::config::Env;
use secrecy::SecretString;

/// Settings beyond the kit's.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Secret `partner-webhook-secret` (platform.toml), from `PARTNER_WEBHOOK_SECRET`.
    pub partner_webhook_secret: SecretString,
}

impl kit::config::Settings for Settings {
    fn read(env: &mut Env) -> Option<Self> {
        let partner_webhook_secret = env.secret(
            "PARTNER_WEBHOOK_SECRET",
            "the partner-webhook-secret secret",
        );
        Some(Self {
            partner_webhook_secret: partner_webhook_secret?,
        })
    }
}

/// Everything conversion-webhook is configured with: the kit's settings and its own.
pub type Config = kit::config::Config<Settings>;
