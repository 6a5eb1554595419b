//! `spawn_app`: conversion-webhook on a free port against fresh stores (see `kit::testing`).

use conversion_webhook::{Application, Settings};
pub use kit::testing::TestApp;

pub async fn spawn_app() -> TestApp {
    let settings = Settings {
        partner_webhook_secret: "test-partner-webhook-secret".to_owned().into(),
    };
    TestApp::builder(settings)
        .spawn(Application::build, Application::run_until_stopped)
        .await
}
