//! `spawn_app`: storefront on a free port against fresh stores (see `kit::testing`), with its
//! gateway nowhere: the pages that need the API answer as they do when it is down. The whole
//! shop (gateway, auth, product, cart and storefront) is started by the `e2e` crate's tests.

pub use kit::testing::TestApp;
use storefront::{Application, Settings};

pub async fn spawn_app() -> TestApp {
    let settings = Settings {
        session_key: "test-storefront-session-key-of-32-chars-or-more"
            .to_owned()
            .into(),
    };
    TestApp::builder(settings)
        .spawn(Application::build, Application::run_until_stopped)
        .await
}
