//! Integration tests of analytics-ingest: the real application on a free port, against real stores.

mod helpers;
mod platform;
