//! `spawn_app`: starts analytics-ingest on port 0 with a fresh database, its own Redis prefix and the
//! test broker, and returns a client for it.

use analytics_ingest::{Application, Config, NAME};
use kit::Shutdown;
use kit::app::Service as _;

/// A running instance of the service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

pub async fn spawn_app() -> TestApp {
    let common = kit::testing::common_config(NAME, None, false, true);
    let config = Config { common };
    let app = Application::build(config, Shutdown::new())
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    #[allow(clippy::disallowed_methods)] // the app under test lives as long as the test
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
    }
}
