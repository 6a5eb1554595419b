//! notification's own settings, read from the environment after the kit's; every problem is
//! reported at once (see `kit::config`).

use kit::config::Env;
use secrecy::SecretString;

/// Settings beyond the kit's.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Secret `smtp-relay` (platform.toml), from `SMTP_RELAY`: `smtps://user:password@host:465`
    /// (TLS from the first byte), `smtp://user:password@host:587?tls=required` (STARTTLS), or
    /// `smtp://127.0.0.1:<port>` for a local sink (no TLS; only to 127.0.0.1).
    pub smtp_relay: SecretString,
    /// The sender, from `MAIL_FROM` (`no-reply@<domain>`).
    pub mail_from: String,
}

impl kit::config::Settings for Settings {
    fn read(env: &mut Env) -> Option<Self> {
        let smtp_relay = env.secret("SMTP_RELAY", "the smtp-relay secret");
        let mail_from = env.required(
            "MAIL_FROM",
            "the sender address, e.g. no-reply@shop.example.com",
        );
        Some(Self {
            smtp_relay: smtp_relay?,
            mail_from: mail_from?,
        })
    }
}

/// Everything notification is configured with: the kit's settings and its own.
pub type Config = kit::config::Config<Settings>;
