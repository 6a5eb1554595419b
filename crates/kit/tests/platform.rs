//! What every service gets from the kit, tested once here on a small service built the way the
//! rendered `src/platform.rs` builds real ones: the platform endpoints, problem documents for
//! every kind of bad request, request ids and trace context in and out, the caller's identity,
//! calls to another service, and behaviour while a store is down (503 with `Retry-After`, not
//! ready, recovery once it is back; started during an outage, not ready until it ends).
//! Services test only what is theirs.

use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use kit::app::{Api, Dependencies, Manifest, Opened, Runtime, Server, Tokens};
use kit::auth::{Admin, User, Verifier};
use kit::client::Client;
use kit::config::Config;
use kit::extract::{ClientIp, Json, Path};
use kit::jwt::Role;
use kit::openapi::Conventions;
use kit::redis::RedisStore;
use kit::testing::{TestApp, TestSigner, problem};
use kit::{ApiError, Problem};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::OpenApi;

/// The test service's migrations: one table.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations");

const MANIFEST: Manifest = Manifest {
    name: "kit-test",
    postgres: true,
    migrations: Some(&MIGRATOR),
    redis: true,
    produces: &[],
    consumes: &[],
    calls: &["upstream"],
    tokens: Tokens::Verify,
};

/// As the renderer writes it for a service with these declarations.
#[derive(Clone)]
struct Platform {
    runtime: Runtime,
    db: sqlx::PgPool,
    redis: RedisStore,
    tokens: Verifier,
    upstream: Client,
}

impl Dependencies for Platform {
    const MANIFEST: Manifest = MANIFEST;
    fn assemble(opened: Opened) -> Self {
        Self {
            db: opened.db(),
            redis: opened.redis(),
            tokens: opened.verifier(),
            upstream: opened.client("upstream"),
            runtime: opened.runtime,
        }
    }
}

#[derive(Clone)]
struct AppState {
    platform: Platform,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.platform.tokens.clone()
    }
}

#[derive(Debug, thiserror::Error)]
enum ThingError {
    #[error("no such thing")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] kit::validate::Invalid),
    #[error("thing lookup failed")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError for ThingError {
    fn problem(&self) -> Problem {
        match self {
            Self::NotFound => Problem::new(axum::http::StatusCode::NOT_FOUND),
            Self::Invalid(invalid) => invalid.problem(),
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

/// Reads Redis and PostgreSQL: fails while either is down.
async fn thing(
    State(state): State<AppState>,
    Path(id): Path<uuid::Uuid>,
) -> kit::Result<Json<Value>, ThingError> {
    use anyhow::Context as _;
    let mut conn = state.platform.redis.conn().await.context("redis")?;
    let _: Option<String> = redis::cmd("GET")
        .arg(state.platform.redis.key(&id.to_string()))
        .query_async(&mut conn)
        .await
        .context("redis get")?;
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM things WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.platform.db)
        .await
        .context("select thing")?;
    let name = name.ok_or(ThingError::NotFound)?;
    Ok(Json(json!({ "id": id, "name": name })))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewThing {
    name: String,
    size: i64,
}

#[utoipa::path(post, path = "/v1/things", request_body = NewThing,
    responses((status = 201, description = "Created")))]
async fn create(Json(body): Json<NewThing>) -> kit::Result<Json<Value>, ThingError> {
    let (name, size) = kit::validate::fields((
        (
            "name",
            Some(body.name.trim())
                .filter(|n| !n.is_empty())
                .ok_or("must not be blank"),
        ),
        (
            "size",
            Some(body.size)
                .filter(|s| (1..=10).contains(s))
                .ok_or("must be between 1 and 10"),
        ),
    ))?;
    Ok(Json(json!({ "name": name, "size": size })))
}

async fn me(user: User) -> Json<Value> {
    Json(json!({ "id": user.id, "role": user.role }))
}

async fn admin(Admin(user): Admin) -> Json<Value> {
    Json(json!({ "id": user.id }))
}

async fn ip(ip: ClientIp) -> String {
    ip.to_string()
}

/// Calls the upstream for the user: what the upstream saw comes back.
async fn call(State(state): State<AppState>, user: User) -> kit::Result<Json<Value>, ThingError> {
    let seen: Value = state
        .platform
        .upstream
        .get("/echo")
        .bearer(user.token())
        .json_response()
        .await
        .map_err(anyhow::Error::from)?;
    Ok(Json(seen))
}

#[derive(OpenApi)]
#[openapi(paths(create), modifiers(&Conventions))]
struct ApiDoc;

struct Application {
    server: Server,
}

impl Application {
    async fn build(config: Config<()>, platform: Platform) -> anyhow::Result<Self> {
        let probe = format!("/probe-{}", uuid::Uuid::new_v4().simple());
        let runtime = platform.runtime.clone();
        let router = Router::new()
            .route("/v1/things", post(create))
            .route("/v1/things/{id}", get(thing))
            .route("/v1/me", get(me))
            .route("/v1/admin", get(admin))
            .route("/v1/ip", get(ip))
            .route("/v1/call", get(call))
            .route(
                "/v1/probe",
                get({
                    let probe = probe.clone();
                    move || std::future::ready(probe.clone())
                }),
            )
            .route(&probe, get(|| async { "probed" }))
            .with_state(AppState { platform });
        let api = Api::new(ApiDoc::openapi(), router).body_limit(1024);
        let server = Server::bind(api, &config.common, &runtime).await?;
        Ok(Self { server })
    }

    async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.server.run_until_stopped().await
    }
}

async fn spawn() -> TestApp {
    TestApp::builder(())
        .spawn(Application::build, Application::run_until_stopped)
        .await
}

#[tokio::test]
async fn healthz_readyz_and_the_openapi_document() {
    let app = spawn().await;
    let health = app.get("/healthz").send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));

    let ready: Value = app
        .get("/readyz")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ready,
        json!({"status": "ok", "checks": {"postgres": {"status": "ok"}, "redis": {"status": "ok"}}})
    );

    let doc: Value = app
        .get("/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let responses = &doc["paths"]["/v1/things"]["post"]["responses"];
    for status in ["201", "400", "413", "415", "422", "500", "503"] {
        assert!(responses.get(status).is_some(), "{status} documented");
    }
}

#[tokio::test]
async fn metrics_count_this_request() {
    let app = spawn().await;
    // The recorder is process-wide: count on a route no other test in this process has.
    let probe = app
        .get("/v1/probe")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(probe.starts_with("/probe-"), "{probe}");
    assert_eq!(app.get(&probe).send().await.unwrap().status(), 200);
    let text = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("http_requests_total") && l.contains(&probe))
        .unwrap_or_else(|| panic!("no counter for {probe}: {text}"));
    assert!(
        line.contains(r#"method="GET""#) && line.contains(r#"status="200""#),
        "{line}"
    );
    assert!(line.ends_with(" 1"), "counted once: {line}");
}

#[tokio::test]
async fn unknown_paths_methods_and_bodies_are_problem_documents() {
    let app = spawn().await;
    problem(app.get("/no/such/thing").send().await.unwrap(), 404).await;
    problem(app.delete("/v1/things").send().await.unwrap(), 405).await;
    problem(app.get("/v1/things/not-a-uuid").send().await.unwrap(), 400).await;
    problem(app.post("/v1/things").body("{}").send().await.unwrap(), 415).await;
    problem(
        app.post("/v1/things")
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    problem(
        app.post("/v1/things")
            .json(&json!({"name": 1}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    problem(
        app.post("/v1/things")
            .json(&json!({"name": "x".repeat(2000), "size": 1}))
            .send()
            .await
            .unwrap(),
        413,
    )
    .await;
    let invalid = problem(
        app.post("/v1/things")
            .json(&json!({"name": " ", "size": 11}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    let fields: Vec<&str> = invalid["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "size"], "every invalid field at once");
    let created = app
        .post("/v1/things")
        .json(&json!({"name": "box", "size": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
}

#[tokio::test]
async fn request_ids_and_trace_context_come_back() {
    let app = spawn().await;
    let kept = app
        .get("/healthz")
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "abc-123");
    let replaced = app
        .get("/healthz")
        .header("x-request-id", "a b{}")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "a b{}");

    let traced = app
        .get("/healthz")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .header("tracestate", "vendor=1")
        .send()
        .await
        .unwrap();
    let traceparent = traced.headers()["traceparent"].to_str().unwrap();
    assert!(
        traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{traceparent}"
    );
    assert_eq!(traced.headers()["tracestate"], "vendor=1");
}

#[tokio::test]
async fn the_caller_is_who_the_token_says() {
    let app = spawn().await;
    let missing = app.get("/v1/me").send().await.unwrap();
    assert!(
        missing.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    problem(missing, 401).await;

    let (customer, id) = app.customer();
    let me: Value = app
        .get("/v1/me")
        .bearer_auth(&customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me, json!({"id": id, "role": "customer"}));
    problem(
        app.get("/v1/admin")
            .bearer_auth(&customer)
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    let (admin, _) = app.admin();
    assert_eq!(
        app.get("/v1/admin")
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Signed by a key the service has never seen: it looks again (a rotation?), then refuses.
    let stranger = TestSigner::start().await;
    let (forged, _) = stranger.token(Role::Admin);
    problem(
        app.get("/v1/admin")
            .bearer_auth(&forged)
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;

    let mut claims = app.signer().claims(Role::Customer);
    claims.exp = chrono::Utc::now().timestamp() - 3600;
    let expired = app
        .get("/v1/me")
        .bearer_auth(app.signer().sign(&claims))
        .send()
        .await
        .unwrap();
    assert!(
        expired.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("expired")
    );
    problem(expired, 401).await;
}

#[tokio::test]
async fn client_ip_trusts_only_the_configured_proxies() {
    let direct = spawn().await;
    let ip = direct
        .get("/v1/ip")
        .header("x-forwarded-for", "6.6.6.6")
        .send()
        .await
        .unwrap();
    assert_eq!(ip.text().await.unwrap(), "127.0.0.1", "no proxy trusted");

    let behind_one = TestApp::builder(())
        .configure(|c| c.trusted_proxy_hops = 1)
        .spawn(Application::build, Application::run_until_stopped)
        .await;
    let ip = behind_one
        .get("/v1/ip")
        .header("x-forwarded-for", "6.6.6.6, 203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(ip.text().await.unwrap(), "203.0.113.7");
}

#[tokio::test]
async fn calls_carry_the_trace_the_request_id_and_the_users_token() {
    let echo = Router::new().route(
        "/echo",
        get(|headers: HeaderMap| async move {
            let get = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            axum::Json(json!({
                "traceparent": get("traceparent"),
                "request_id": get("x-request-id"),
                "authorization": get("authorization"),
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    #[allow(clippy::disallowed_methods)] // the upstream stand-in
    tokio::spawn(async move { axum::serve(listener, echo).await });

    let app = TestApp::builder(())
        .call("upstream", &upstream)
        .spawn(Application::build, Application::run_until_stopped)
        .await;
    let (token, _) = app.customer();
    let seen: Value = app
        .get("/v1/call")
        .bearer_auth(&token)
        .header("x-request-id", "req-42")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["request_id"], "req-42");
    assert_eq!(seen["authorization"], format!("Bearer {token}"));
    assert!(
        seen["traceparent"]
            .as_str()
            .unwrap()
            .starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{seen}"
    );

    // An upstream that is not there: 503 after the retries, not 500.
    let lonely = spawn().await;
    let (token, _) = lonely.customer();
    let response = lonely
        .get("/v1/call")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "5");
    problem(response, 503).await;
}

/// A TCP port nothing listens on (yet).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_store_that_is_down_is_503_and_not_ready_and_recovery_is_automatic() {
    let dead = free_port();
    let app = TestApp::builder(())
        .configure(move |c| {
            c.redis_url = Some(format!("redis://127.0.0.1:{dead}").into());
        })
        .without_waiting()
        .spawn(Application::build, Application::run_until_stopped)
        .await;
    let ready = app.get("/readyz").send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["redis"]["status"], "failing");

    let id = uuid::Uuid::new_v4();
    let response = app.get(&format!("/v1/things/{id}")).send().await.unwrap();
    assert_eq!(response.headers()["retry-after"], "5");
    let body = problem(response, 503).await;
    assert_eq!(body["type"], "/problems/unavailable");

    // Redis comes back on that port: the service serves again, no restart.
    let start_redis = || {
        std::process::Command::new("redis-server")
            .args([
                "--port",
                &dead.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed")
    };
    let mut redis = start_redis();
    app.wait_ready(Duration::from_secs(20)).await;
    sqlx::query("INSERT INTO things (id, name) VALUES ($1, 'back')")
        .bind(id)
        .execute(app.pool())
        .await
        .unwrap();
    let found = app.get(&format!("/v1/things/{id}")).send().await.unwrap();
    assert_eq!(found.status(), 200);

    // It goes away while connected (an outage, a failover): 503 again, then served once it is
    // back, on the same connection handle.
    let _ = redis.kill();
    let _ = redis.wait();
    let response = app.get(&format!("/v1/things/{id}")).send().await.unwrap();
    problem(response, 503).await;
    let mut redis = start_redis();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = app
            .get(&format!("/v1/things/{id}"))
            .send()
            .await
            .unwrap()
            .status();
        if status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {status} 20 s after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = redis.kill();
    let _ = redis.wait();
}

#[tokio::test]
async fn started_while_postgres_is_unreachable_it_waits_not_ready() {
    // PostgreSQL is reachable only through a proxy that does not exist yet.
    let port = free_port();
    let app = TestApp::builder(())
        .configure(move |c| {
            use sqlx::ConnectOptions as _;
            let url = secrecy::ExposeSecret::expose_secret(c.database_url.as_ref().unwrap());
            let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
            let moved = options
                .host("127.0.0.1")
                .port(port)
                .to_url_lossy()
                .to_string();
            c.database_url = Some(moved.into());
        })
        .without_waiting()
        .spawn(Application::build, Application::run_until_stopped)
        .await;
    let ready: Value = app
        .get("/readyz")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["postgres"]["status"], "failing");
    assert_eq!(
        app.get("/healthz").send().await.unwrap().status(),
        200,
        "alive all along"
    );

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    #[allow(clippy::disallowed_methods)] // the proxy stand-in for a database coming back
    tokio::spawn(async move {
        let target = kit::testing::admin_database_url();
        let options: sqlx::postgres::PgConnectOptions = target.parse().unwrap();
        let address = format!("{}:{}", options.get_host(), options.get_port());
        while let Ok((mut inbound, _)) = listener.accept().await {
            let address = address.clone();
            #[allow(clippy::disallowed_methods)]
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&address).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    app.wait_ready(Duration::from_secs(30)).await;
    let id = uuid::Uuid::new_v4();
    problem(
        app.get(&format!("/v1/things/{id}")).send().await.unwrap(),
        404,
    )
    .await;
}
