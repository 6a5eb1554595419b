//! `spawn_app`: starts auth on port 0 with a fresh database, its own Redis prefix, the test
//! broker and a freshly generated Ed25519 signing key, and returns a client for it.
//!
//! Password hashing uses the cheapest Argon2 parameters here (`PasswordCost::INSECURE_FOR_TESTS`):
//! the production cost is checked by a unit test, and every test below hashes several times.

use std::collections::HashMap;

use auth::domain::SigningKey;
use auth::passwords::PasswordCost;
use auth::{Application, Config, NAME};
use events::Event;
use events::user::UserRegistered;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kit::Shutdown;
use kit::app::Service as _;
use kit::config::Env;
use kit::jwt::{Claims, Role};
use kit::testing::TestDatabase;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

/// A password that meets the policy.
pub const PASSWORD: &str = "correct horse battery staple";

/// A running instance of the service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The service's database; dropped with the app.
    pub db: TestDatabase,
    /// The key the app signs access tokens with.
    pub signing_key: SigningKey,
    pub config: Config,
}

/// Settings of a test app beyond the defaults.
#[derive(Default)]
pub struct Options {
    /// Extra environment variables of auth's own settings, e.g. `AUTH_SIGNIN_MAX_PER_IP`.
    pub env: Vec<(&'static str, String)>,
    /// Proxies trusted to append to `X-Forwarded-For` (the shared `TRUSTED_PROXY_HOPS`).
    pub trusted_proxy_hops: usize,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    // The relay publishes here; the embedded broker does not create topics on its own.
    kit::testing::create_topic(<UserRegistered as Event>::TOPIC, 3);
    let db = TestDatabase::create(&auth::storage::MIGRATOR).await;
    let signing_key = SigningKey::generate();
    let mut vars: HashMap<String, String> = HashMap::from([(
        "AUTH_SIGNING_KEY".to_owned(),
        signing_key.to_pem().expose_secret().to_owned(),
    )]);
    vars.extend(options.env.into_iter().map(|(k, v)| (k.to_owned(), v)));
    let mut common = kit::testing::common_config(NAME, Some(&db), true, true);
    common.trusted_proxy_hops = options.trusted_proxy_hops;
    let mut config = Config::read(Env::from_map(vars), common).expect("valid test configuration");
    config.password_cost = PasswordCost::INSECURE_FOR_TESTS;

    let app = Application::build(config.clone(), Shutdown::new())
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    #[allow(clippy::disallowed_methods)] // the app under test lives as long as the test
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        db,
        signing_key,
        config,
    }
}

impl TestApp {
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
        Claims {
            sub: user_id,
            email: email.to_owned(),
            role: Role::Customer,
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
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

/// Asserts `response` is a problem document with `status`; returns its body.
pub async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        kit::problem::PROBLEM_JSON
    );
    let body: Value = response.json().await.expect("problem body");
    assert_eq!(body["status"], status);
    body
}
