//! Calls to other services: the only way a service reaches another.
//!
//! Each service's rendered `Platform` holds a [`Client`] for exactly the services in its `calls`
//! (platform.toml), with the base URL from its configuration (`<NAME>_URL`: the cluster's DNS
//! name in Kubernetes, `127.0.0.1:<port>` under `cargo xtask up`); there is no other way to make
//! one, so code cannot call a service the mesh policy would refuse.
//!
//! Every call carries the current trace context (`traceparent`, `tracestate`) and request id, and
//! the end user's access token when the caller acts for the user ([`Call::bearer`]): services act
//! for themselves by default (their mesh identity is who they are). Each attempt has a timeout;
//! idempotent methods (GET, HEAD, PUT, DELETE) are retried on connection failures, timeouts and
//! 502/503/504, with exponential backoff and jitter; POST and PATCH never are. An error answer's
//! problem document is decoded into [`ClientError::Problem`]; a service that cannot be reached
//! is [`ClientError::Unavailable`], which the caller's own error mapping answers as 503.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use backon::{ExponentialBuilder, Retryable as _};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::problem::{PROBLEM_JSON, Problem};

/// Timeout of one attempt unless the call says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts of an idempotent call.
pub const ATTEMPTS: usize = 3;

/// A client of one service. Cheap to clone (connections are pooled per process).
#[derive(Clone)]
pub struct Client {
    service: Arc<str>,
    base: Arc<str>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("service", &self.service)
            .field("base", &self.base)
            .finish()
    }
}

/// One HTTP client for the whole process: every service client shares its connection pool.
fn shared_http() -> reqwest::Client {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    HTTP.get_or_init(|| {
        reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .expect("a plain HTTP client builds")
    })
    .clone()
}

impl Client {
    /// The client of `service` at `base_url`. Made by the kit from the service's manifest and
    /// configuration.
    pub(crate) fn new(service: &str, base_url: &str) -> anyhow::Result<Self> {
        let parsed = reqwest::Url::parse(base_url)
            .map_err(|e| anyhow::anyhow!("{service}: base URL {base_url:?} is invalid: {e}"))?;
        anyhow::ensure!(
            matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some(),
            "{service}: base URL {base_url:?} is not an http(s) URL"
        );
        Ok(Self {
            service: service.into(),
            base: base_url.trim_end_matches('/').into(),
            http: shared_http(),
        })
    }

    /// The service's name.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The base URL calls go to (e.g. `http://product.apps-core.svc.cluster.local`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A call of `method` on `path` (absolute, e.g. `/v1/products/42`).
    pub fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            client: self,
            method,
            path: path.to_owned(),
            query: None,
            body: None,
            headers: HeaderMap::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn get(&self, path: &str) -> Call<'_> {
        self.call(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Call<'_> {
        self.call(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> Call<'_> {
        self.call(Method::PUT, path)
    }

    pub fn patch(&self, path: &str) -> Call<'_> {
        self.call(Method::PATCH, path)
    }

    pub fn delete(&self, path: &str) -> Call<'_> {
        self.call(Method::DELETE, path)
    }
}

/// A call being prepared.
pub struct Call<'a> {
    client: &'a Client,
    method: Method,
    path: String,
    query: Option<String>,
    body: Option<Vec<u8>>,
    headers: HeaderMap,
    timeout: Duration,
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service answered with an error; its problem document (or one made from the status).
    #[error("{service} answered {}: {}", problem.status, problem.detail.as_deref().unwrap_or(&problem.title))]
    Problem { service: String, problem: Problem },
    /// The service could not be reached, timed out or said it is unavailable (502/503/504).
    #[error("{service} is unavailable: {reason}")]
    Unavailable { service: String, reason: String },
    /// The request or the answer could not be encoded or decoded.
    #[error("call to {service}: {reason}")]
    Encoding { service: String, reason: String },
}

impl ClientError {
    /// The status of a [`ClientError::Problem`].
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Problem { problem, .. } => Some(problem.status_code()),
            _ => None,
        }
    }

    /// Whether the service answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// The unavailable service's name, for [`crate::problem::unavailable_cause`].
    pub fn unavailable(&self) -> Option<String> {
        match self {
            Self::Unavailable { service, .. } => Some(service.clone()),
            _ => None,
        }
    }
}

/// The outcome of one attempt, before deciding whether to retry.
enum Attempt {
    Done(reqwest::Response),
    Retryable(ClientError),
    Final(ClientError),
}

impl<'a> Call<'a> {
    /// Query parameters, serialised as a URL query.
    pub fn query<T: Serialize + ?Sized>(mut self, query: &T) -> Self {
        match serde_urlencoded::to_string(query) {
            Ok(q) if !q.is_empty() => self.query = Some(q),
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "cannot encode query"),
        }
        self
    }

    /// A JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.body = Some(serde_json::to_vec(body).expect("a request body serializes"));
        self.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self
    }

    /// Acts for the end user: sends their access token.
    pub fn bearer(mut self, token: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
            self.headers.insert(header::AUTHORIZATION, value);
        }
        self
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Timeout of each attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends the call (retrying idempotent ones: by method, or a `POST` made safe to repeat by
    /// an `Idempotency-Key`); a 2xx or 304 answer, or the error.
    pub async fn send(self) -> Result<reqwest::Response, ClientError> {
        let idempotent = matches!(
            self.method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        ) || self.headers.contains_key("idempotency-key");
        let mut headers = self.headers.clone();
        crate::telemetry::inject(&mut headers);
        if let Some(id) = crate::http::current_request_id() {
            headers.insert(crate::http::REQUEST_ID, id);
        }
        let url = match &self.query {
            Some(q) => format!("{}{}?{q}", self.client.base, self.path),
            None => format!("{}{}", self.client.base, self.path),
        };
        let attempt = || async {
            let mut request = self
                .client
                .http
                .request(self.method.clone(), &url)
                .headers(headers.clone())
                .timeout(self.timeout);
            if let Some(body) = &self.body {
                request = request.body(body.clone());
            }
            match request.send().await {
                Err(error) => {
                    let failed = ClientError::Unavailable {
                        service: self.client.service.to_string(),
                        reason: error_text(&error),
                    };
                    if error.is_connect() || error.is_timeout() || error.is_request() {
                        Attempt::Retryable(failed)
                    } else {
                        Attempt::Final(failed)
                    }
                }
                Ok(response)
                    if response.status().is_success()
                        || response.status() == StatusCode::NOT_MODIFIED =>
                {
                    Attempt::Done(response)
                }
                Ok(response) => {
                    let status = response.status();
                    let error = self.error_from(response).await;
                    if matches!(
                        status,
                        StatusCode::BAD_GATEWAY
                            | StatusCode::SERVICE_UNAVAILABLE
                            | StatusCode::GATEWAY_TIMEOUT
                    ) {
                        Attempt::Retryable(ClientError::Unavailable {
                            service: self.client.service.to_string(),
                            reason: error.to_string(),
                        })
                    } else {
                        Attempt::Final(error)
                    }
                }
            }
        };
        let run = || async {
            match attempt().await {
                Attempt::Done(response) => Ok(Ok(response)),
                Attempt::Final(error) => Ok(Err(error)),
                Attempt::Retryable(error) => Err(error),
            }
        };
        let attempts = if idempotent { ATTEMPTS } else { 1 };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_millis(500))
            .with_max_times(attempts - 1)
            .with_jitter();
        let outcome = run
            .retry(backoff)
            .notify(|error: &ClientError, wait: Duration| {
                tracing::debug!(%error, retry_in_ms = wait.as_millis() as u64, "retrying call");
            })
            .await;
        match outcome {
            Ok(result) => result,
            Err(error) => Err(error),
        }
    }

    /// Sends the call and decodes a JSON answer.
    pub async fn json_response<T: DeserializeOwned>(self) -> Result<T, ClientError> {
        let service = self.client.service.to_string();
        let response = self.send().await?;
        response.json().await.map_err(|e| ClientError::Encoding {
            service,
            reason: format!("the answer is not the expected JSON: {e}"),
        })
    }

    async fn error_from(&self, response: reqwest::Response) -> ClientError {
        let status = response.status();
        let is_problem = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(PROBLEM_JSON));
        let problem = if is_problem {
            response.json::<Problem>().await.ok()
        } else {
            None
        };
        ClientError::Problem {
            service: self.client.service.to_string(),
            problem: problem.unwrap_or_else(|| Problem::new(status)),
        }
    }
}

fn error_text(error: &reqwest::Error) -> String {
    crate::problem::ErrorChain(error).to_string()
}
