//! `spawn_app`: offer on a free port against fresh stores (see `kit::testing`).

pub use kit::testing::TestApp;
use offer::{Application, Settings};

pub async fn spawn_app() -> TestApp {
    let settings = Settings {};
    TestApp::builder(settings)
        .spawn(Application::build, Application::run_until_stopped)
        .await
}
