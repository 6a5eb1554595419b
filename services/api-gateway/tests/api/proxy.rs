//! The gateway: its routing table is platform.toml's, requests and answers pass through intact
//! and streamed, forged identity and forwarding headers never reach a service, tokens are checked
//! at the edge, and every answer the gateway makes itself (404, 401, 413, 429, 502, 504) is a
//! problem document.

use std::time::{Duration, Instant};

use api_gateway::Settings;
use kit::testing::problem;
use xtask::model::Platform;

use crate::helpers::{echoed, spawn_gateway, spawn_gateway_with};

#[tokio::test]
async fn every_route_of_platform_toml_reaches_its_service() {
    let app = spawn_gateway().await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../platform.toml");
    let platform = Platform::load(&path).unwrap();
    let mut checked = 0;
    for service in platform.services.values() {
        for route in &service.routes {
            let seen = echoed(app.get(&format!("{route}/x?y=1")).send().await.unwrap()).await;
            assert_eq!(seen["service"], service.name.as_str(), "{route}");
            assert_eq!(seen["path"], format!("{route}/x"));
            assert_eq!(seen["query"], "y=1");
            let exact = echoed(app.get(route).send().await.unwrap()).await;
            assert_eq!(exact["service"], service.name.as_str(), "{route} itself");
            checked += 1;
        }
    }
    assert!(checked >= 13, "{checked} routes");
    // The rendered table and platform.toml agree in size too: nothing routed that is not declared.
    assert_eq!(api_gateway::platform::ROUTES.len(), checked);
}

#[tokio::test]
async fn paths_no_service_declares_are_404_problems() {
    let app = spawn_gateway().await;
    for path in ["/", "/v1", "/v1/cartsy", "/admin", "/v2/carts/x"] {
        let response = app.get(path).send().await.unwrap();
        let body = problem(response, 404).await;
        assert_ne!(body["type"], "", "{path}");
    }
}

#[tokio::test]
async fn forged_identity_and_forwarding_headers_never_reach_a_service() {
    let app = spawn_gateway().await;
    let seen = echoed(
        app.get("/v1/carts/mine")
            .header("x-user-id", "00000000-0000-0000-0000-000000000001")
            .header("x-user-role", "admin")
            .header("x-auth-user", "admin")
            .header("x-forwarded-for", "6.6.6.6")
            .header("x-forwarded-host", "evil.example.com")
            .header("forwarded", "for=6.6.6.6;host=evil")
            .header("x-real-ip", "6.6.6.6")
            .header("x-envoy-original-path", "/admin")
            .header("connection", "x-hop")
            .header("x-hop", "1")
            .header("x-request-id", "req-7")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let headers = seen["headers"].as_object().unwrap();
    for forged in [
        "x-user-id",
        "x-user-role",
        "x-auth-user",
        "forwarded",
        "x-real-ip",
        "x-envoy-original-path",
        "x-hop",
        "connection",
    ] {
        assert!(
            !headers.contains_key(forged),
            "{forged} reached the service: {headers:?}"
        );
    }
    assert_eq!(
        headers["x-forwarded-for"], "127.0.0.1",
        "the client the gateway saw"
    );
    assert_ne!(headers["x-forwarded-host"], "evil.example.com");
    assert_eq!(headers["x-request-id"], "req-7");
    assert!(headers["traceparent"].as_str().unwrap().starts_with("00-"));
}

#[tokio::test]
async fn tokens_are_checked_at_the_edge_and_passed_on() {
    let app = spawn_gateway().await;
    let bad = app
        .get("/v1/carts/mine")
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert!(bad.headers().contains_key("www-authenticate"));
    problem(bad, 401).await;
    let (token, _) = app.customer();
    let seen = echoed(
        app.get("/v1/carts/mine")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(seen["headers"]["authorization"], format!("Bearer {token}"));
    let anonymous = echoed(app.get("/v1/products").send().await.unwrap()).await;
    assert!(anonymous["headers"].get("authorization").is_none());
}

#[tokio::test]
async fn bodies_stream_both_ways_within_the_limit() {
    let app = spawn_gateway_with(Settings {
        body_limit: 3 * 1024 * 1024,
        ..Settings::default()
    })
    .await;
    let body = vec![b'a'; 2 * 1024 * 1024];
    let seen = echoed(app.post("/v1/products").body(body).send().await.unwrap()).await;
    assert_eq!(seen["body_length"], 2 * 1024 * 1024);
    assert_eq!(seen["method"], "POST");
    let big = app.get("/v1/products/big").send().await.unwrap();
    assert_eq!(big.status(), 200);
    assert_eq!(big.bytes().await.unwrap().len(), 5 * 1024 * 1024);

    let too_big = vec![b'a'; 4 * 1024 * 1024];
    problem(
        app.post("/v1/products").body(too_big).send().await.unwrap(),
        413,
    )
    .await;
    // Without a declared length the limit still holds: the stream is cut.
    let stream =
        futures::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 64 * 1024])));
    let chunked = app
        .post("/v1/products")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    problem(chunked, 413).await;
}

#[tokio::test]
async fn a_slow_upstream_is_504_and_a_missing_one_502() {
    let app = spawn_gateway_with(Settings {
        upstream_timeout: Duration::from_millis(300),
        ..Settings::default()
    })
    .await;
    let started = Instant::now();
    let slow = app.get("/v1/products/slow").send().await.unwrap();
    problem(slow, 504).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the stand-in sleeps a minute"
    );

    let lonely = kit::testing::TestApp::builder(Settings::default())
        .spawn(
            api_gateway::Application::build,
            api_gateway::Application::run_until_stopped,
        )
        .await;
    let response = lonely.get("/v1/products").send().await.unwrap();
    assert!(response.headers().contains_key("retry-after"));
    problem(response, 502).await;
}

#[tokio::test]
async fn rate_limits_per_client_and_per_user() {
    let app = spawn_gateway_with(Settings {
        rate_per_ip: 3,
        rate_per_user: 2,
        ..Settings::default()
    })
    .await;
    for remaining in [2, 1, 0] {
        let response = app.get("/v1/products").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["ratelimit-limit"], "3");
        assert_eq!(
            response.headers()["ratelimit-remaining"],
            remaining.to_string().as_str()
        );
    }
    let limited = app.get("/v1/products").send().await.unwrap();
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(limited.headers().contains_key("ratelimit-reset"));
    problem(limited, 429).await;

    // A user's own limit, counted apart from the client's address (which is spent already, so a
    // fresh app).
    let app = spawn_gateway_with(Settings {
        rate_per_ip: 100,
        rate_per_user: 2,
        ..Settings::default()
    })
    .await;
    let (token, _) = app.customer();
    for _ in 0..2 {
        let ok = app
            .get("/v1/carts/mine")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
    }
    let limited = app
        .get("/v1/carts/mine")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    problem(limited, 429).await;
    let (other, _) = app.customer();
    let ok = app
        .get("/v1/carts/mine")
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "another user is not limited by the first");
}
