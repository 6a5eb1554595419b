//! storefront's own settings, read from the environment after the kit's; every problem is
//! reported at once (see `kit::config`).

use kit::config::Env;
use secrecy::SecretString;

/// Settings beyond the kit's.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Secret `storefront-session-key` (platform.toml), from `STOREFRONT_SESSION_KEY`.
    pub storefront_session_key: SecretString,
}

impl kit::config::Settings for Settings {
    fn read(env: &mut Env) -> Option<Self> {
        let storefront_session_key = env.secret(
            "STOREFRONT_SESSION_KEY",
            "the storefront-session-key secret",
        );
        Some(Self {
            storefront_session_key: storefront_session_key?,
        })
    }
}

/// Everything storefront is configured with: the kit's settings and its own.
pub type Config = kit::config::Config<Settings>;
