//! Builds the storefront from what the kit opened (the gateway client, the token verifier) and
//! runs it until shutdown.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum_extra::extract::cookie::Key;
use kit::app::{Api, Server};
use kit::auth::Verifier;
use secrecy::ExposeSecret as _;
use utoipa::OpenApi as _;

use crate::api::Api as ShopApi;
use crate::config::Config;
use crate::pages;
use crate::platform::Platform;
use crate::routes::ApiDoc;
use crate::session::{self, Cookies};

/// The stylesheet, compiled in.
const STYLE: &str = include_str!("../static/style.css");

/// Shared state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub api: ShopApi,
    pub tokens: Verifier,
    pub cookies: Cookies,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.tokens.clone()
    }
}

/// The key that signs the session cookies.
impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Self {
        state.cookies.key.clone()
    }
}

/// The service, bound and ready to serve.
pub struct Application {
    server: Server,
}

impl Application {
    /// Makes the state and the router and binds the port (0 picks a free one).
    pub async fn build(config: Config, platform: Platform) -> anyhow::Result<Self> {
        let secret = config.service.session_key.expose_secret().as_bytes();
        // HKDF from the secret (at least 32 bytes, checked with the configuration).
        anyhow::ensure!(secret.len() >= 32, "STOREFRONT_SESSION_KEY is too short");
        let key = Key::derive_from(secret);
        let origin = config.common.public_origin.clone();
        let cookies = Cookies {
            key,
            secure: origin.as_deref().is_some_and(|o| o.starts_with("https://")),
            origin,
        };
        let state = AppState {
            api: ShopApi::new(platform.clients.api_gateway),
            tokens: platform.tokens,
            cookies,
            config: Arc::new(config),
        };
        let api = Api::new(ApiDoc::openapi(), router(state.clone()));
        let server = Server::bind(api, &state.config.common, &platform.runtime).await?;
        Ok(Self { server })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Serves until a stop signal, then drains.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.server.run_until_stopped().await
    }
}

/// The pages (each with the visitor's session loaded first) and the stylesheet.
pub fn router(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/c/{slug}", get(pages::category))
        .route("/search", get(pages::search))
        .route("/p/{slug}", get(pages::product))
        .route("/cart", get(pages::cart))
        .route("/cart/add", post(pages::add_to_cart))
        .route("/cart/update", post(pages::update_cart))
        .route("/cart/remove", post(pages::remove_from_cart))
        .route("/signin", get(pages::signin_page).post(pages::signin))
        .route("/signup", get(pages::signup_page).post(pages::signup))
        .route("/signout", post(pages::signout))
        .route("/checkout", get(pages::checkout::address_page))
        .route("/checkout/address", post(pages::checkout::choose_address))
        .route("/checkout/review", get(pages::checkout::review_page))
        .route("/checkout/place", post(pages::checkout::place))
        .route("/orders", get(pages::orders::list))
        .route("/orders/{id}", get(pages::orders::show))
        .route("/orders/{id}/cancel", post(pages::orders::cancel))
        .route("/account", get(pages::profile::show))
        .route("/account/profile", post(pages::profile::save_profile))
        .route("/account/addresses", post(pages::profile::add_address))
        .route(
            "/account/addresses/{id}/delete",
            post(pages::profile::delete_address),
        )
        .route("/{*path}", get(pages::not_found))
        .route_layer(middleware::from_fn_with_state(state.clone(), session::load));
    Router::new()
        .route("/static/style.css", get(style))
        .merge(pages)
        .layer(middleware::map_response(security_headers))
        .with_state(state)
}

/// What a browser may do with the shop's pages: load styles and images from the shop (images
/// also inline or over https), post forms to the shop only, never run scripts, never be framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data: https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

async fn style() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        STYLE,
    )
}
