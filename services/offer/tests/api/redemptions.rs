//! Redemptions at checkout: one use per order, within the total and per-user limits whatever
//! runs at once, retries harmless, released once.

use kit::testing::{TestApp, problem};
use serde_json::{Value, json};

use crate::helpers::{coupon, spawn_app};

fn redemption(order: &str, user: &str, code: &str, subtotal: i64) -> Value {
    json!({"order_id": order, "user_id": user, "code": code, "subtotal": subtotal, "currency": "USD"})
}

async fn redeem(app: &TestApp, body: &Value) -> reqwest::Response {
    app.post("/v1/coupon-redemptions")
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn release(app: &TestApp, order: &str) -> reqwest::Response {
    app.delete(&format!("/v1/coupon-redemptions/{order}"))
        .send()
        .await
        .unwrap()
}

async fn uses(app: &TestApp, admin: &str, code: &str) -> i64 {
    let coupon: Value = app
        .get(&format!("/v1/offers/coupons/{code}"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    coupon["uses"].as_i64().unwrap()
}

fn id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[tokio::test]
async fn ten_concurrent_checkouts_get_exactly_three_uses_of_a_three_use_coupon() {
    let app = spawn_app().await;
    let (admin, _) = app.admin();
    let mut three = coupon("THREE", "fixed", 500);
    three["max_uses"] = json!(3);
    app.post("/v1/offers/coupons")
        .bearer_auth(&admin)
        .json(&three)
        .send()
        .await
        .unwrap();

    let checkouts = (0..10).map(|_| {
        let body = redemption(&id(), &id(), "THREE", 4000);
        let app = &app;
        async move { redeem(app, &body).await }
    });
    let responses = futures::future::join_all(checkouts).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        7,
        "{statuses:?}"
    );
    for response in responses.into_iter().filter(|r| r.status() == 422) {
        assert!(
            problem(response, 422).await["type"]
                .as_str()
                .unwrap()
                .ends_with("coupon-used-up")
        );
    }
    assert_eq!(uses(&app, &admin, "THREE").await, 3);
}

#[tokio::test]
async fn a_redemption_is_keyed_by_its_order_and_released_once() {
    let app = spawn_app().await;
    let (admin, _) = app.admin();
    let mut once = coupon("ONCE", "percent", 20);
    once["max_uses_per_user"] = json!(1);
    app.post("/v1/offers/coupons")
        .bearer_auth(&admin)
        .json(&once)
        .send()
        .await
        .unwrap();
    let (order, user) = (id(), id());

    let first = redeem(&app, &redemption(&order, &user, "once", 5000)).await;
    assert_eq!(first.status(), 201);
    let held: Value = first.json().await.unwrap();
    assert_eq!(held["discount"], 1000);
    // A retry: the same answer, no second use.
    let retry = redeem(&app, &redemption(&order, &user, "ONCE", 5000)).await;
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.json::<Value>().await.unwrap(), held);
    assert_eq!(uses(&app, &admin, "ONCE").await, 1);
    // The same order with another subtotal is refused; the user's limit is reached.
    problem(
        redeem(&app, &redemption(&order, &user, "ONCE", 6000)).await,
        409,
    )
    .await;
    let limit = problem(
        redeem(&app, &redemption(&id(), &user, "ONCE", 5000)).await,
        422,
    )
    .await;
    assert!(
        limit["type"]
            .as_str()
            .unwrap()
            .ends_with("coupon-limit-reached")
    );
    // Someone else may still use it.
    assert_eq!(
        redeem(&app, &redemption(&id(), &id(), "ONCE", 5000))
            .await
            .status(),
        201
    );
    assert_eq!(uses(&app, &admin, "ONCE").await, 2);

    // Released once: the use comes back, the shopper may use it again with a new order.
    assert_eq!(release(&app, &order).await.status(), 204);
    assert_eq!(release(&app, &order).await.status(), 204);
    assert_eq!(uses(&app, &admin, "ONCE").await, 1);
    let released = problem(
        redeem(&app, &redemption(&order, &user, "ONCE", 5000)).await,
        409,
    )
    .await;
    assert!(
        released["type"]
            .as_str()
            .unwrap()
            .ends_with("redemption-released")
    );
    assert_eq!(
        redeem(&app, &redemption(&id(), &user, "ONCE", 5000))
            .await
            .status(),
        201
    );
    assert_eq!(
        release(&app, &id()).await.status(),
        204,
        "an order that holds nothing"
    );
    problem(release(&app, "nope").await, 400).await;
    problem(redeem(&app, &json!({"order_id": order})).await, 422).await;
}
