//! A stand-in for Stripe's API, for tests (feature `testing`): the endpoints order calls,
//! answering as Stripe's API reference describes (Checkout Sessions in `payment` mode with manual
//! capture, PaymentIntents, idempotency keys replayed or refused when reused with other
//! parameters, error bodies), and signing its events with the scheme of [`kit::webhook`]. It
//! checks what every call must carry (the secret key, a pinned API version, an idempotency key
//! on every POST) and records the calls for tests to assert on.
//!
//! Stripe itself cannot be reached from the test machine; this is what order's Stripe client is
//! tested against, and what the end-to-end tests pay on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub const SECRET_KEY: &str = "sk_test_order";
pub const WEBHOOK_SECRET: &str = "whsec_order_test";

/// A Checkout Session as the stand-in keeps it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    /// Its `client_reference_id`.
    pub order: String,
    /// `open`, `complete` or `expired`.
    pub status: &'static str,
    /// Its PaymentIntent, once paid.
    pub intent: Option<String>,
    /// The form it was created with.
    pub form: HashMap<String, String>,
}

/// One request order made: method, path, idempotency key.
pub type Call = (String, String, Option<String>);

#[derive(Default)]
struct Ledger {
    sessions: HashMap<String, Session>,
    /// PaymentIntent id → status.
    intents: HashMap<String, &'static str>,
    /// Idempotency key → the parameters it came with and the first answer, replayed.
    keys: HashMap<String, (HashMap<String, String>, Value)>,
    calls: Vec<Call>,
    /// Stripe is down: every call answers 500.
    down: bool,
}

/// The running stand-in.
#[derive(Clone, Default)]
pub struct FakeStripe {
    ledger: Arc<Mutex<Ledger>>,
    /// Its base URL (order's `PAYMENT_API_URL`).
    pub url: String,
}

fn stripe_error(code: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(
            json!({"error": {"type": "invalid_request_error", "code": code,
            "message": "see code"}}),
        ),
    )
        .into_response()
}

fn session_json(session: &Session) -> Value {
    json!({
        "id": session.id, "object": "checkout.session", "status": session.status,
        "payment_status": "unpaid", "payment_intent": session.intent,
        "client_reference_id": session.order,
        "url": (session.status == "open").then(|| format!("https://checkout.stripe.test/c/pay/{}", session.id)),
    })
}

/// Checks what every call must carry, and records it.
fn record(
    fake: &FakeStripe,
    method: &str,
    path: &str,
    headers: &HeaderMap,
) -> Result<(), Box<Response>> {
    if fake.ledger.lock().unwrap().down {
        let body = json!({"error": {"type": "api_error"}});
        return Err(Box::new(
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response(),
        ));
    }
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {SECRET_KEY}")) {
        return Err(Box::new(
            (StatusCode::UNAUTHORIZED, "bad key").into_response(),
        ));
    }
    if headers.get("stripe-version").is_none() {
        return Err(Box::new(stripe_error("missing_version")));
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if method == "POST" && key.is_none() {
        return Err(Box::new(stripe_error("idempotency_key_missing")));
    }
    fake.ledger
        .lock()
        .unwrap()
        .calls
        .push((method.to_owned(), path.to_owned(), key));
    Ok(())
}

async fn create_session(
    State(fake): State<FakeStripe>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    if let Err(response) = record(&fake, "POST", "/v1/checkout/sessions", &headers) {
        return *response;
    }
    let key = headers["idempotency-key"].to_str().unwrap().to_owned();
    let mut ledger = fake.ledger.lock().unwrap();
    if let Some((first, answer)) = ledger.keys.get(&key) {
        // Stripe replays the first answer to a key used again with the same parameters, and
        // refuses other parameters.
        if *first != form {
            return stripe_error("idempotency_key_in_use");
        }
        return axum::Json(answer.clone()).into_response();
    }
    // Stripe's window for expires_at: 30 minutes to 24 hours from now.
    let now = chrono::Utc::now().timestamp();
    match form.get("expires_at").and_then(|e| e.parse::<i64>().ok()) {
        Some(at) if (now + 1800..=now + 86_400).contains(&at) => {}
        _ => return stripe_error("parameter_invalid_integer"),
    }
    let session = Session {
        id: format!("cs_test_{}", uuid::Uuid::now_v7().simple()),
        order: form.get("client_reference_id").cloned().unwrap_or_default(),
        status: "open",
        intent: None,
        form: form.clone(),
    };
    let answer = session_json(&session);
    ledger.keys.insert(key, (form, answer.clone()));
    ledger.sessions.insert(session.id.clone(), session);
    axum::Json(answer).into_response()
}

async fn read_session(
    State(fake): State<FakeStripe>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = record(
        &fake,
        "GET",
        &format!("/v1/checkout/sessions/{id}"),
        &headers,
    ) {
        return *response;
    }
    match fake.ledger.lock().unwrap().sessions.get(&id) {
        Some(session) => axum::Json(session_json(session)).into_response(),
        None => stripe_error("resource_missing"),
    }
}

async fn expire_session(
    State(fake): State<FakeStripe>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/v1/checkout/sessions/{id}/expire");
    if let Err(response) = record(&fake, "POST", &path, &headers) {
        return *response;
    }
    let mut ledger = fake.ledger.lock().unwrap();
    let Some(session) = ledger.sessions.get_mut(&id) else {
        return stripe_error("resource_missing");
    };
    if session.status != "open" {
        return stripe_error("checkout_session_not_open");
    }
    session.status = "expired";
    axum::Json(session_json(session)).into_response()
}

async fn intent_action(
    State(fake): State<FakeStripe>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/v1/payment_intents/{id}/{action}");
    if let Err(response) = record(&fake, "POST", &path, &headers) {
        return *response;
    }
    let mut ledger = fake.ledger.lock().unwrap();
    let Some(status) = ledger.intents.get_mut(&id) else {
        return stripe_error("resource_missing");
    };
    let next = match (action.as_str(), *status) {
        ("capture", "requires_capture") => "succeeded",
        ("cancel", "requires_capture") => "canceled",
        _ => return stripe_error("payment_intent_unexpected_state"),
    };
    *status = next;
    axum::Json(json!({"id": id, "object": "payment_intent", "status": next})).into_response()
}

async fn read_intent(
    State(fake): State<FakeStripe>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = record(&fake, "GET", &format!("/v1/payment_intents/{id}"), &headers) {
        return *response;
    }
    match fake.ledger.lock().unwrap().intents.get(&id) {
        Some(status) => axum::Json(json!({"id": id, "object": "payment_intent", "status": status}))
            .into_response(),
        None => stripe_error("resource_missing"),
    }
}

impl FakeStripe {
    /// Serves on a free port for as long as the test runs.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = Self {
            url: format!("http://{}", listener.local_addr().unwrap()),
            ..Self::default()
        };
        let router = axum::Router::new()
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/checkout/sessions/{id}", get(read_session))
            .route("/v1/checkout/sessions/{id}/expire", post(expire_session))
            .route("/v1/payment_intents/{id}", get(read_intent))
            .route("/v1/payment_intents/{id}/{action}", post(intent_action))
            .with_state(fake.clone());
        #[allow(clippy::disallowed_methods)] // the stand-in lives as long as the test
        tokio::spawn(async move { axum::serve(listener, router).await });
        fake
    }

    /// order's settings to use the stand-in.
    pub fn settings(&self) -> crate::Settings {
        crate::Settings {
            payment_provider_key: SECRET_KEY.to_owned().into(),
            payment_webhook_secret: WEBHOOK_SECRET.to_owned().into(),
            payment_api_url: Some(self.url.clone()),
        }
    }

    /// The session order opened for `order`.
    pub fn session_of(&self, order: &str) -> Session {
        let ledger = self.ledger.lock().unwrap();
        ledger
            .sessions
            .values()
            .find(|s| s.order == order)
            .cloned()
            .expect("a session for the order")
    }

    /// The shopper pays on the page: the session completes, its PaymentIntent holds the amount.
    pub fn pay(&self, session: &str) -> String {
        let mut ledger = self.ledger.lock().unwrap();
        let intent = format!("pi_test_{}", uuid::Uuid::now_v7().simple());
        let found = ledger.sessions.get_mut(session).unwrap();
        found.status = "complete";
        found.intent = Some(intent.clone());
        ledger.intents.insert(intent.clone(), "requires_capture");
        intent
    }

    /// Stripe goes down (every call answers 500) or comes back.
    pub fn outage(&self, down: bool) {
        self.ledger.lock().unwrap().down = down;
    }

    /// The page expires unpaid (Stripe's clock ran out).
    pub fn expire(&self, session: &str) {
        self.ledger
            .lock()
            .unwrap()
            .sessions
            .get_mut(session)
            .unwrap()
            .status = "expired";
    }

    /// The status of a PaymentIntent.
    pub fn intent(&self, id: &str) -> &'static str {
        self.ledger.lock().unwrap().intents[id]
    }

    /// The calls order made, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.ledger.lock().unwrap().calls.clone()
    }

    /// The event Stripe sends about `session` now, and its signature header.
    pub fn event(&self, kind: &str, session: &str) -> (Vec<u8>, String) {
        let object = session_json(&self.ledger.lock().unwrap().sessions[session]);
        let body = serde_json::to_vec(&json!({
            "id": format!("evt_{}", uuid::Uuid::now_v7().simple()), "object": "event",
            "type": kind, "data": {"object": object},
        }))
        .unwrap();
        let signature = kit::webhook::sign(
            WEBHOOK_SECRET.as_bytes(),
            chrono::Utc::now().timestamp(),
            &body,
        );
        (body, signature)
    }
}
