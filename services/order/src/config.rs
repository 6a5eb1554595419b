//! Settings, read once from the environment at start; every problem is reported at once.

use kit::config::{CommonConfig, ConfigError, Env, Needs};
use secrecy::SecretString;

/// Stores this service declares in platform.toml.
pub const NEEDS: Needs = Needs {
    postgres: true,
    redis: false,
    kafka: true,
};

/// Everything order is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    pub common: CommonConfig,
    /// Secret `payment-provider-key` (platform.toml), from `PAYMENT_PROVIDER_KEY`.
    pub payment_provider_key: SecretString,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut env = Env::from_process();
        let common = CommonConfig::read(&mut env, crate::NAME, NEEDS);
        let payment_provider_key =
            env.secret("PAYMENT_PROVIDER_KEY", "the payment-provider-key secret");
        env.finish()?;
        Ok(Self {
            common,
            payment_provider_key: payment_provider_key.expect("checked by finish"),
        })
    }
}
