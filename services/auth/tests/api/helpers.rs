//! `spawn_app`: auth on a free port against fresh stores (`kit::testing::TestApp`), with a freshly
//! generated Ed25519 signing key, and the calls its tests make.
//!
//! Password hashing uses the cheapest Argon2 parameters here (`PasswordCost::INSECURE_FOR_TESTS`):
//! the production cost is checked by a unit test, and every test below hashes several times.

use std::collections::HashMap;
use std::ops::Deref;

use auth::domain::SigningKey;
use auth::passwords::PasswordCost;
use auth::{Application, Settings};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kit::config::{Env, Settings as _};
use kit::jwt::{Claims, Role};
pub use kit::testing::{TestApp, problem};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

/// A password that meets the policy.
pub const PASSWORD: &str = "correct horse battery staple";

/// auth under test, and the key it signs access tokens with.
pub struct AuthApp {
    pub app: TestApp,
    pub signing_key: SigningKey,
}

impl Deref for AuthApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// Settings of a test app beyond the defaults.
#[derive(Default)]
pub struct Options {
    /// Extra environment variables of auth's own settings, e.g. `AUTH_SIGNIN_MAX_PER_IP`.
    pub env: Vec<(&'static str, String)>,
    /// Proxies trusted to append to `X-Forwarded-For` (the shared `TRUSTED_PROXY_HOPS`).
    pub trusted_proxy_hops: usize,
}

pub async fn spawn_app() -> AuthApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> AuthApp {
    let signing_key = SigningKey::generate();
    let mut vars: HashMap<String, String> = HashMap::from([(
        "AUTH_SIGNING_KEY".to_owned(),
        signing_key.to_pem().expose_secret().to_owned(),
    )]);
    vars.extend(options.env.into_iter().map(|(k, v)| (k.to_owned(), v)));
    let mut env = Env::from_map(vars);
    let mut settings = Settings::read(&mut env).expect("valid test settings");
    env.finish().expect("valid test settings");
    settings.password_cost = PasswordCost::INSECURE_FOR_TESTS;
    let hops = options.trusted_proxy_hops;
    let app = TestApp::builder(settings)
        .configure(move |c| c.trusted_proxy_hops = hops)
        .spawn(Application::build, Application::run_until_stopped)
        .await;
    AuthApp { app, signing_key }
}

impl AuthApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn signup(&self, email: &str, password: &str) -> reqwest::Response {
        self.post(
            "/v1/auth/signup",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn signin(&self, email: &str, password: &str) -> reqwest::Response {
        self.post(
            "/v1/auth/signin",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Signs in from the client IP `ip` (taken into account only with `trusted_proxy_hops`).
    pub async fn signin_from(&self, ip: &str, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/v1/auth/signin"))
            .header("x-forwarded-for", ip)
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post("/v1/auth/refresh", &json!({"refresh_token": refresh_token}))
            .await
    }

    pub async fn signout(&self, refresh_token: &str) -> reqwest::Response {
        self.post("/v1/auth/signout", &json!({"refresh_token": refresh_token}))
            .await
    }

    pub async fn me(&self, access_token: &str) -> reqwest::Response {
        self.client
            .get(self.url("/v1/auth/me"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request sent")
    }

    /// Signs `email` up with [`PASSWORD`] and in; returns the token response.
    pub async fn signed_in(&self, email: &str) -> Value {
        assert_eq!(self.signup(email, PASSWORD).await.status(), 201);
        let response = self.signin(email, PASSWORD).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("token response")
    }

    /// Valid claims for `user_id` as this app would issue them.
    pub fn claims(&self, user_id: uuid::Uuid, email: &str) -> Claims {
        let now = chrono::Utc::now().timestamp();
        let signer = self.signer();
        Claims {
            sub: user_id,
            email: email.to_owned(),
            role: Role::Customer,
            iss: signer.issuer.clone(),
            aud: signer.audience.clone(),
            iat: now,
            exp: now + 900,
            jti: uuid::Uuid::new_v4(),
        }
    }
}

/// A JWT over `claims` signed by `key` with header `kid` (any value, for forged tokens).
pub fn mint(key: &SigningKey, kid: &str, claims: &Claims) -> String {
    let pem = key.to_pem();
    let encoding = EncodingKey::from_ed_pem(pem.expose_secret().as_bytes()).expect("PEM key");
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &encoding).expect("signs")
}
