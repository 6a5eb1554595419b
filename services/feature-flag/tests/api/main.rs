//! Integration tests of feature-flag: the real application on a free port, against real stores.

mod helpers;
mod platform;
