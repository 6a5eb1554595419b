//! `POST /v1/auth/refresh`: a refresh token is single use; presenting a used one revokes its whole
//! family, even the newest token in it.

use serde_json::Value;

use crate::helpers::{problem, spawn_app};

fn refresh_token(tokens: &Value) -> String {
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_refresh_token_rotates_into_new_tokens() {
    let app = spawn_app().await;
    let first = app.signed_in("ada@example.com").await;

    let response = app.refresh(&refresh_token(&first)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let second: Value = response.json().await.unwrap();
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["expires_in"], 900);
    assert_ne!(refresh_token(&second), refresh_token(&first));
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(
        app.me(second["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );

    let stored: Vec<(Vec<u8>, uuid::Uuid)> =
        sqlx::query_as("SELECT token_hash, family_id FROM refresh_tokens")
            .fetch_all(app.pool())
            .await
            .unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].1, stored[1].1, "one family");
    assert!(
        stored.iter().all(|(hash, _)| hash.len() == 32),
        "only hashes are stored"
    );

    let third = app.refresh(&refresh_token(&second)).await;
    assert_eq!(third.status(), 200);
}

#[tokio::test]
async fn reusing_a_rotated_token_revokes_the_family() {
    let app = spawn_app().await;
    let first = app.signed_in("ada@example.com").await;
    let second: Value = app
        .refresh(&refresh_token(&first))
        .await
        .json()
        .await
        .unwrap();

    let reuse = problem(app.refresh(&refresh_token(&first)).await, 401).await;
    assert_eq!(reuse["type"], "/problems/invalid-refresh-token");
    // The newest token of the family is revoked too: whoever holds it must sign in again.
    problem(app.refresh(&refresh_token(&second)).await, 401).await;

    // Other sessions of the same account are not affected.
    let other = app
        .signin("ada@example.com", crate::helpers::PASSWORD)
        .await;
    let other: Value = other.json().await.unwrap();
    assert_eq!(app.refresh(&refresh_token(&other)).await.status(), 200);
}

#[tokio::test]
async fn concurrent_uses_of_one_token_succeed_exactly_once() {
    let app = spawn_app().await;
    let tokens = app.signed_in("ada@example.com").await;
    let token = refresh_token(&tokens);
    let (a, b) = tokio::join!(app.refresh(&token), app.refresh(&token));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 401],
        "one rotation wins, the other is a reuse"
    );
    // Whichever lost saw a reuse and revoked the family, so the winner's token is dead too.
    let winner = if a.status() == 200 { a } else { b };
    let next: Value = winner.json().await.unwrap();
    problem(app.refresh(&refresh_token(&next)).await, 401).await;
}

#[tokio::test]
async fn unknown_and_expired_tokens_are_rejected() {
    let app = spawn_app().await;
    problem(app.refresh("not-a-refresh-token").await, 401).await;
    problem(app.refresh(&"A".repeat(43)).await, 401).await;

    let tokens = app.signed_in("ada@example.com").await;
    sqlx::query("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'")
        .execute(app.pool())
        .await
        .unwrap();
    problem(app.refresh(&refresh_token(&tokens)).await, 401).await;
}
