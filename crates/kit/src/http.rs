//! The HTTP stack every service shares.
//!
//! [`ServiceRouter::finish`] wraps a service's API router with the platform endpoints
//! (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`) and the middleware every request goes
//! through, outermost first: panic catching, request id (`x-request-id`, generated when absent
//! and echoed back), trace context, a request span, per-route metrics, a timeout, and a body size
//! limit. Unknown paths and methods answer with problem documents like every other error.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tracing::Instrument;

use crate::health::Readiness;
use crate::problem::Problem;
use crate::shutdown::Shutdown;
use crate::telemetry::{self, TraceParent};

/// Header carrying the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// W3C trace context header.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Largest request body any service accepts unless it says otherwise.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The process-wide Prometheus recorder (installed on first use).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                &[
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            )
            .expect("bucket list is not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only when another recorder is installed; then ours still renders its own data.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// What the platform endpoints need to know about a service.
pub struct ServiceRouter {
    pub service: &'static str,
    pub openapi: utoipa::openapi::OpenApi,
    pub readiness: Readiness,
    pub request_timeout: Duration,
    pub body_limit: usize,
}

impl ServiceRouter {
    pub fn new(
        service: &'static str,
        openapi: utoipa::openapi::OpenApi,
        readiness: Readiness,
    ) -> Self {
        Self {
            service,
            openapi,
            readiness,
            request_timeout: Duration::from_secs(10),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Adds the platform endpoints and middleware around `api`.
    pub fn finish(self, api: Router) -> Router {
        let metrics = prometheus().clone();
        let openapi = std::sync::Arc::new(self.openapi);
        let readiness = self.readiness;
        let timeout = self.request_timeout;
        let platform = Router::new()
            .route(
                "/healthz",
                get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
            )
            .route(
                "/readyz",
                get(move || {
                    let readiness = readiness.clone();
                    async move { readiness.report().await }
                }),
            )
            .route(
                "/metrics",
                get(move || std::future::ready(metrics.render())),
            )
            .route(
                "/openapi.json",
                get(move || std::future::ready(axum::Json(openapi.as_ref().clone()))),
            );
        api.merge(platform)
            .fallback(|| async { Problem::new(StatusCode::NOT_FOUND).detail("No such resource.") })
            .method_not_allowed_fallback(|| async {
                Problem::new(StatusCode::METHOD_NOT_ALLOWED)
                    .detail("This resource does not support that method.")
            })
            .layer(DefaultBodyLimit::max(self.body_limit))
            .layer(middleware::from_fn_with_state(timeout, observe))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(CatchPanicLayer::custom(|_| {
                tracing::error!("handler panicked");
                Problem::internal().into_response()
            }))
    }
}

/// Span, trace context, metrics and timeout for one request.
async fn observe(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let incoming = request
        .headers()
        .get(&TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(TraceParent::parse);
    let span = tracing::info_span!(
        "request",
        method = %method,
        route = %route,
        request_id = %request_id,
        trace_id = tracing::field::Empty,
    );
    let trace = telemetry::attach(&span, incoming);
    let quiet = matches!(route.as_str(), "/healthz" | "/readyz" | "/metrics");

    let work = telemetry::scope(trace, next.run(request));
    let mut response = match tokio::time::timeout(timeout, work.instrument(span.clone())).await {
        Ok(response) => response,
        Err(_) => Problem::new(StatusCode::SERVICE_UNAVAILABLE)
            .kind("timeout")
            .detail("The request took too long and was abandoned.")
            .into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&trace.to_string()) {
        response.headers_mut().insert(TRACEPARENT, value);
    }

    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed().as_secs_f64();
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", status),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed);
    span.in_scope(|| {
        if quiet {
            tracing::debug!(
                status = response.status().as_u16(),
                elapsed_ms = elapsed * 1e3,
                "served"
            );
        } else {
            tracing::info!(
                status = response.status().as_u16(),
                elapsed_ms = elapsed * 1e3,
                "served"
            );
        }
    });
    response
}

/// Binds `host:port` (port 0 picks a free port).
pub async fn bind(host: &str, port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind((host, port)).await
}

/// Serves `router` until shutdown begins; keeps accepting for `drain_delay` (while readiness
/// already fails), then stops accepting and finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
    drain_delay: Duration,
) -> std::io::Result<()> {
    let token = shutdown.token();
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        token.cancelled().await;
        tokio::time::sleep(drain_delay).await;
    })
    .await
}

/// The client's address. With no trusted proxies in front (`trusted_hops` = 0) it is the peer.
/// Behind `trusted_hops` proxies that each append the address they saw to `X-Forwarded-For`
/// (Envoy and the Istio gateway do), it is the entry that many places from the right: entries
/// further left were written by the client and prove nothing.
pub fn client_ip(headers: &axum::http::HeaderMap, peer: SocketAddr, trusted_hops: usize) -> String {
    if trusted_hops == 0 {
        return peer.ip().to_string();
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    hops.len()
        .checked_sub(trusted_hops)
        .and_then(|i| hops.get(i))
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
        .map_or_else(|| peer.ip().to_string(), |ip| (*ip).to_owned())
}

#[cfg(test)]
mod tests {
    use super::client_ip;

    #[test]
    fn client_ip_counts_trusted_hops_from_the_right() {
        let peer = "10.0.0.9:5000".parse().unwrap();
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        assert_eq!(client_ip(&headers, peer, 0), "10.0.0.9", "no proxy trusted");
        assert_eq!(
            client_ip(&headers, peer, 1),
            "203.0.113.7",
            "what the gateway saw"
        );
        assert_eq!(client_ip(&headers, peer, 2), "6.6.6.6");
        assert_eq!(
            client_ip(&headers, peer, 3),
            "10.0.0.9",
            "fewer hops than trusted"
        );
    }
}
