//! Graceful shutdown of the HTTP server: once shutdown begins, `/readyz` answers 503 "draining"
//! while the listener still accepts for the drain delay, then the server stops and `run` returns.

use std::time::{Duration, Instant};

use axum::Router;
use kit::Shutdown;
use kit::app::{Api, Manifest, Runtime, Server, Tokens};
use kit::health::Readiness;

const MANIFEST: Manifest = Manifest {
    name: "drain-test",
    postgres: false,
    migrations: None,
    redis: false,
    produces: &[],
    consumes: &[],
    calls: &[],
    tokens: Tokens::None,
};

#[tokio::test]
async fn readiness_fails_while_draining_then_the_server_stops() {
    let shutdown = Shutdown::new();
    let mut common = kit::testing::common_config("drain-test");
    common.drain_delay = Duration::from_millis(800);
    let runtime = Runtime::new(MANIFEST, shutdown.clone(), Readiness::new(&shutdown));
    let api = Api::new(
        utoipa::openapi::OpenApiBuilder::new().build(),
        Router::new(),
    );
    let server = Server::bind(api, &common, &runtime).await.unwrap();
    assert_eq!(runtime.port(), Some(server.port()));
    let url = format!("http://127.0.0.1:{}/readyz", server.port());
    #[allow(clippy::disallowed_methods)] // the server under test
    let running = tokio::spawn(server.run_until_stopped());
    let client = reqwest::Client::new();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);

    let started = Instant::now();
    shutdown.trigger();
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "draining");

    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the server stops after the drain delay")
        .unwrap()
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(800));
    assert!(
        client.get(&url).send().await.is_err(),
        "the listener is closed"
    );
}
