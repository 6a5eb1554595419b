//! `spawn_app`: analytics-ingest on a free port against fresh stores (see `kit::testing`).

use analytics_ingest::{Application, Settings};
pub use kit::testing::TestApp;

pub async fn spawn_app() -> TestApp {
    let settings = Settings {};
    TestApp::builder(settings)
        .spawn(Application::build, Application::run_until_stopped)
        .await
}
