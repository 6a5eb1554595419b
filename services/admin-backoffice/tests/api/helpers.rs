//! `spawn_app`: admin-backoffice on a free port against fresh stores (see `kit::testing`).

use admin_backoffice::{Application, Settings};
pub use kit::testing::TestApp;

pub async fn spawn_app() -> TestApp {
    let settings = Settings {
        admin_session_key: "test-admin-session-key".to_owned().into(),
    };
    TestApp::builder(settings)
        .spawn(Application::build, Application::run_until_stopped)
        .await
}
