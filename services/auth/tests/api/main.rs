//! Integration tests of auth: the real application on a free port, against real stores.

mod erasure;
mod helpers;
mod openapi;
mod outbox;
mod refresh;
mod signin;
mod signout;
mod signup;
mod tokens;
