//! `POST /v1/auth/signin`: tokens for the right password, one generic 401 for everything else,
//! and rate limits per account and per client IP.

use kit::jwt::{KeySet, Role};
use serde_json::Value;

use crate::helpers::{AuthApp, Options, PASSWORD, problem, spawn_app, spawn_app_with};

async fn key_set(app: &AuthApp) -> KeySet {
    let jwks = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let signer = app.signer();
    KeySet::from_json(&jwks, &signer.issuer, &signer.audience).unwrap()
}

#[tokio::test]
async fn the_right_password_gets_tokens_that_verify_against_the_jwks() {
    let app = spawn_app().await;
    let signup: Value = app
        .signup("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();

    let response = app.signin("Ada@Example.com", PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);

    let access = body["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some(app.signing_key.kid()));
    let claims = key_set(&app).await.verify(access).unwrap();
    assert_eq!(claims.sub.to_string(), signup["user_id"].as_str().unwrap());
    assert_eq!(claims.email, "ada@example.com");
    assert_eq!(claims.role, Role::Customer);
    let signer = app.signer();
    assert_eq!(
        (claims.iss.as_str(), claims.aud.as_str()),
        (signer.issuer.as_str(), signer.audience.as_str()),
        "the [tokens] issuer and audience the platform declares"
    );
    assert_eq!(claims.exp - claims.iat, 900);
}

#[tokio::test]
async fn wrong_password_and_unknown_account_get_the_same_answer() {
    let app = spawn_app().await;
    app.signup("ada@example.com", PASSWORD).await;
    let wrong_password =
        problem(app.signin("ada@example.com", "not the password").await, 401).await;
    let unknown_account = problem(app.signin("bob@example.com", PASSWORD).await, 401).await;
    let impossible_address = problem(app.signin("bob", PASSWORD).await, 401).await;
    assert_eq!(wrong_password["type"], "/problems/invalid-credentials");
    assert_eq!(wrong_password, unknown_account);
    assert_eq!(wrong_password, impossible_address);
}

#[tokio::test]
async fn admins_are_made_in_the_database() {
    let app = spawn_app().await;
    app.signup("ops@example.com", PASSWORD).await;
    sqlx::query("UPDATE users SET role = 'admin' WHERE email = 'ops@example.com'")
        .execute(app.pool())
        .await
        .unwrap();
    let body: Value = app
        .signin("ops@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let claims = key_set(&app)
        .await
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.role, Role::Admin);
}

#[tokio::test]
async fn an_account_is_locked_after_five_failures_without_affecting_others() {
    let app = spawn_app().await;
    app.signup("ada@example.com", PASSWORD).await;
    app.signup("bob@example.com", PASSWORD).await;

    for _ in 0..5 {
        problem(app.signin("ada@example.com", "a wrong password").await, 401).await;
    }
    let response = app.signin("ada@example.com", PASSWORD).await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    let body = problem(response, 429).await;
    assert_eq!(body["type"], "/problems/too-many-attempts");
    // The address is what is limited, with or without an account behind it.
    problem(app.signin("ADA@example.com", PASSWORD).await, 429).await;

    assert_eq!(app.signin("bob@example.com", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_successful_signin_forgets_earlier_failures() {
    let app = spawn_app().await;
    app.signup("ada@example.com", PASSWORD).await;
    for _ in 0..4 {
        problem(app.signin("ada@example.com", "a wrong password").await, 401).await;
    }
    assert_eq!(app.signin("ada@example.com", PASSWORD).await.status(), 200);
    for _ in 0..4 {
        problem(app.signin("ada@example.com", "a wrong password").await, 401).await;
    }
    assert_eq!(app.signin("ada@example.com", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn an_ip_is_limited_to_twenty_attempts_across_accounts() {
    let app = spawn_app_with(Options {
        trusted_proxy_hops: 1,
        ..Options::default()
    })
    .await;
    app.signup("ada@example.com", PASSWORD).await;
    for n in 0..20 {
        let email = format!("guess{n}@example.com");
        problem(app.signin_from("203.0.113.7", &email, PASSWORD).await, 401).await;
    }
    let response = app
        .signin_from("203.0.113.7", "ada@example.com", PASSWORD)
        .await;
    assert!(response.headers().contains_key("retry-after"));
    problem(response, 429).await;

    let other_ip = app
        .signin_from("198.51.100.1", "ada@example.com", PASSWORD)
        .await;
    assert_eq!(other_ip.status(), 200);
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_trusted() {
    let app = spawn_app().await;
    for n in 0..20 {
        // A client cannot escape the limit by inventing a new X-Forwarded-For each time.
        let ip = format!("203.0.113.{n}");
        let email = format!("guess{n}@example.com");
        problem(app.signin_from(&ip, &email, PASSWORD).await, 401).await;
    }
    problem(
        app.signin_from("198.51.100.1", "ada@example.com", PASSWORD)
            .await,
        429,
    )
    .await;
}
