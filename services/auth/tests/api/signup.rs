//! `POST /v1/auth/signup`: accounts are created with normalised e-mail addresses, weak
//! passwords and bad bodies are problems, and an address can only be registered once.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, problem, spawn_app};

#[tokio::test]
async fn creates_a_customer_with_a_normalised_email() {
    let app = spawn_app().await;
    let response = app.signup("  Ada.Lovelace@Example.COM ", PASSWORD).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], "ada.lovelace@example.com");
    assert_eq!(body["role"], "customer");
    let user_id: uuid::Uuid = body["user_id"].as_str().unwrap().parse().unwrap();

    let (email, hash): (String, String) =
        sqlx::query_as("SELECT email, password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(email, "ada.lovelace@example.com");
    assert!(hash.starts_with("$argon2id$"), "stored as an Argon2id hash");
    assert!(!hash.contains(PASSWORD));
}

#[tokio::test]
async fn the_same_address_in_another_case_is_a_conflict() {
    let app = spawn_app().await;
    assert_eq!(app.signup("ada@example.com", PASSWORD).await.status(), 201);
    let body = problem(
        app.signup(" ADA@example.com", "another long password")
            .await,
        409,
    )
    .await;
    assert_eq!(body["type"], "/problems/email-taken");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn weak_passwords_and_bad_addresses_are_field_errors() {
    let app = spawn_app().await;
    for (email, password, fields) in [
        ("ada@example.com", "short", vec!["password"]),
        ("ada@example.com", "aaaaaaaaaaaaaaaa", vec!["password"]),
        ("ada@example.com", "Password1234", vec!["password"]),
        ("ada@example.com", &"x1".repeat(65), vec!["password"]),
        ("not-an-address", PASSWORD, vec!["email"]),
        ("", "short", vec!["email", "password"]),
    ] {
        let body = problem(app.signup(email, password).await, 422).await;
        assert_eq!(body["type"], "/problems/validation");
        let got: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(got, fields, "{email:?} / {password:?}: {body}");
        assert!(
            !body.to_string().contains(password) || password.is_empty(),
            "password echoed: {body}"
        );
    }
}

#[tokio::test]
async fn malformed_bodies_are_problems() {
    let app = spawn_app().await;
    let url = app.url("/v1/auth/signup");

    let response = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    problem(response, 400).await;

    let response = app
        .client
        .post(&url)
        .header("content-type", "text/plain")
        .body(json!({"email": "ada@example.com", "password": PASSWORD}).to_string())
        .send()
        .await
        .unwrap();
    problem(response, 415).await;

    let missing_password = app
        .post("/v1/auth/signup", &json!({"email": "ada@example.com"}))
        .await;
    problem(missing_password, 422).await;
}

#[tokio::test]
async fn sign_ups_are_limited_per_client_ip() {
    let app = spawn_app().await;
    for n in 0..10 {
        let response = app.signup(&format!("user{n}@example.com"), PASSWORD).await;
        assert_eq!(response.status(), 201);
    }
    let response = app.signup("one-more@example.com", PASSWORD).await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    let body = problem(response, 429).await;
    assert_eq!(body["type"], "/problems/too-many-attempts");
}
