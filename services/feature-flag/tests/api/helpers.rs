//! `spawn_app`: feature-flag on a free port against fresh stores (see `kit::testing`).

use feature_flag::{Application, Settings};
pub use kit::testing::TestApp;

pub async fn spawn_app() -> TestApp {
    let settings = Settings {};
    TestApp::builder(settings)
        .spawn(Application::build, Application::run_until_stopped)
        .await
}
