//! Settings, read once from the environment at start; every problem is reported at once.

use kit::config::{CommonConfig, ConfigError, Env, Needs};
use secrecy::SecretString;

/// Stores this service declares in platform.toml.
pub const NEEDS: Needs = Needs {
    postgres: true,
    redis: true,
    kafka: true,
};

/// Everything auth is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    pub common: CommonConfig,
    /// Secret `auth-signing-key` (platform.toml), from `AUTH_SIGNING_KEY`.
    pub auth_signing_key: SecretString,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut env = Env::from_process();
        let common = CommonConfig::read(&mut env, crate::NAME, NEEDS);
        let auth_signing_key = env.secret("AUTH_SIGNING_KEY", "the auth-signing-key secret");
        env.finish()?;
        Ok(Self {
            common,
            auth_signing_key: auth_signing_key.expect("checked by finish"),
        })
    }
}
