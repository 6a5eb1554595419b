//! storefront's own settings, read from the environment after the kit's (which include
//! `PUBLIC_ORIGIN`, where people reach the shop); every problem is reported at once.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `STOREFRONT_SESSION_KEY` | required (secret) | the storefront-session-key secret: signs the session cookies and CSRF tokens; at least 32 characters |

use kit::config::Env;
use secrecy::{ExposeSecret as _, SecretString};

/// Settings beyond the kit's.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Secret `storefront-session-key` (platform.toml), from `STOREFRONT_SESSION_KEY`.
    pub session_key: SecretString,
}

impl kit::config::Settings for Settings {
    fn read(env: &mut Env) -> Option<Self> {
        let session_key = env.secret(
            "STOREFRONT_SESSION_KEY",
            "the storefront-session-key secret, at least 32 random characters",
        )?;
        if session_key.expose_secret().len() < 32 {
            env.invalid("STOREFRONT_SESSION_KEY must be at least 32 characters (it signs cookies)");
            return None;
        }
        Some(Self { session_key })
    }
}

/// Everything storefront is configured with: the kit's settings and its own.
pub type Config = kit::config::Config<Settings>;
