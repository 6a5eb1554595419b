//! Who is calling: access tokens verified by each service itself, offline.
//!
//! No service trusts identity headers from the network. A service with `verify_tokens = true` in
//! platform.toml gets a [`Verifier`] in its `Platform`: it fetches the signer's JWKS (`JWKS_URL`)
//! at start and every [`REFRESH_EVERY`], keeps it in memory, and fetches it again when a token
//! names a key id it does not know (a rotation), at most once per [`MIN_REFRESH_GAP`] so a flood of
//! forged key ids cannot turn into a flood of fetches. The signer itself verifies with its own
//! keys ([`Verifier::local`]).
//!
//! Handlers take the caller as an extractor, with the verifier reachable from the router's state
//! (`impl FromRef<AppState> for Verifier`):
//!
//! - [`User`]: a signed-in user, or 401 with `WWW-Authenticate: Bearer` (RFC 6750);
//! - [`MaybeUser`]: the user when a token is sent (a bad token is still 401), else nobody;
//! - [`Admin`]: a user with the admin role, or 403.
//!
//! A user's raw token stays in [`User`], so a service acting for the user can send it on
//! ([`crate::client::Call::bearer`]). When the keys cannot be fetched at all the answer is 503,
//! not 401: the token may well be good.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::config::TokenSettings;
use crate::jwt::{Claims, JwtError, KeySet, Role, bearer_token};
use crate::problem::{ApiError, Problem};
use crate::shutdown::Shutdown;

/// How often a verifier fetches the JWKS even when nothing asks it to (the signer's
/// `Cache-Control: max-age`).
pub const REFRESH_EVERY: Duration = Duration::from_secs(300);
/// Shortest time between two fetches caused by unknown key ids.
pub const MIN_REFRESH_GAP: Duration = Duration::from_secs(10);

/// Checks access tokens. Cheap to clone.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Source>,
}

enum Source {
    Local(KeySet),
    Remote(Remote),
}

struct Remote {
    url: String,
    issuer: String,
    audience: String,
    http: reqwest::Client,
    keys: RwLock<Option<KeySet>>,
    /// Serialises fetches and remembers when the last one finished.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

/// Why a token could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("invalid token")]
    Invalid(#[source] JwtError),
    #[error("the signer's keys are unavailable: {0}")]
    KeysUnavailable(String),
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.inner.as_ref() {
            Source::Local(keys) => f.debug_tuple("Verifier::Local").field(keys).finish(),
            Source::Remote(remote) => f
                .debug_tuple("Verifier::Remote")
                .field(&remote.url)
                .finish(),
        }
    }
}

impl Verifier {
    /// Verifies with keys the service holds (the signer).
    pub fn local(keys: KeySet) -> Self {
        Self {
            inner: Arc::new(Source::Local(keys)),
        }
    }

    /// Verifies against the JWKS at `settings.jwks_url`, fetched on demand.
    pub fn remote(settings: &TokenSettings) -> anyhow::Result<Self> {
        let url = settings
            .jwks_url
            .clone()
            .ok_or_else(|| anyhow::anyhow!("JWKS_URL is required to verify tokens"))?;
        reqwest::Url::parse(&url).map_err(|e| anyhow::anyhow!("JWKS_URL {url:?}: {e}"))?;
        Ok(Self {
            inner: Arc::new(Source::Remote(Remote {
                url,
                issuer: settings.issuer.clone(),
                audience: settings.audience.clone(),
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(3))
                    .build()?,
                keys: RwLock::new(None),
                last_fetch: tokio::sync::Mutex::new(None),
            })),
        })
    }

    /// Fetches the keys now and every [`REFRESH_EVERY`] on the shutdown tracker, retrying every
    /// few seconds while the signer is unreachable.
    pub fn prefetch(&self, shutdown: &Shutdown) {
        let Source::Remote(_) = self.inner.as_ref() else {
            return;
        };
        let verifier = self.clone();
        let stop = shutdown.clone();
        shutdown.spawn(async move {
            loop {
                let pause = match verifier.refresh(None).await {
                    Ok(()) => REFRESH_EVERY,
                    Err(error) => {
                        tracing::warn!(%error, "cannot fetch the token signer's keys yet");
                        Duration::from_secs(3)
                    }
                };
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(pause) => {}
                }
            }
        });
    }

    /// The claims of `token`, if it is valid.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let remote = match self.inner.as_ref() {
            Source::Local(keys) => return keys.verify(token).map_err(VerifyError::Invalid),
            Source::Remote(remote) => remote,
        };
        let started = Instant::now();
        let keys = match remote.current() {
            Some(keys) => keys,
            None => {
                self.refresh(Some(started)).await?;
                remote
                    .current()
                    .ok_or_else(|| VerifyError::KeysUnavailable("no keys fetched yet".to_owned()))?
            }
        };
        match keys.verify(token) {
            Err(JwtError::UnknownKey) => {
                // Perhaps a new signing key: look again, unless someone just did.
                self.refresh(Some(started)).await?;
                let keys = remote.current().ok_or_else(|| {
                    VerifyError::KeysUnavailable("no keys fetched yet".to_owned())
                })?;
                keys.verify(token).map_err(VerifyError::Invalid)
            }
            other => other.map_err(VerifyError::Invalid),
        }
    }

    /// Fetches the JWKS. With `asked_at` (a token asked), skips the fetch when one finished after
    /// that moment or within [`MIN_REFRESH_GAP`].
    async fn refresh(&self, asked_at: Option<Instant>) -> Result<(), VerifyError> {
        let Source::Remote(remote) = self.inner.as_ref() else {
            return Ok(());
        };
        let mut last = remote.last_fetch.lock().await;
        if let (Some(asked_at), Some(previous)) = (asked_at, *last)
            && (previous > asked_at || previous.elapsed() < MIN_REFRESH_GAP)
            && remote.current().is_some()
        {
            return Ok(());
        }
        let fetched = remote.fetch().await;
        *last = Some(Instant::now());
        let keys = fetched.map_err(VerifyError::KeysUnavailable)?;
        *remote.keys.write().unwrap_or_else(|e| e.into_inner()) = Some(keys);
        Ok(())
    }
}

impl Remote {
    fn current(&self) -> Option<KeySet> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let response = self
            .http
            .get(&self.url)
            .send()
            .await
            .map_err(|e| crate::problem::ErrorChain(&e).to_string())?;
        if !response.status().is_success() {
            return Err(format!("{} answered {}", self.url, response.status()));
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        KeySet::from_json(&body, &self.issuer, &self.audience).map_err(|e| e.to_string())
    }
}

/// A signed-in user: the verified claims of the request's access token.
#[derive(Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    token: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl User {
    /// The access token the request carried, to act for the user in calls to other services.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    fn from_claims(claims: Claims, token: &str) -> Self {
        Self {
            id: claims.sub,
            email: claims.email,
            role: claims.role,
            token: token.to_owned(),
        }
    }
}

/// Why a request was not allowed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("invalid bearer token")]
    Invalid(#[source] JwtError),
    #[error("the user may not do this")]
    Forbidden,
    #[error("cannot verify tokens")]
    Unavailable(#[source] VerifyError),
}

impl From<VerifyError> for AuthError {
    fn from(error: VerifyError) -> Self {
        match error {
            VerifyError::Invalid(e) => Self::Invalid(e),
            unavailable @ VerifyError::KeysUnavailable(_) => Self::Unavailable(unavailable),
        }
    }
}

impl ApiError for AuthError {
    fn problem(&self) -> Problem {
        match self {
            Self::Missing => Problem::new(StatusCode::UNAUTHORIZED)
                .kind("unauthorized")
                .detail("This resource needs an `Authorization: Bearer` access token."),
            Self::Invalid(JwtError::Expired) => Problem::new(StatusCode::UNAUTHORIZED)
                .kind("unauthorized")
                .detail("The access token has expired; refresh it."),
            Self::Invalid(_) => Problem::new(StatusCode::UNAUTHORIZED)
                .kind("unauthorized")
                .detail("The access token is not valid."),
            Self::Forbidden => Problem::new(StatusCode::FORBIDDEN)
                .kind("forbidden")
                .detail("Your account may not do this."),
            Self::Unavailable(_) => Problem::internal(),
        }
    }

    fn headers(&self) -> HeaderMap {
        let challenge = match self {
            Self::Missing => r#"Bearer realm="api""#,
            Self::Invalid(JwtError::Expired) => {
                r#"Bearer realm="api", error="invalid_token", error_description="expired""#
            }
            Self::Invalid(_) => r#"Bearer realm="api", error="invalid_token""#,
            Self::Forbidden | Self::Unavailable(_) => return HeaderMap::new(),
        };
        HeaderMap::from_iter([(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        )])
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        crate::problem::problem_response(&self)
    }
}

/// The user of a request's bearer token, checked by `verifier`; `None` without a token.
pub async fn authenticate(
    verifier: &Verifier,
    headers: &HeaderMap,
) -> Result<Option<User>, AuthError> {
    let Some(token) = bearer_token(headers) else {
        return Ok(None);
    };
    let claims = verifier.verify(token).await?;
    Ok(Some(User::from_claims(claims, token)))
}

impl<S> FromRequestParts<S> for User
where
    S: Send + Sync,
    Verifier: FromRef<S>,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        authenticate(&Verifier::from_ref(state), &parts.headers)
            .await?
            .ok_or(AuthError::Missing)
    }
}

/// The user when the request carries a token; `None` when it carries none. A token that is sent
/// must be valid.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<User>);

impl<S> FromRequestParts<S> for MaybeUser
where
    S: Send + Sync,
    Verifier: FromRef<S>,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            authenticate(&Verifier::from_ref(state), &parts.headers).await?,
        ))
    }
}

/// A user with the admin role; 401 without a valid token, 403 with another role.
#[derive(Debug, Clone)]
pub struct Admin(pub User);

impl<S> FromRequestParts<S> for Admin
where
    S: Send + Sync,
    Verifier: FromRef<S>,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = User::from_request_parts(parts, state).await?;
        if user.is_admin() {
            Ok(Self(user))
        } else {
            Err(AuthError::Forbidden)
        }
    }
}
