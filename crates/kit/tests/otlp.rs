//! OTLP export: with `otlp_endpoint` set, request spans reach the collector over OTLP/HTTP, and
//! the trace id a client sent in `traceparent` is the one exported and echoed back. A collector
//! stand-in (a real HTTP server on a free port) records what it receives.
//!
//! One test in its own binary: the tracing subscriber is global to the process.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use kit::Shutdown;
use kit::app::{Api, Manifest, Runtime, Server, Tokens};
use kit::health::Readiness;

const MANIFEST: Manifest = Manifest {
    name: "otlp-test",
    postgres: false,
    migrations: None,
    redis: false,
    produces: &[],
    consumes: &[],
    calls: &[],
    tokens: Tokens::None,
};

#[derive(Default, Clone)]
struct Received(Arc<Mutex<Vec<(String, Bytes)>>>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_spans_are_exported_with_the_incoming_trace_id() {
    let received = Received::default();
    let collector = Router::new().route(
        "/v1/traces",
        post({
            let received = received.clone();
            move |headers: HeaderMap, body: Bytes| async move {
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                received.0.lock().unwrap().push((content_type, body));
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    #[allow(clippy::disallowed_methods)] // the collector stand-in is not a platform task
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let mut config = kit::testing::common_config("otlp-test");
    config.otlp_endpoint = Some(endpoint);
    let telemetry = kit::telemetry::init(&config);

    let shutdown = Shutdown::new();
    let runtime = Runtime::new(MANIFEST, shutdown.clone(), Readiness::new(&shutdown));
    let api = Api::new(
        utoipa::openapi::OpenApiBuilder::new().build(),
        Router::new(),
    );
    let server = Server::bind(api, &config, &runtime).await.unwrap();
    let url = format!("http://127.0.0.1:{}/healthz", server.port());
    #[allow(clippy::disallowed_methods)] // the server under test
    tokio::spawn(server.run_until_stopped());

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = reqwest::Client::new()
        .get(&url)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echoed = response.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(echoed.starts_with(&format!("00-{trace_id}-")), "{echoed}");
    assert!(
        !echoed.contains("00f067aa0ba902b7"),
        "the response names this service's span"
    );

    // Shutting telemetry down flushes the batch exporter (off the async threads).
    telemetry.shutdown().await;
    let received = received.0.lock().unwrap().clone();
    assert!(!received.is_empty(), "the collector received no spans");
    let (content_type, body) = &received[0];
    assert_eq!(content_type, "application/x-protobuf");
    let raw_trace_id = (0..trace_id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&trace_id[i..i + 2], 16).unwrap())
        .collect::<Vec<u8>>();
    assert!(
        body.windows(16).any(|w| w == raw_trace_id.as_slice()),
        "the exported span carries the incoming trace id"
    );
    shutdown.trigger();
}
