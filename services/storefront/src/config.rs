//! Settings, read once from the environment at start; every problem is reported at once.

use kit::config::{CommonConfig, ConfigError, Env, Needs};
use secrecy::SecretString;

/// Stores this service declares in platform.toml.
pub const NEEDS: Needs = Needs {
    postgres: false,
    redis: false,
    kafka: false,
};

/// Everything storefront is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    pub common: CommonConfig,
    /// Secret `storefront-session-key` (platform.toml), from `STOREFRONT_SESSION_KEY`.
    pub storefront_session_key: SecretString,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut env = Env::from_process();
        let common = CommonConfig::read(&mut env, crate::NAME, NEEDS);
        let storefront_session_key = env.secret(
            "STOREFRONT_SESSION_KEY",
            "the storefront-session-key secret",
        );
        env.finish()?;
        Ok(Self {
            common,
            storefront_session_key: storefront_session_key.expect("checked by finish"),
        })
    }
}
