//! `spawn_gateway`: the gateway on a free port against fresh stores (see `kit::testing`), each
//! service it calls replaced by a stand-in that answers with what it received (its name, the
//! path, query, headers and body length); `/slow` never answers in time, `/big` answers 5 MiB.

use std::collections::BTreeMap;
use std::time::Duration;

use api_gateway::{Application, Settings};
use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::routing::any;
use kit::testing::TestApp;
use serde_json::{Value, json};

/// A stand-in for `service` on a free port; returns its base URL.
async fn stand_in(service: &'static str) -> String {
    let router = Router::new().fallback(any(move |request: Request| async move {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path();
        if path.ends_with("/slow") {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        if path.ends_with("/big") {
            return axum::response::IntoResponse::into_response(vec![b'x'; 5 * 1024 * 1024]);
        }
        let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let headers: BTreeMap<String, String> = parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("?").to_owned()))
            .collect();
        axum::response::IntoResponse::into_response(axum::Json(json!({
            "service": service,
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "query": parts.uri.query(),
            "headers": headers,
            "body_length": body.len(),
        })))
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    #[allow(clippy::disallowed_methods)] // the stand-in lives as long as the test
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// The gateway with stand-ins for every service it calls, and `settings`.
pub async fn spawn_gateway_with(settings: Settings) -> TestApp {
    let mut builder = TestApp::builder(settings);
    for service in api_gateway::platform::MANIFEST.calls {
        builder = builder.call(service, &stand_in(service).await);
    }
    builder
        .spawn(Application::build, Application::run_until_stopped)
        .await
}

pub async fn spawn_gateway() -> TestApp {
    spawn_gateway_with(Settings::default()).await
}

/// What a stand-in received.
pub async fn echoed(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}
