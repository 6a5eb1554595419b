//! admin-backoffice's own settings, read from the environment after the kit's; every problem is
//! reported at once (see `kit::config`).

use kit::config::Env;
use secrecy::SecretString;

/// Settings beyond the kit's.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Secret `admin-session-key` (platform.toml), from `ADMIN_SESSION_KEY`.
    pub admin_session_key: SecretString,
}

impl kit::config::Settings for Settings {
    fn read(env: &mut Env) -> Option<Self> {
        let admin_session_key = env.secret("ADMIN_SESSION_KEY", "the admin-session-key secret");
        Some(Self {
            admin_session_key: admin_session_key?,
        })
    }
}

/// Everything admin-backoffice is configured with: the kit's settings and its own.
pub type Config = kit::config::Config<Settings>;
