//! `spawn_app`: storefront on a free port against fresh stores (see `kit::testing`).

pub use kit::testing::TestApp;
use storefront::{Application, Settings};

pub async fn spawn_app() -> TestApp {
    let settings = Settings {
        storefront_session_key: "test-storefront-session-key".to_owned().into(),
    };
    TestApp::builder(settings)
        .spawn(Application::build, Application::run_until_stopped)
        .await
}
