//! Access tokens at `GET /v1/auth/me` and the JWKS: only unexpired tokens signed by a published
//! key, with untouched claims, are accepted; everything else is a 401 with a Bearer challenge.

use auth::domain::SigningKey;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePublicKey as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use serde_json::Value;

use crate::helpers::{AuthApp, Options, mint, problem, spawn_app, spawn_app_with};

/// A signed-in user: (user id, access token).
async fn user(app: &AuthApp) -> (uuid::Uuid, String) {
    let tokens = app.signed_in("ada@example.com").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let me: Value = app.me(&access).await.json().await.unwrap();
    (me["user_id"].as_str().unwrap().parse().unwrap(), access)
}

async fn rejected(response: reqwest::Response) -> Value {
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    problem(response, 401).await
}

#[tokio::test]
async fn me_shows_the_account_of_a_valid_token() {
    let app = spawn_app().await;
    let (user_id, access) = user(&app).await;
    let response = app.me(&access).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user_id"], user_id.to_string());
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(body["role"], "customer");
}

#[tokio::test]
async fn missing_or_malformed_tokens_are_rejected() {
    let app = spawn_app().await;
    let missing = app.client.get(app.url("/v1/auth/me")).send().await.unwrap();
    assert_eq!(
        missing.headers()["www-authenticate"],
        r#"Bearer realm="api""#
    );
    rejected(missing).await;
    rejected(app.me("not-a-jwt").await).await;
    let basic = app
        .client
        .get(app.url("/v1/auth/me"))
        .basic_auth("ada", Some("pw"))
        .send()
        .await
        .unwrap();
    rejected(basic).await;
}

#[tokio::test]
async fn expired_tokens_are_rejected() {
    let app = spawn_app().await;
    let (user_id, _) = user(&app).await;
    let mut claims = app.claims(user_id, "ada@example.com");
    claims.iat -= 3600;
    claims.exp = chrono::Utc::now().timestamp() - 120;
    let token = mint(&app.signing_key, app.signing_key.kid(), &claims);
    let response = app.me(&token).await;
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let body = rejected(response).await;
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn tokens_signed_by_another_key_are_rejected() {
    let app = spawn_app().await;
    let (user_id, _) = user(&app).await;
    let claims = app.claims(user_id, "ada@example.com");
    let forger = SigningKey::generate();
    // Claiming the app's key id does not help without the app's private key.
    rejected(app.me(&mint(&forger, app.signing_key.kid(), &claims)).await).await;
    // Nor does a key id the app does not publish, even when signed by the app's own key.
    rejected(app.me(&mint(&forger, forger.kid(), &claims)).await).await;
    rejected(
        app.me(&mint(&app.signing_key, "0000000000000000", &claims))
            .await,
    )
    .await;
}

#[tokio::test]
async fn tampered_payloads_are_rejected() {
    let app = spawn_app().await;
    let (_, access) = user(&app).await;
    let parts: Vec<&str> = access.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["role"] = "admin".into();
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    rejected(app.me(&tampered).await).await;
}

#[tokio::test]
async fn tokens_of_wrong_issuer_or_audience_are_rejected() {
    let app = spawn_app().await;
    let (user_id, _) = user(&app).await;
    let kid = app.signing_key.kid();
    let mut claims = app.claims(user_id, "ada@example.com");
    claims.aud = "another-shop".into();
    rejected(app.me(&mint(&app.signing_key, kid, &claims)).await).await;
    let mut claims = app.claims(user_id, "ada@example.com");
    claims.iss = "someone-else".into();
    rejected(app.me(&mint(&app.signing_key, kid, &claims)).await).await;
}

#[tokio::test]
async fn jwks_publishes_the_signing_key() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cache = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cache.contains("max-age="), "{cache}");
    let body: Value = response.json().await.unwrap();
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], app.signing_key.kid());
    assert_eq!(
        key["x"],
        URL_SAFE_NO_PAD.encode(app.signing_key.public_key().as_bytes())
    );
    assert!(key.get("d").is_none(), "never the private part");
}

#[tokio::test]
async fn previous_keys_are_published_and_still_accepted() {
    let previous = SigningKey::generate();
    let pem = ed25519_dalek::VerifyingKey::from_bytes(previous.public_key().as_bytes())
        .unwrap()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let app = spawn_app_with(Options {
        env: vec![("AUTH_PREVIOUS_PUBLIC_KEYS", pem)],
        ..Options::default()
    })
    .await;
    let body: Value = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        [app.signing_key.kid(), previous.kid()],
        "current key first"
    );

    let (user_id, _) = user(&app).await;
    let token = mint(
        &previous,
        previous.kid(),
        &app.claims(user_id, "ada@example.com"),
    );
    assert_eq!(app.me(&token).await.status(), 200);
}
