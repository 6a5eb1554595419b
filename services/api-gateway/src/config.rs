//! api-gateway's own settings, read from the environment after the kit's; every problem is
//! reported at once (see `kit::config`).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `GATEWAY_UPSTREAM_TIMEOUT` | `8s` | longest wait for an upstream's response headers (504 after); keep below `REQUEST_TIMEOUT` |
//! | `GATEWAY_BODY_LIMIT` | `4194304` | largest request body passed on, in bytes (413 above) |
//! | `GATEWAY_RATE_WINDOW` | `1m` | window of the rate limits |
//! | `GATEWAY_RATE_PER_IP` | `600` | requests per client IP per window |
//! | `GATEWAY_RATE_PER_USER` | `1200` | requests per signed-in user per window |

use std::time::Duration;

use kit::config::Env;

/// Settings beyond the kit's.
#[derive(Debug, Clone)]
pub struct Settings {
    pub upstream_timeout: Duration,
    pub body_limit: usize,
    pub rate_window: Duration,
    pub rate_per_ip: u64,
    pub rate_per_user: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            upstream_timeout: Duration::from_secs(8),
            body_limit: 4 * 1024 * 1024,
            rate_window: Duration::from_secs(60),
            rate_per_ip: 600,
            rate_per_user: 1200,
        }
    }
}

impl kit::config::Settings for Settings {
    fn read(env: &mut Env) -> Option<Self> {
        let defaults = Self::default();
        let settings = Self {
            upstream_timeout: env.duration("GATEWAY_UPSTREAM_TIMEOUT", defaults.upstream_timeout),
            body_limit: env.or(
                "GATEWAY_BODY_LIMIT",
                defaults.body_limit,
                "bytes, e.g. 4194304",
            ),
            rate_window: env.duration("GATEWAY_RATE_WINDOW", defaults.rate_window),
            rate_per_ip: env.or(
                "GATEWAY_RATE_PER_IP",
                defaults.rate_per_ip,
                "a positive number",
            ),
            rate_per_user: env.or(
                "GATEWAY_RATE_PER_USER",
                defaults.rate_per_user,
                "a positive number",
            ),
        };
        if settings.rate_window < Duration::from_secs(1) {
            env.invalid("GATEWAY_RATE_WINDOW must be at least 1s");
        }
        Some(settings)
    }
}

/// Everything api-gateway is configured with: the kit's settings and its own.
pub type Config = kit::config::Config<Settings>;
