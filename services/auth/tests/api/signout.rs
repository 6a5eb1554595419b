//! `POST /v1/auth/signout`: revokes the session's refresh token family; idempotent.

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn signout_revokes_the_refresh_token_family() {
    let app = spawn_app().await;
    let first = app.signed_in("ada@example.com").await;
    let second: serde_json::Value = app
        .refresh(first["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let token = second["refresh_token"].as_str().unwrap();

    assert_eq!(app.signout(token).await.status(), 204);
    problem(app.refresh(token).await, 401).await;
    // Idempotent, and says nothing about which tokens exist.
    assert_eq!(app.signout(token).await.status(), 204);
    assert_eq!(app.signout(&"A".repeat(43)).await.status(), 204);
    assert_eq!(app.signout("garbage").await.status(), 204);

    let live: i64 =
        sqlx::query_scalar("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(live, 0);
}

#[tokio::test]
async fn signout_needs_a_json_body() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/v1/auth/signout"))
        .header("content-type", "application/json")
        .body("refresh_token=abc")
        .send()
        .await
        .unwrap();
    problem(response, 400).await;
}
