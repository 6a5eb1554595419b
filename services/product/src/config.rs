//! product's own settings, read from the environment after the kit's; every problem is
//! reported at once (see `kit::config`).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PRODUCT_CACHE_TTL` | `5m` | how long cached reads live in Redis (writes invalidate them sooner); `0s` reads PostgreSQL every time |

use std::time::Duration;

use kit::config::Env;

/// Settings beyond the kit's.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long cached reads live; zero turns the cache off.
    pub cache_ttl: Duration,
}

/// The defaults (what tests run with).
impl Default for Settings {
    fn default() -> Self {
        Self {
            cache_ttl: crate::catalog::CACHE_TTL,
        }
    }
}

impl kit::config::Settings for Settings {
    fn read(env: &mut Env) -> Option<Self> {
        Some(Self {
            cache_ttl: env.duration("PRODUCT_CACHE_TTL", crate::catalog::CACHE_TTL),
        })
    }
}

/// Everything product is configured with: the kit's settings and its own.
pub type Config = kit::config::Config<Settings>;
