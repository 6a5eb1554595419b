//! Settings, read once from the environment at start; every problem is reported at once.

use kit::config::{CommonConfig, ConfigError, Env, Needs};
use secrecy::SecretString;

/// Stores this service declares in platform.toml.
pub const NEEDS: Needs = Needs {
    postgres: true,
    redis: false,
    kafka: true,
};

/// Everything notification is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    pub common: CommonConfig,
    /// Secret `smtp-password` (platform.toml), from `SMTP_PASSWORD`.
    pub smtp_password: SecretString,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut env = Env::from_process();
        let common = CommonConfig::read(&mut env, crate::NAME, NEEDS);
        let smtp_password = env.secret("SMTP_PASSWORD", "the smtp-password secret");
        env.finish()?;
        Ok(Self {
            common,
            smtp_password: smtp_password.expect("checked by finish"),
        })
    }
}
