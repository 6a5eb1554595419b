//! Extractors whose rejections are problem documents, so bad input never reaches a handler and
//! never answers in anything but RFC 9457 JSON.
//!
//! - [`Json`]: a JSON body (415 without `Content-Type: application/json`, 400 when it is not
//!   JSON, 422 when it has the wrong shape, 413 over the body limit); also a JSON response.
//! - [`Path`]: path parameters (400 when one does not parse, e.g. an id that is not a UUID).
//! - [`Query`]: query parameters (400 with what is wrong).
//! - [`ClientIp`]: the client's address, behind as many trusted proxies as the service's
//!   `TRUSTED_PROXY_HOPS` says.
//! - [`IfMatch`]: the version a write replaces (428 without `If-Match`), so two writers cannot
//!   overwrite each other; [`versioned`] answers with the `ETag` it checks against.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::http::TrustedHops;
use crate::problem::Problem;

/// A JSON request body, or a JSON response.
///
/// A number with a zero fraction (`3.0`) is accepted where the type wants an integer: JSON Schema
/// counts it as one, so a client generated from the API document may send it. Bodies that
/// deserialize as they are never pay for this; the others are read once more as a
/// `serde_json::Value` with such numbers made integers, and the first error is reported when that
/// does not help either.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Problem> {
        if !json_content_type(request.headers()) {
            return Err(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE)
                .kind("invalid-body")
                .detail("Send the body as JSON with `Content-Type: application/json`."));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| Problem::from(JsonRejection::from(e)))?;
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(JsonRejection::JsonDataError(error)) => {
                let retried = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|mut value| {
                        integral_floats_to_integers(&mut value)
                            .then(|| T::deserialize(value).ok())
                            .flatten()
                    });
                retried
                    .map(Self)
                    .ok_or_else(|| Problem::from(JsonRejection::JsonDataError(error)))
            }
            Err(rejection) => Err(Problem::from(rejection)),
        }
    }
}

/// `application/json` or any `application/*+json`, parameters allowed.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json"))
}

/// Rewrites every float with no fraction that fits an `i64` as an integer; whether any was.
fn integral_floats_to_integers(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // 2^63 is exact as an f64; every integral f64 below it in magnitude fits an i64.
            if f.fract() == 0.0 && f.abs() < 9_223_372_036_854_775_808.0 {
                #[allow(clippy::cast_possible_truncation)] // integral and in range, checked above
                let integer = f as i64;
                *value = Value::from(integer);
                true
            } else {
                false
            }
        }
        Value::Array(items) => {
            items
                .iter_mut()
                // Every element, not up to the first change: `count`, not `any`.
                .map(integral_floats_to_integers)
                .filter(|changed| *changed)
                .count()
                > 0
        }
        Value::Object(fields) => {
            fields
                .values_mut()
                .map(integral_floats_to_integers)
                .filter(|changed| *changed)
                .count()
                > 0
        }
        _ => false,
    }
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let detail = match &rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "Send the body as JSON with `Content-Type: application/json`.".to_owned()
            }
            JsonRejection::JsonSyntaxError(_) => "The body is not valid JSON.".to_owned(),
            JsonRejection::JsonDataError(e) => {
                format!("The body does not match the schema: {}", e.body_text())
            }
            JsonRejection::BytesRejection(_) if status == StatusCode::PAYLOAD_TOO_LARGE => {
                "The body is larger than this resource accepts.".to_owned()
            }
            _ => rejection.body_text(),
        };
        Problem::new(status).kind("invalid-body").detail(detail)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct Path<T>(pub T);

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Self {
        let detail = match &rejection {
            PathRejection::FailedToDeserializePathParams(e) => {
                format!("A path parameter is invalid: {}", e.body_text())
            }
            _ => rejection.body_text(),
        };
        Problem::new(StatusCode::BAD_REQUEST)
            .kind("invalid-path")
            .detail(detail)
    }
}

/// Query parameters.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Self {
        Problem::new(StatusCode::BAD_REQUEST)
            .kind("invalid-query")
            .detail(format!("The query is invalid: {}", rejection.body_text()))
    }
}

/// The client's IP address. With no trusted proxies in front (`TRUSTED_PROXY_HOPS=0`) it is the
/// peer. Behind `n` proxies that each append the address they saw to `X-Forwarded-For` (Envoy,
/// the Istio ingress gateway, the API gateway), it is the entry `n` places from the right:
/// entries further left were written by the client and prove nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The address from the headers and the peer, trusting `trusted_hops` proxies.
    pub fn resolve(headers: &HeaderMap, peer: IpAddr, trusted_hops: usize) -> Self {
        if trusted_hops == 0 {
            return Self(peer);
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let forwarded = hops
            .len()
            .checked_sub(trusted_hops)
            .and_then(|i| hops.get(i))
            .and_then(|ip| ip.parse().ok());
        Self(forwarded.unwrap_or(peer))
    }
}

impl std::fmt::Display for ClientIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| {
                tracing::error!("ClientIp needs the server's connect info");
                Problem::internal()
            })?;
        let hops = parts.extensions.get::<TrustedHops>().map_or(0, |h| h.0);
        Ok(Self::resolve(&parts.headers, peer, hops))
    }
}

/// The version an `If-Match` header names, for writes that must not overwrite a change made
/// since the client read: `IfMatch(Some(v))` for the entity tag `"v"` (what `ETag` sent),
/// `IfMatch(None)` for `*` (any version). Without the header the request is refused with 428
/// Precondition Required. A tag that is not a version can never match: it reads as version -1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(pub Option<i32>);

impl IfMatch {
    /// The version from the header's value.
    pub fn parse(value: &str) -> Self {
        match value.trim() {
            "*" => Self(None),
            tag => Self(Some(tag.trim_matches('"').parse().unwrap_or(-1))),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get(axum::http::header::IF_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(Self::parse)
            .ok_or_else(|| {
                Problem::new(axum::http::StatusCode::PRECONDITION_REQUIRED)
                    .kind("precondition-required")
                    .detail(
                        "Send the ETag you read in If-Match, so a change made since you read it \
                         is not overwritten.",
                    )
            })
    }
}

/// A JSON entity with its version as the strong entity tag `"version"` (what [`IfMatch`] reads
/// back), `Cache-Control: no-cache` so a cache revalidates it, and `Location` when `status` is
/// 201 Created.
pub fn versioned(
    status: StatusCode,
    body: &impl Serialize,
    version: i32,
    location: &str,
) -> Response {
    use axum::http::{HeaderValue, header};
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(location)
    {
        headers.insert(header::LOCATION, location);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::FromRequest as _;

    #[test]
    fn if_match_reads_a_version_any_or_nothing_that_matches() {
        assert_eq!(IfMatch::parse("\"7\""), IfMatch(Some(7)));
        assert_eq!(IfMatch::parse(" * "), IfMatch(None));
        assert_eq!(IfMatch::parse("W/\"x\""), IfMatch(Some(-1)));
    }

    #[test]
    fn client_ip_counts_trusted_hops_from_the_right() {
        let peer: IpAddr = "10.0.0.9".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        let ip = |headers: &HeaderMap, hops| ClientIp::resolve(headers, peer, hops).to_string();
        assert_eq!(ip(&headers, 0), "10.0.0.9", "no proxy trusted");
        assert_eq!(ip(&headers, 1), "203.0.113.7", "what the gateway saw");
        assert_eq!(ip(&headers, 2), "6.6.6.6");
        assert_eq!(ip(&headers, 3), "10.0.0.9", "fewer hops than trusted");
        headers.insert("x-forwarded-for", "not-an-ip".parse().unwrap());
        assert_eq!(ip(&headers, 1), "10.0.0.9", "garbage is ignored");
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Line {
        quantity: i32,
        price: f64,
        tags: Vec<i64>,
    }

    async fn extract(content_type: &str, body: &str) -> Result<Json<Line>, Problem> {
        let request = axum::http::Request::builder()
            .header("content-type", content_type)
            .body(axum::body::Body::from(body.to_owned()))
            .unwrap();
        Json::<Line>::from_request(request, &()).await
    }

    #[tokio::test]
    async fn json_takes_integral_floats_as_integers_and_reports_the_first_error() {
        let line = extract(
            "application/json",
            r#"{"quantity": 3.0, "price": 2, "tags": [1, -4.0]}"#,
        )
        .await
        .unwrap();
        assert_eq!(
            line.0,
            Line {
                quantity: 3,
                price: 2.0,
                tags: vec![1, -4]
            }
        );
        let problem = extract(
            "application/json",
            r#"{"quantity": 2.5, "price": 1, "tags": []}"#,
        )
        .await
        .unwrap_err();
        assert_eq!(problem.status, 422);
        assert!(
            problem.detail.as_deref().unwrap().contains("quantity"),
            "{problem:?}"
        );
        let problem = extract("application/json", "{").await.unwrap_err();
        assert_eq!(problem.status, 400);
    }

    #[tokio::test]
    async fn json_wants_a_json_content_type() {
        let body = r#"{"quantity": 1, "price": 1, "tags": []}"#;
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/merge-patch+JSON",
        ] {
            assert!(extract(ok, body).await.is_ok(), "{ok}");
        }
        for refused in [
            "text/plain",
            "application/jsonx",
            "application/+json",
            "json",
        ] {
            let problem = extract(refused, body).await.unwrap_err();
            assert_eq!(problem.status, 415, "{refused}");
        }
    }
}
