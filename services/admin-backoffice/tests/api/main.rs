//! Integration tests of admin-backoffice: the real application on a free port, against real stores.

mod helpers;
mod platform;
