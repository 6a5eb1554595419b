//! `user.erased` (from user, when an account erases itself): the account and its refresh tokens
//! go, once; sign-in and refresh stop working; a redelivery is harmless.

use serde_json::Value;

use crate::helpers::{PASSWORD, spawn_app};

fn erased(user: &str) -> events::RawEnvelope {
    let envelope = events::Envelope::new(
        "user",
        events::user::UserErased {
            user_id: user.parse().unwrap(),
        },
    );
    serde_json::from_value(serde_json::to_value(envelope).unwrap()).unwrap()
}

#[tokio::test]
async fn an_erased_account_can_neither_sign_in_nor_refresh() {
    let app = spawn_app().await;
    let signed_up: Value = app
        .signup("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let signed_in: Value = app
        .signin("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let user = signed_up["user_id"].as_str().expect("the new user's id");
    let event = erased(user);

    auth::erasure::handle(app.pool(), event.clone())
        .await
        .unwrap();
    auth::erasure::handle(app.pool(), event).await.unwrap();

    assert_eq!(app.signin("ada@example.com", PASSWORD).await.status(), 401);
    let refresh = signed_in["refresh_token"].as_str().unwrap();
    assert_eq!(app.refresh(refresh).await.status(), 401);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM refresh_tokens")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
    // The address may sign up again: a new account, nothing of the old one.
    assert_eq!(app.signup("ada@example.com", PASSWORD).await.status(), 201);
}
