//! `spawn_app`: notification on a free port against fresh stores (see `kit::testing`).

pub use kit::testing::TestApp;
use notification::{Application, Settings};

pub async fn spawn_app() -> TestApp {
    let settings = Settings {
        smtp_password: "test-smtp-password".to_owned().into(),
    };
    TestApp::builder(settings)
        .spawn(Application::build, Application::run_until_stopped)
        .await
}
