//! Integration tests of notification: the real application on a free port, against real stores.

mod helpers;
mod platform;
