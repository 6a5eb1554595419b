//! `spawn_app`: offer on a free port against fresh stores (see `kit::testing`), and coupon
//! bodies.

pub use kit::testing::TestApp;
use offer::{Application, Settings};
use serde_json::{Value, json};

pub async fn spawn_app() -> TestApp {
    let settings = Settings {};
    TestApp::builder(settings)
        .spawn(Application::build, Application::run_until_stopped)
        .await
}

/// A coupon body in USD, no limits.
pub fn coupon(code: &str, kind: &str, value: i64) -> Value {
    json!({"code": code, "kind": kind, "value": value, "currency": "USD", "description": format!("{code} off")})
}
