//! Profiles and addresses: one's own only (others' are 404), made from user.registered or the
//! first request in either order, erased for good.

use kit::testing::{TestApp, problem};
use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn address(label: &str) -> Value {
    json!({
        "label": label, "name": "Ada Lovelace", "line1": "12 Analytical Row",
        "city": "London", "postal_code": "NW1 6XE", "country": "GB",
    })
}

async fn add(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.post("/v1/users/me/addresses")
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A `user.registered` envelope as auth publishes it.
fn registered(user: uuid::Uuid, email: &str) -> events::RawEnvelope {
    let envelope = events::Envelope::new(
        "auth",
        events::user::UserRegistered {
            user_id: user,
            email: email.into(),
            role: "customer".into(),
        },
    );
    serde_json::from_value(serde_json::to_value(envelope).unwrap()).unwrap()
}

#[tokio::test]
async fn a_user_keeps_a_profile_and_addresses_that_nobody_else_sees() {
    let app = spawn_app().await;
    let (token, id) = app.customer();
    problem(app.get("/v1/users/me").send().await.unwrap(), 401).await;

    let profile: Value = app
        .get("/v1/users/me")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profile["user_id"], id.to_string());
    let updated = app
        .put("/v1/users/me")
        .bearer_auth(&token)
        .json(&json!({"display_name": " Ada ", "phone": "+44 20 7946 0958"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.json::<Value>().await.unwrap()["display_name"],
        "Ada"
    );
    let bad = app
        .put("/v1/users/me")
        .bearer_auth(&token)
        .json(&json!({"display_name": "x".repeat(101)}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(bad, 422).await["errors"][0]["field"],
        "display_name"
    );

    let home: Value = add(&app, &token, &address("Home"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(home["is_default"], true, "the first address is the default");
    let mut work = address("Work");
    work["is_default"] = json!(true);
    let work: Value = add(&app, &token, &work).await.json().await.unwrap();
    assert_eq!(work["is_default"], true, "a new default takes over");
    let list: Vec<Value> = app
        .get("/v1/users/me/addresses")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list.iter()
            .map(|a| (
                a["label"].as_str().unwrap(),
                a["is_default"].as_bool().unwrap()
            ))
            .collect::<Vec<_>>(),
        [("Work", true), ("Home", false)]
    );

    let mut bad = address("");
    bad["country"] = json!("England");
    bad["line1"] = json!("");
    let fields: Vec<String> = problem(add(&app, &token, &bad).await, 422).await["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["address.line1", "address.country"]);

    // Someone else's address does not exist for them.
    let (stranger, _) = app.customer();
    let theirs = format!("/v1/users/me/addresses/{}", home["id"].as_str().unwrap());
    problem(
        app.delete(&theirs)
            .bearer_auth(&stranger)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let strangers: Vec<Value> = app
        .get("/v1/users/me/addresses")
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(strangers.is_empty());
    assert_eq!(
        app.delete(&theirs)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    problem(
        app.delete(&theirs)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    problem(
        app.delete("/v1/users/me/addresses/nope")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;

    for i in 0..19 {
        assert_eq!(
            add(&app, &token, &address(&format!("A{i}"))).await.status(),
            201
        );
    }
    assert_eq!(
        problem(add(&app, &token, &address("one too many")).await, 409).await["type"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next(),
        Some("too-many-addresses")
    );
}

#[tokio::test]
async fn user_registered_makes_the_profile_once_in_any_order_and_never_after_erasure() {
    let app = spawn_app().await;
    let db = app.pool().clone();
    let count = |user: uuid::Uuid| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM profiles WHERE user_id = $1")
                .bind(user)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };

    // The event first, twice (a redelivery): one profile with the event's e-mail.
    let user = uuid::Uuid::now_v7();
    let event = registered(user, "ada@example.com");
    user::profiles::handle(&db, event.clone()).await.unwrap();
    user::profiles::handle(&db, event).await.unwrap();
    assert_eq!(count(user).await, 1);

    // The user's request first, then the event: still one profile.
    let (token, id) = app.customer();
    app.get("/v1/users/me")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    user::profiles::handle(&db, registered(id, "late@example.com"))
        .await
        .unwrap();
    assert_eq!(count(id).await, 1);

    // Erased: gone, one user.erased, and a late or replayed user.registered brings nothing back.
    add(&app, &token, &address("Home")).await;
    assert_eq!(
        app.delete("/v1/users/me")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        app.delete("/v1/users/me")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    user::profiles::handle(&db, registered(id, "again@example.com"))
        .await
        .unwrap();
    assert_eq!(count(id).await, 0);
    let addresses: i64 = sqlx::query_scalar("SELECT count(*) FROM addresses")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(addresses, 0);
    let erased = problem(
        app.get("/v1/users/me")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert!(erased["type"].as_str().unwrap().ends_with("erased"));
    let events: Vec<(String, String)> =
        sqlx::query_as("SELECT envelope->>'type', envelope->'payload'->>'user_id' FROM outbox")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(events, [("user.erased".to_owned(), id.to_string())]);
    // Other events on the topic are not user's concern.
    let mut other = registered(user, "x@example.com");
    other.event_type = "user.something_else".into();
    user::profiles::handle(&db, other).await.unwrap();
}
