//! `spawn_app`: starts order on port 0 with a fresh database, its own Redis prefix and the
//! test broker, and returns a client for it.

use kit::Shutdown;
use kit::app::Service as _;
use kit::testing::TestDatabase;
use order::{Application, Config, NAME};

/// A running instance of the service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The service's database; dropped with the app.
    #[allow(dead_code)] // not every test queries it directly
    pub db: TestDatabase,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

pub async fn spawn_app() -> TestApp {
    let db = TestDatabase::create(&order::storage::MIGRATOR).await;
    let common = kit::testing::common_config(NAME, Some(&db), false, true);
    let config = Config {
        common,
        payment_provider_key: "test-payment-provider-key".to_owned().into(),
    };
    let app = Application::build(config, Shutdown::new())
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    #[allow(clippy::disallowed_methods)] // the app under test lives as long as the test
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        db,
    }
}
