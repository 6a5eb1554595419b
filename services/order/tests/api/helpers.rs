//! `spawn_app`: order on a free port against fresh stores (see `kit::testing`).

pub use kit::testing::TestApp;
use order::{Application, Settings};

pub async fn spawn_app() -> TestApp {
    let settings = Settings {
        payment_provider_key: "test-payment-provider-key".to_owned().into(),
    };
    TestApp::builder(settings)
        .spawn(Application::build, Application::run_until_stopped)
        .await
}
