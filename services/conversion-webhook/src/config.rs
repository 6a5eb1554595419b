//! Settings, read once from the environment at start; every problem is reported at once.

use kit::config::{CommonConfig, ConfigError, Env, Needs};
use secrecy::SecretString;

/// Stores this service declares in platform.toml.
pub const NEEDS: Needs = Needs {
    postgres: true,
    redis: false,
    kafka: true,
};

/// Everything conversion-webhook is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    pub common: CommonConfig,
    /// Secret `partner-webhook-secret` (platform.toml), from `PARTNER_WEBHOOK_SECRET`.
    pub partner_webhook_secret: SecretString,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut env = Env::from_process();
        let common = CommonConfig::read(&mut env, crate::NAME, NEEDS);
        let partner_webhook_secret = env.secret(
            "PARTNER_WEBHOOK_SECRET",
            "the partner-webhook-secret secret",
        );
        env.finish()?;
        Ok(Self {
            common,
            partner_webhook_secret: partner_webhook_secret.expect("checked by finish"),
        })
    }
}
