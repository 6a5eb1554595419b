//! RFC 9457 problem details: the one shape every error response takes.
//!
//! Handlers return `kit::Result<T, E>` where `E` is their own `thiserror` enum implementing
//! [`ApiError`] (which problem each variant is). `?` works on `Result<_, E>` and, when `E` has
//! an `Unexpected(#[from] anyhow::Error)` variant, on anything `anyhow` takes. [`Rejection`] turns
//! the error into the response, the one way every service does it: for 5xx the body is generic
//! and the cause chain is logged as a field, never sent to the client; when the cause is a
//! dependency that is down (a store, a broker, another service), the answer is 503 with
//! `Retry-After`, because the request can succeed later and nothing is wrong with it.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Media type of problem responses.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type; `about:blank` when only the status says it.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    pub status: u16,
    /// Explanation specific to this occurrence, safe to show the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Field-level errors for validation problems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds the client should wait before retrying: sent as `Retry-After`, not in the body.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// One invalid field in a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer-like path of the field, e.g. `email`.
    pub field: String,
    pub message: String,
}

impl Problem {
    /// A problem with the given status, `about:blank` type and the status's reason as title.
    pub fn new(status: StatusCode) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: None,
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// Names the problem type: `kind` becomes `https://problems.<domain>/<kind>`-style slug,
    /// stable for clients to match on.
    pub fn kind(mut self, kind: &str) -> Self {
        self.kind = format!("/problems/{kind}");
        self
    }

    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn field(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
        self
    }

    /// Asks the client to wait `seconds` before retrying (429, 503).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The problem for an unexpected failure: generic text, nothing internal.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR)
            .detail("An unexpected error occurred. It has been logged.")
    }

    /// The problem for a dependency that is down: try again shortly.
    pub fn unavailable() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE)
            .kind("unavailable")
            .detail("A service this request needs is unavailable right now; try again shortly.")
            .retry_after(UNAVAILABLE_RETRY_AFTER_SECS)
    }

    /// 422 with every invalid field (`kit::validate` collects them).
    pub fn invalid(detail: impl Into<String>, fields: Vec<FieldError>) -> Self {
        let mut problem = Self::new(StatusCode::UNPROCESSABLE_ENTITY)
            .kind("validation")
            .detail(detail);
        problem.errors = fields;
        problem
    }
}

/// Seconds a client is asked to wait when a dependency is down.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let retry_after = self.retry_after;
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// An error a handler can return: says which problem it is. Implement it for each route's error
/// enum and return `kit::Result<T, YourError>` from the handler.
pub trait ApiError: std::error::Error {
    /// The problem shown to the client. Return [`Problem::internal`] for failures the client
    /// cannot fix; their cause is logged, not shown (and a cause that is a dependency being down
    /// becomes [`Problem::unavailable`]).
    fn problem(&self) -> Problem;

    /// Headers to add to the problem response (e.g. `WWW-Authenticate`); none by default.
    fn headers(&self) -> axum::http::HeaderMap {
        axum::http::HeaderMap::new()
    }
}

/// An [`ApiError`] on its way to becoming a response: what handlers return as their error
/// (`kit::Result<T, E>`). `?` converts `E` (and, for enums with an `anyhow` variant, any
/// `anyhow`-compatible error) into it.
#[derive(Debug)]
pub struct Rejection<E>(pub E);

/// A handler's result: its value, or its error enum as a problem response.
pub type Result<T, E> = std::result::Result<T, Rejection<E>>;

impl<E: ApiError> From<E> for Rejection<E> {
    fn from(error: E) -> Self {
        Self(error)
    }
}

impl<E: ApiError + From<anyhow::Error>> From<anyhow::Error> for Rejection<E> {
    fn from(error: anyhow::Error) -> Self {
        Self(E::from(error))
    }
}

impl<E: ApiError + From<crate::validate::Invalid>> From<crate::validate::Invalid> for Rejection<E> {
    fn from(invalid: crate::validate::Invalid) -> Self {
        Self(E::from(invalid))
    }
}

impl<E: ApiError + 'static> IntoResponse for Rejection<E> {
    fn into_response(self) -> Response {
        problem_response(&self.0)
    }
}

/// Logs `error` (server errors with their cause chain) and renders its problem.
pub fn problem_response<E: ApiError + 'static>(error: &E) -> Response {
    let mut problem = error.problem();
    if problem.status >= 500 {
        if let Some(cause) = unavailable_cause(error) {
            tracing::warn!(error = %ErrorChain(error), %cause, "dependency unavailable");
            problem = Problem::unavailable();
        } else {
            tracing::error!(error = %ErrorChain(error), "request failed");
        }
    } else {
        tracing::debug!(error = %ErrorChain(error), status = problem.status, "request rejected");
    }
    let mut response = problem.into_response();
    response.headers_mut().extend(error.headers());
    response
}

/// A marker cause: "this failed because something it needs is down". Wrap a condition the kit
/// cannot recognise by itself in it, e.g. `Err(Unavailable("payment provider").into())`.
#[derive(Debug, thiserror::Error)]
#[error("{0} is unavailable")]
pub struct Unavailable(pub &'static str);

/// The name of the dependency that is down, when `error`'s cause chain says one is: PostgreSQL
/// (pool timeout, connection refused or lost), Redis (likewise), another service (the kit's
/// client gave up on it), or an explicit [`Unavailable`].
pub fn unavailable_cause(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(cause) = current {
        if let Some(name) = unavailable_here(cause) {
            return Some(name);
        }
        current = cause.source();
    }
    None
}

fn unavailable_here(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(e) = error.downcast_ref::<Unavailable>() {
        return Some(e.0.to_owned());
    }
    if let Some(e) = error.downcast_ref::<sqlx::Error>() {
        return matches!(
            e,
            sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed
        )
        .then(|| "PostgreSQL".to_owned());
    }
    if let Some(e) = error.downcast_ref::<redis::RedisError>() {
        return (e.is_io_error()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_timeout())
        .then(|| "Redis".to_owned());
    }
    if let Some(e) = error.downcast_ref::<crate::client::ClientError>() {
        return e.unavailable();
    }
    if let Some(e) = error.downcast_ref::<crate::auth::VerifyError>() {
        return matches!(e, crate::auth::VerifyError::KeysUnavailable(_))
            .then(|| "the token signer's keys".to_owned());
    }
    None
}

/// Displays an error with its `source()` chain, `a: b: c`.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'a));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum DemoError {
        #[error("not found")]
        Missing,
        #[error("lookup failed")]
        Unexpected(#[from] anyhow::Error),
    }

    impl ApiError for DemoError {
        fn problem(&self) -> Problem {
            match self {
                Self::Missing => Problem::new(StatusCode::NOT_FOUND),
                Self::Unexpected(_) => Problem::internal(),
            }
        }
    }

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn handler(outcome: std::result::Result<(), anyhow::Error>) -> Result<&'static str, DemoError> {
        outcome?;
        Err(DemoError::Missing)?
    }

    #[test]
    fn retry_after_is_a_header_not_a_field() {
        let problem = Problem::new(StatusCode::TOO_MANY_REQUESTS).retry_after(42);
        let response = problem.clone().into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
        assert!(
            serde_json::to_value(&problem)
                .unwrap()
                .get("retry_after")
                .is_none()
        );
    }

    #[tokio::test]
    async fn question_mark_reaches_the_problem() {
        let response = handler(Ok(())).into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }

    #[tokio::test]
    async fn server_errors_hide_their_cause() {
        let cause = anyhow::Error::new(std::io::Error::other("password=hunter2"))
            .context("cannot read the database");
        let response = handler(Err(cause)).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let text = body(response).await;
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("database"), "{text}");
    }

    #[tokio::test]
    async fn a_dependency_that_is_down_is_503_with_retry_after() {
        let down = [
            anyhow::Error::new(sqlx::Error::PoolTimedOut).context("cannot read orders"),
            anyhow::Error::new(redis::RedisError::from(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused,
            )))
            .context("cannot count"),
            anyhow::Error::new(Unavailable("payment provider")),
        ];
        for cause in down {
            let response = handler(Err(cause)).into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()[header::RETRY_AFTER], "5");
            let problem: Problem = serde_json::from_str(&body(response).await).unwrap();
            assert_eq!(problem.kind, "/problems/unavailable");
        }
        // A query that is wrong is a bug, not an outage.
        let bug = anyhow::Error::new(sqlx::Error::RowNotFound);
        let response = handler(Err(bug)).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
