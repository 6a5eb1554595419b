//! Integration tests of reporting: the real application on a free port, against real stores.

mod helpers;
mod platform;
