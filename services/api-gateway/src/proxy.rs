//! The proxy: every API request that is not one of the gateway's own platform endpoints.
//!
//! In order: find the route (404 problem without one); verify the access token if one is sent
//! (401 problem early; the original token goes on); count the request against the rate limits
//! (429 problem with `Retry-After` over them); refuse a body over the limit (413); then send the
//! request to the service with its body streamed, the headers cleaned ([`crate::headers`]), the
//! request id and this span's trace context, and stream the answer back as it arrives. An
//! upstream that cannot be reached is 502, one that does not answer within the timeout 504; both
//! problem documents, like every error the gateway itself makes. Nothing is buffered.

use std::error::Error as _;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{LengthLimitError, Limited};
use kit::auth::AuthError;
use kit::extract::ClientIp;
use kit::{ApiError, Problem};

use crate::headers;
use crate::limits::Decision;
use crate::startup::AppState;

/// Why the gateway answered itself.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("no route")]
    NoRoute,
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("rate limited")]
    RateLimited(Decision),
    #[error("body too large")]
    TooLarge,
    #[error("{0} is unreachable")]
    Unreachable(&'static str, #[source] hyper_util::client::legacy::Error),
    #[error("{0} did not answer in time")]
    Timeout(&'static str),
}

impl ApiError for GatewayError {
    fn problem(&self) -> Problem {
        match self {
            Self::NoRoute => Problem::new(StatusCode::NOT_FOUND)
                .kind("no-route")
                .detail("No API serves this path."),
            Self::Auth(auth) => auth.problem(),
            Self::RateLimited(decision) => Problem::new(StatusCode::TOO_MANY_REQUESTS)
                .kind("rate-limited")
                .detail("Too many requests; slow down and retry after Retry-After seconds.")
                .retry_after(decision.reset),
            Self::TooLarge => Problem::new(StatusCode::PAYLOAD_TOO_LARGE)
                .kind("body-too-large")
                .detail("The request body is larger than the API accepts."),
            Self::Unreachable(..) => Problem::new(StatusCode::BAD_GATEWAY)
                .kind("bad-gateway")
                .detail("The service behind this path could not be reached; try again shortly.")
                .retry_after(kit::problem::UNAVAILABLE_RETRY_AFTER_SECS),
            Self::Timeout(_) => Problem::new(StatusCode::GATEWAY_TIMEOUT)
                .kind("gateway-timeout")
                .detail("The service behind this path did not answer in time."),
        }
    }

    fn headers(&self) -> HeaderMap {
        match self {
            Self::Auth(auth) => auth.headers(),
            Self::RateLimited(decision) => decision.headers(),
            _ => HeaderMap::new(),
        }
    }
}

/// Proxies one request.
pub async fn proxy(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    request: Request,
) -> kit::Result<Response, GatewayError> {
    let route = state
        .routes
        .find(request.uri().path())
        .ok_or(GatewayError::NoRoute)?;
    let user = kit::auth::authenticate(&state.tokens, request.headers())
        .await
        .map_err(GatewayError::Auth)?;
    let client_ip = ip.to_string();
    let decision = state
        .limiter
        .hit(
            &client_ip,
            user.as_ref().map(|u| u.id.to_string()).as_deref(),
        )
        .await;
    if let Some(decision) = decision.filter(|d| d.over) {
        tracing::info!(ip = %client_ip, user = ?user.as_ref().map(|u| u.id), "rate limited");
        return Err(GatewayError::RateLimited(decision).into());
    }
    let limit = state.config.service.body_limit;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(GatewayError::TooLarge.into());
    }

    let (mut parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str());
    parts.uri = format!("{}{path_and_query}", route.base)
        .parse::<Uri>()
        .map_err(|_| GatewayError::NoRoute)?;
    headers::upstream_request(&mut parts.headers, &client_ip);
    // This span's context, not the client's: the upstream's span is the gateway's child.
    kit::telemetry::inject(&mut parts.headers);
    let upstream = axum::http::Request::from_parts(parts, Limited::new(body, limit));

    let started = Instant::now();
    let sent = tokio::time::timeout(
        state.config.service.upstream_timeout,
        state.client.request(upstream),
    )
    .await;
    let response = match sent {
        Err(_) => return Err(GatewayError::Timeout(route.service).into()),
        Ok(Err(error)) if too_large(&error) => return Err(GatewayError::TooLarge.into()),
        Ok(Err(error)) => return Err(GatewayError::Unreachable(route.service, error).into()),
        Ok(Ok(response)) => response,
    };
    tracing::debug!(
        service = route.service,
        status = response.status().as_u16(),
        upstream_ms = started.elapsed().as_secs_f64() * 1e3,
        "proxied"
    );
    let (mut parts, body) = response.into_parts();
    headers::strip_hop_by_hop(&mut parts.headers);
    if let Some(decision) = decision {
        parts.headers.extend(decision.headers());
    }
    Ok(Response::from_parts(parts, Body::new(body)).into_response())
}

/// Whether the request failed because its body went over the limit while streaming.
fn too_large(error: &hyper_util::client::legacy::Error) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if cause.is::<LengthLimitError>() {
            return true;
        }
        source = cause.source();
    }
    false
}
