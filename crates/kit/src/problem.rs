//! RFC 9457 problem details: the one shape every error response takes.
//!
//! Handlers return their own `thiserror` enum; implementing [`ApiError`] maps each variant to a
//! status and a public message, and [`ApiError::into_problem_response`] does the rest. For 5xx the body is
//! generic and the cause chain is logged as a field, never sent to the client.

use axum::Json;
use axum::extract::rejection::JsonRejection;
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
}

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
/// enum, then `impl IntoResponse` with [`ApiError::into_problem_response`].
pub trait ApiError: std::error::Error {
    /// The problem shown to the client. Return [`Problem::internal`] for failures the client
    /// cannot fix; their cause is logged, not shown.
    fn problem(&self) -> Problem;

    /// Logs server errors with their cause chain and renders the problem.
    fn into_problem_response(self) -> Response
    where
        Self: Sized,
    {
        let problem = self.problem();
        if problem.status >= 500 {
            tracing::error!(error = %ErrorChain(&self), "request failed");
        } else {
            tracing::debug!(error = %ErrorChain(&self), status = problem.status, "request rejected");
        }
        problem.into_response()
    }
}

/// Displays an error with its `source()` chain, `a: b: c`.
pub struct ErrorChain<'a>(pub &'a dyn std::error::Error);

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

/// Turns axum's JSON body rejections into problems with the right status: 415 for a missing
/// content type, 400 for malformed JSON, 422 for JSON of the wrong shape.
pub fn json_rejection(rejection: JsonRejection) -> Problem {
    let status = rejection.status();
    let detail = match &rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "Send the body as JSON with `Content-Type: application/json`.".to_owned()
        }
        JsonRejection::JsonSyntaxError(_) => "The body is not valid JSON.".to_owned(),
        JsonRejection::JsonDataError(e) => {
            format!("The body does not match the schema: {}", e.body_text())
        }
        _ => rejection.body_text(),
    };
    Problem::new(status).kind("invalid-body").detail(detail)
}

/// A `Json` extractor whose rejection is a problem document.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(Problem))]
pub struct ValidJson<T>(pub T);

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        json_rejection(rejection)
    }
}

impl<T: Serialize> IntoResponse for ValidJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum DemoError {
        #[error("database down")]
        Unexpected(#[source] std::io::Error),
    }

    impl ApiError for DemoError {
        fn problem(&self) -> Problem {
            Problem::internal()
        }
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
    async fn server_errors_hide_their_cause() {
        let err = DemoError::Unexpected(std::io::Error::other("password=hunter2"));
        let response = err.into_problem_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("database"), "{text}");
    }
}
