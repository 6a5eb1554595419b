//! A visitor's session, kept in cookies the storefront signs (HMAC, the storefront-session-key):
//!
//! - `sf_sid`: a random id given on the first visit, kept 30 days. It is the guest cart's id (so
//!   a guest who comes back finds their cart) and what CSRF tokens are bound to;
//! - `sf_access`, `sf_refresh`: the signed-in user's tokens.
//!
//! Every cookie is `HttpOnly` and `SameSite=Lax`, and `Secure` when the shop is served over https
//! (`PUBLIC_ORIGIN`). [`load`] runs before every page: it reads the cookies, checks the access
//! token with the kit's verifier, and when it has expired exchanges the refresh token for new
//! ones through the API (transparent to the visitor); a refresh token that no longer works signs
//! the visitor out. The page then finds the [`Session`] in the request.
//!
//! Every form carries a CSRF token, the HMAC of the session id, checked with the form's `Origin`
//! (when the browser sends one) before anything changes: a handler takes its form as
//! [`Posted`], which does both before the handler runs.

use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use hmac::{Hmac, Mac};
use kit::auth::User;
use kit::extract::ClientIp;
use sha2::Sha256;
use uuid::Uuid;

use crate::api::{Caller, Tokens};
use crate::startup::AppState;

pub const SID: &str = "sf_sid";
pub const ACCESS: &str = "sf_access";
pub const REFRESH: &str = "sf_refresh";

/// How long the session id (and so a guest cart) is remembered.
const SID_DAYS: i64 = 30;
/// How long a refresh token cookie lives (auth decides how long the token itself is good).
const REFRESH_DAYS: i64 = 30;

/// Who is visiting.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session id: the guest cart's id.
    pub sid: Uuid,
    /// The signed-in user, when there is one.
    pub user: Option<User>,
    /// The visitor's address.
    pub ip: String,
    /// The CSRF token this session's forms carry.
    pub csrf: String,
}

impl Session {
    /// The signed-in user; otherwise [`PageError::SignIn`], which sends the visitor to sign in
    /// and come back to `next`.
    pub fn require_user(&self, next: &str) -> Result<&User, crate::pages::PageError> {
        self.user
            .as_ref()
            .ok_or_else(|| crate::pages::PageError::SignIn(next.to_owned()))
    }

    /// How the API is called for this visitor.
    pub fn caller(&self) -> Caller {
        Caller {
            ip: self.ip.clone(),
            token: self.user.as_ref().map(|u| u.token().to_owned()),
        }
    }
}

/// The cookies' settings.
#[derive(Clone)]
pub struct Cookies {
    pub key: Key,
    /// `Secure` cookies: the shop is served over https.
    pub secure: bool,
    /// Where forms must come from (`Origin`), when known.
    pub origin: Option<String>,
}

impl Cookies {
    fn cookie(&self, name: &'static str, value: String, days: i64) -> Cookie<'static> {
        Cookie::build((name, value))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .path("/")
            .max_age(cookie::time::Duration::days(days))
            .build()
    }

    /// The cookies of a new sign-in (or refresh).
    pub fn signed_in(&self, jar: SignedCookieJar, tokens: &Tokens) -> SignedCookieJar {
        let seconds = i64::try_from(tokens.expires_in).unwrap_or(900);
        let access = Cookie::build((ACCESS, tokens.access_token.clone()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .path("/")
            .max_age(cookie::time::Duration::seconds(seconds + 60))
            .build();
        jar.add(access)
            .add(self.cookie(REFRESH, tokens.refresh_token.clone(), REFRESH_DAYS))
    }

    /// Signed out: no tokens, and a new session id (a new, empty guest cart).
    pub fn signed_out(&self, jar: SignedCookieJar) -> SignedCookieJar {
        jar.remove(Cookie::build(ACCESS).path("/"))
            .remove(Cookie::build(REFRESH).path("/"))
            .add(self.cookie(SID, Uuid::new_v4().to_string(), SID_DAYS))
    }

    /// The CSRF token of a session id.
    pub fn csrf(&self, sid: Uuid) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.signing()).expect("any key length");
        mac.update(b"csrf:");
        mac.update(sid.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether a form post is this session's: its token is the session's, and it comes from the
    /// shop's own origin when the browser says where it comes from.
    pub fn form_allowed(&self, session: &Session, token: &str, headers: &HeaderMap) -> bool {
        let expected = self.csrf(session.sid);
        let token_ok = expected.len() == token.len()
            && expected
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        let origin_ok = match (headers.get(header::ORIGIN), &self.origin) {
            (Some(origin), Some(expected)) => origin.as_bytes() == expected.as_bytes(),
            _ => true,
        };
        token_ok && origin_ok
    }
}

/// A form post of this session: parsed as `T` (400 when it is incomplete), with its `csrf` field
/// and `Origin` checked (403), so a handler never sees a forged post.
#[derive(Debug)]
pub struct Posted<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = crate::pages::PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        use crate::pages::PageError;
        #[derive(serde::Deserialize)]
        struct Token {
            csrf: String,
        }
        let session = request
            .extensions()
            .get::<Session>()
            .cloned()
            .ok_or(PageError::Forbidden)?;
        let headers = request.headers().clone();
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| PageError::BadRequest("The form is too large."))?;
        let token: Token = serde_urlencoded::from_bytes(&body).map_err(|_| PageError::Forbidden)?;
        if !state.cookies.form_allowed(&session, &token.csrf, &headers) {
            return Err(PageError::Forbidden);
        }
        serde_urlencoded::from_bytes(&body)
            .map(Posted)
            .map_err(|_| PageError::BadRequest("The form is incomplete."))
    }
}

/// Loads the session before a page and writes cookie changes after it.
pub async fn load(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let cookies = &state.cookies;
    let mut jar = SignedCookieJar::from_headers(request.headers(), cookies.key.clone());
    let hops = request
        .extensions()
        .get::<kit::http::TrustedHops>()
        .map_or(0, |h| h.0);
    let ip = ClientIp::resolve(request.headers(), peer.ip(), hops).to_string();

    let sid = match jar.get(SID).and_then(|c| c.value().parse::<Uuid>().ok()) {
        Some(sid) => sid,
        None => {
            let sid = Uuid::new_v4();
            jar = jar.add(cookies.cookie(SID, sid.to_string(), SID_DAYS));
            sid
        }
    };
    let mut signed_in = match jar.get(ACCESS) {
        Some(access) => user_of(&state, access.value()).await,
        None => None,
    };
    if signed_in.is_none()
        && let Some(refresh) = jar.get(REFRESH).map(|c| c.value().to_owned())
    {
        let caller = Caller {
            ip: ip.clone(),
            token: None,
        };
        match state.api.refresh(&caller, &refresh).await {
            Ok(tokens) => {
                signed_in = user_of(&state, &tokens.access_token).await;
                jar = cookies.signed_in(jar, &tokens);
                tracing::debug!("session refreshed");
            }
            Err(error) if error.status().is_some() => {
                // The refresh token is spent or revoked: the visitor is signed out.
                jar = jar
                    .remove(Cookie::build(ACCESS).path("/"))
                    .remove(Cookie::build(REFRESH).path("/"));
            }
            Err(error) => {
                tracing::warn!(%error, "cannot refresh the session now");
            }
        }
    }
    let session = Session {
        sid,
        user: signed_in,
        ip,
        csrf: cookies.csrf(sid),
    };
    request.extensions_mut().insert(session);
    let response = next.run(request).await;
    (jar, response).into_response()
}

/// The user of an access token, checked as every service checks it (`kit::auth`).
pub async fn user_of(state: &AppState, token: &str) -> Option<User> {
    let value = format!("Bearer {token}").parse().ok()?;
    let headers = HeaderMap::from_iter([(header::AUTHORIZATION, value)]);
    kit::auth::authenticate(&state.tokens, &headers)
        .await
        .ok()
        .flatten()
}
