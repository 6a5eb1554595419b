//! cart's own settings, read from the environment after the kit's; every problem is reported at
//! once (see `kit::config`).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `CART_TTL` | `30d` | a cart is forgotten this long after it was last used (read or changed) |
//! | `CART_MAX_QUANTITY` | `99` | most units of one variant in a cart |
//! | `CART_MAX_LINES` | `50` | most distinct variants in a cart |

use std::time::Duration;

use kit::config::Env;

/// Settings beyond the kit's.
#[derive(Debug, Clone)]
pub struct Settings {
    pub ttl: Duration,
    pub max_quantity: u32,
    pub max_lines: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30 * 86_400),
            max_quantity: 99,
            max_lines: 50,
        }
    }
}

impl kit::config::Settings for Settings {
    fn read(env: &mut Env) -> Option<Self> {
        let defaults = Self::default();
        let settings = Self {
            ttl: env.duration("CART_TTL", defaults.ttl),
            max_quantity: env.or(
                "CART_MAX_QUANTITY",
                defaults.max_quantity,
                "a positive number",
            ),
            max_lines: env.or("CART_MAX_LINES", defaults.max_lines, "a positive number"),
        };
        if settings.ttl < Duration::from_secs(60) {
            env.invalid("CART_TTL must be at least 1m");
        }
        if settings.max_quantity == 0 || settings.max_lines == 0 {
            env.invalid("CART_MAX_QUANTITY and CART_MAX_LINES must be positive");
        }
        Some(settings)
    }
}

/// Everything cart is configured with: the kit's settings and its own.
pub type Config = kit::config::Config<Settings>;
