//! cart's own settings, read from the environment after the kit's; every problem is
//! reported at once (see `kit::config`).

use kit::config::Env;

/// Settings beyond the kit's.
#[derive(Debug, Clone)]
pub struct Settings {}

impl kit::config::Settings for Settings {
    fn read(_env: &mut Env) -> Option<Self> {
        Some(Self {})
    }
}

/// Everything cart is configured with: the kit's settings and its own.
pub type Config = kit::config::Config<Settings>;
