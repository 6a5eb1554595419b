//! Integration tests of api-gateway: the real application on a free port, against real stores.

mod helpers;
mod platform;
