//! Settings, read once from the environment at start; every problem is reported at once.

use kit::config::{CommonConfig, ConfigError, Env, Needs};

/// Stores this service declares in platform.toml.
pub const NEEDS: Needs = Needs {
    postgres: true,
    redis: true,
    kafka: true,
};

/// Everything product is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    pub common: CommonConfig,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut env = Env::from_process();
        let common = CommonConfig::read(&mut env, crate::NAME, NEEDS);
        env.finish()?;
        Ok(Self { common })
    }
}
