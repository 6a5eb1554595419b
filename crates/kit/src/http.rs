//! The HTTP stack every service shares.
//!
//! [`ServiceRouter::finish`] wraps a service's API router with the platform endpoints
//! (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`) and the middleware every request goes
//! through, outermost first: panic catching, then one function ([`observe`]) that takes or makes
//! the request id (`x-request-id`, echoed back), continues the caller's trace, makes both current
//! for the handler (the kit's client sends them on; every log line carries them), applies the
//! timeout, and records per-route metrics and one access-log line; then a body size limit.
//! Unknown paths and methods answer with problem documents like every other error.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;
use utoipa::OpenApi as _;

use crate::health::Readiness;
use crate::problem::Problem;
use crate::shutdown::Shutdown;
use crate::telemetry;

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

/// What the platform endpoints and middleware need to know about a service.
pub struct ServiceRouter {
    pub service: &'static str,
    pub openapi: utoipa::openapi::OpenApi,
    pub readiness: Readiness,
    pub request_timeout: Duration,
    pub body_limit: usize,
    /// Proxies in front that append to `X-Forwarded-For` (see [`crate::extract::ClientIp`]).
    pub trusted_proxy_hops: usize,
}

/// How many trusted proxies stand in front, put on every request for [`crate::extract::ClientIp`].
#[derive(Debug, Clone, Copy)]
pub struct TrustedHops(pub usize);

/// Per-request settings [`observe`] reads.
#[derive(Clone, Copy)]
struct Observe {
    timeout: Duration,
    hops: TrustedHops,
}

impl ServiceRouter {
    /// Adds the platform endpoints and middleware around `api`.
    pub fn finish(self, api: Router) -> Router {
        let metrics = prometheus().clone();
        let mut document = self.openapi;
        document.merge(PlatformDoc::openapi());
        let unresolved = crate::openapi::unresolved_refs(&document);
        debug_assert!(
            unresolved.is_empty(),
            "{}'s OpenAPI document refers to schemas it does not define: {unresolved:?}; list them in `components(schemas(...))`",
            self.service
        );
        // Serialised once: the document never changes while the process runs.
        let openapi = axum::body::Bytes::from(
            serde_json::to_vec(&document).expect("an OpenAPI document serializes"),
        );
        let platform = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .with_state(self.readiness)
            .route(
                "/metrics",
                get(move || std::future::ready(metrics.render())),
            )
            .route(
                "/openapi.json",
                get(move || {
                    std::future::ready(
                        (
                            [(
                                axum::http::header::CONTENT_TYPE,
                                HeaderValue::from_static("application/json"),
                            )],
                            openapi.clone(),
                        )
                            .into_response(),
                    )
                }),
            );
        let settings = Observe {
            timeout: self.request_timeout,
            hops: TrustedHops(self.trusted_proxy_hops),
        };
        api.merge(platform)
            .fallback(|| async { Problem::new(StatusCode::NOT_FOUND).detail("No such resource.") })
            .method_not_allowed_fallback(|| async {
                Problem::new(StatusCode::METHOD_NOT_ALLOWED)
                    .detail("This resource does not support that method.")
            })
            .layer(DefaultBodyLimit::max(self.body_limit))
            .layer(middleware::from_fn_with_state(settings, observe))
            .layer(CatchPanicLayer::custom(|_| {
                tracing::error!("handler panicked");
                Problem::internal().into_response()
            }))
    }
}

/// The platform endpoints, documented in every service's `/openapi.json` under the `platform`
/// tag, so contract tests cover them like the service's own.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(healthz, readyz, metrics_doc, openapi_doc),
    components(schemas(Alive, ReadinessReport, CheckReport)),
    tags((name = "platform", description = "Liveness, readiness, metrics and this document: the same on every service"))
)]
struct PlatformDoc;

/// Body of `/healthz`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documents the JSON the handler writes
struct Alive {
    #[schema(pattern = "^ok$", example = "ok")]
    status: String,
}

/// Body of `/readyz`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ReadinessReport {
    /// `ok` when every check passes, `failing` when one does not, `draining` during shutdown.
    #[schema(pattern = "^(ok|failing|draining)$")]
    status: String,
    /// One entry per dependency (`postgres`, `redis`, `kafka`, ...).
    checks: std::collections::BTreeMap<String, CheckReport>,
}

/// One readiness check.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct CheckReport {
    #[schema(pattern = "^(ok|failing)$")]
    status: String,
}

/// Liveness: the process answers. The kubelet restarts it otherwise.
#[utoipa::path(get, path = "/healthz", tag = "platform", operation_id = "healthz",
    responses((status = 200, description = "The process is alive", body = Alive)))]
async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: every store the service uses answers and it is not shutting down.
#[utoipa::path(get, path = "/readyz", tag = "platform", operation_id = "readyz",
    responses(
        (status = 200, description = "Ready to serve", body = ReadinessReport),
        (status = 503, description = "Not ready: a check fails or the service is draining", body = ReadinessReport),
    ))]
async fn readyz(State(readiness): State<Readiness>) -> Response {
    readiness.report().await
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "platform", operation_id = "metrics",
    responses((status = 200, description = "Metrics in the Prometheus text format", body = String, content_type = "text/plain")))]
#[allow(dead_code)] // documents the route `finish` serves with a closure
fn metrics_doc() {}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "platform", operation_id = "openapi",
    responses((status = 200, description = "The service's OpenAPI 3.1 document", body = Object, content_type = "application/json")))]
#[allow(dead_code)]
fn openapi_doc() {}

/// What every log line written while serving a request says about it (the `request` member of
/// [`crate::json_log`]'s lines), and the id the kit's client sends on.
#[derive(Debug, Clone)]
pub(crate) struct RequestFields {
    pub method: &'static str,
    route: Route,
    pub id: HeaderValue,
    /// The trace id as 32 hex digits.
    pub trace_id: [u8; 32],
}

/// The route template of a request.
#[derive(Debug, Clone)]
enum Route {
    Matched(MatchedPath),
    #[cfg_attr(not(test), allow(dead_code))]
    Named(&'static str),
    Unmatched,
}

impl RequestFields {
    /// The route template that matched, or `unmatched`.
    pub fn route(&self) -> &str {
        match &self.route {
            Route::Matched(path) => path.as_str(),
            Route::Named(name) => name,
            Route::Unmatched => "unmatched",
        }
    }
}

#[cfg(test)]
impl RequestFields {
    /// Fields as a request to `route` would have them, with a fixed trace id.
    pub fn for_test(method: &'static str, route: &'static str, id: &str) -> Self {
        Self {
            method,
            route: Route::Named(route),
            id: HeaderValue::from_str(id).unwrap(),
            trace_id: *b"4bf92f3577b34da6a3ce929d0e0e4736",
        }
    }
}

/// Runs `f` as if serving the request `fields` describe.
#[cfg(test)]
pub(crate) fn in_request_for_test<R>(fields: RequestFields, f: impl FnOnce() -> R) -> R {
    REQUEST.sync_scope(fields, f)
}

tokio::task_local! {
    static REQUEST: RequestFields;
}

/// The id of the request being handled, for the kit's client to send on.
pub fn current_request_id() -> Option<HeaderValue> {
    REQUEST.try_with(|r| r.id.clone()).ok()
}

/// Calls `f` with the request being handled, if any.
pub(crate) fn with_current_request<R>(f: impl FnOnce(&RequestFields) -> R) -> Option<R> {
    REQUEST.try_with(f).ok()
}

/// A request id a client may choose: short, printable, no separators that would break a log
/// query. Anything else is replaced.
fn acceptable_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=128).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Counts the request and records its duration. The handles of each (route, method, status) are
/// kept per thread after the first request, so a request costs no label allocation and no
/// registry lookup.
fn record_metrics(method: &'static str, route: &str, status: StatusCode, elapsed: f64) {
    use std::cell::RefCell;
    use std::collections::HashMap;
    type Handles = (metrics::Counter, metrics::Histogram);
    /// Per route: (method, status, handles).
    type ByRoute = HashMap<Box<str>, Vec<(&'static str, u16, Handles)>>;
    thread_local! {
        static HANDLES: RefCell<ByRoute> = RefCell::new(HashMap::new());
    }
    let code = status.as_u16();
    HANDLES.with(|handles| {
        let mut handles = handles.borrow_mut();
        let entries = match handles.get_mut(route) {
            Some(entries) => entries,
            None => handles.entry(route.into()).or_default(),
        };
        let index = match entries
            .iter()
            .position(|(m, s, _)| *m == method && *s == code)
        {
            Some(index) => index,
            None => {
                let labels = [
                    ("method", metrics::SharedString::const_str(method)),
                    ("route", metrics::SharedString::from(route.to_owned())),
                    ("status", status_label(status)),
                ];
                entries.push((
                    method,
                    code,
                    (
                        metrics::counter!("http_requests_total", &labels),
                        metrics::histogram!("http_request_duration_seconds", &labels),
                    ),
                ));
                entries.len() - 1
            }
        };
        let (counter, histogram) = &entries[index].2;
        counter.increment(1);
        histogram.record(elapsed);
    });
}

/// The status label, without allocating for the statuses services answer.
fn status_label(status: StatusCode) -> metrics::SharedString {
    let common = match status.as_u16() {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        301 => "301",
        302 => "302",
        303 => "303",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        412 => "412",
        413 => "413",
        415 => "415",
        422 => "422",
        428 => "428",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        _ => return metrics::SharedString::from(status.as_str().to_owned()),
    };
    metrics::SharedString::const_str(common)
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Request id, trace context, timeout, metrics and the access log for one request.
///
/// The request's fields (method, route, request id, trace id) are a task-local that the JSON log
/// format writes into every line logged while serving it, whatever span the line is logged in,
/// so no tracing span is needed for them: one is opened only when spans are exported (OTLP).
/// Measured in `cargo xtask bench`, the span (its creation, the formatting of its fields, its
/// entering and closing) cost as much as the access-log line itself.
async fn observe(State(settings): State<Observe>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let request_id = match request.headers().get(&REQUEST_ID) {
        Some(id) if acceptable_request_id(id) => id.clone(),
        _ => {
            let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
            let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
            let id = HeaderValue::from_str(text).expect("a UUID is a header value");
            request.headers_mut().insert(REQUEST_ID, id.clone());
            id
        }
    };
    request.extensions_mut().insert(settings.hops);
    let parent = telemetry::extract(request.headers());
    let (span, context) = if telemetry::exporting() {
        let span = tracing::info_span!(
            "request",
            "http.request.method" = method,
            "http.route" = matched.as_ref().map(MatchedPath::as_str),
            trace_id = tracing::field::Empty,
        );
        let context = telemetry::attach(&span, parent);
        (span, context)
    } else {
        (tracing::Span::none(), telemetry::child_of(&parent))
    };
    let fields = RequestFields {
        method,
        route: matched.clone().map_or(Route::Unmatched, Route::Matched),
        id: request_id.clone(),
        trace_id: telemetry::trace_id_hex(&context),
    };
    let echoed = context.clone();
    let work = telemetry::scope(context, next.run(request)).instrument(span.clone());
    REQUEST
        .scope(fields, async move {
            let mut response = match tokio::time::timeout(settings.timeout, work).await {
                Ok(response) => response,
                Err(_) => Problem::new(StatusCode::SERVICE_UNAVAILABLE)
                    .kind("timeout")
                    .detail("The request took too long and was abandoned.")
                    .retry_after(1)
                    .into_response(),
            };
            let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
            let headers = response.headers_mut();
            headers.insert(REQUEST_ID, request_id);
            // The response names the span that served it, so a client can find the trace.
            telemetry::inject_context(&echoed, headers);

            let status = response.status();
            let elapsed = started.elapsed().as_secs_f64();
            // Milliseconds to the microsecond: 0.084, not 0.08399700000000001.
            let elapsed_ms = (elapsed * 1e6).round() / 1e3;
            // With a span (exporting), the line is its event; without, a root event.
            if matches!(route, "/healthz" | "/readyz" | "/metrics") {
                tracing::debug!(parent: &span, status = status.as_u16(), elapsed_ms, "served");
            } else {
                tracing::info!(parent: &span, status = status.as_u16(), elapsed_ms, "served");
            }
            record_metrics(method, route, status, elapsed);
            response
        })
        .await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_clients_are_kept_only_when_harmless() {
        for good in ["abc", "3f2a-91_x.y:z", &"a".repeat(128)] {
            assert!(acceptable_request_id(&HeaderValue::from_str(good).unwrap()));
        }
        for bad in ["", "a b", "a\"b", "{}", &"a".repeat(129)] {
            assert!(
                !acceptable_request_id(&HeaderValue::from_str(bad).unwrap()),
                "{bad}"
            );
        }
    }
}
