//! notification's own settings, read from the environment after the kit's; every problem is
//! reported at once (see `kit::config`).

use kit::config::Env;
use secrecy::SecretString;

/// Settings beyond the kit's.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Secret `smtp-password` (platform.toml), from `SMTP_PASSWORD`.
    pub smtp_password: SecretString,
}

impl kit::config::Settings for Settings {
    fn read(env: &mut Env) -> Option<Self> {
        let smtp_password = env.secret("SMTP_PASSWORD", "the smtp-password secret");
        Some(Self {
            smtp_password: smtp_password?,
        })
    }
}

/// Everything notification is configured with: the kit's settings and its own.
pub type Config = kit::config::Config<Settings>;
