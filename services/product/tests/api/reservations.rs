//! Stock held for orders: all lines or none, keyed by the order, never below zero under
//! concurrency, released once.

use serde_json::{Value, json};

use kit::testing::problem;

use crate::helpers::{Admin, get_json, product, spawn_app};

fn reservation(order: &str, lines: &[(&str, i64)]) -> Value {
    json!({
        "order_id": order,
        "lines": lines.iter().map(|(variant, quantity)| json!({"variant_id": variant, "quantity": quantity})).collect::<Vec<_>>(),
    })
}

async fn reserve(app: &kit::testing::TestApp, body: &Value) -> reqwest::Response {
    app.post("/v1/stock-reservations")
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn release(app: &kit::testing::TestApp, order: &str) -> reqwest::Response {
    app.delete(&format!("/v1/stock-reservations/{order}"))
        .send()
        .await
        .unwrap()
}

async fn stock(app: &kit::testing::TestApp, product: &str) -> Vec<i64> {
    let p = get_json(app, &format!("/v1/products/{product}")).await;
    p["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["stock"].as_i64().unwrap())
        .collect()
}

/// A mug with one variant and `stock` units of it: (product id, variant id).
async fn one_variant(app: &kit::testing::TestApp, stock: i64) -> (String, String) {
    let admin = Admin::of(app);
    admin.category("mugs").await;
    let created = admin
        .product(&product("mug", "mugs", &[("MUG", 1000, stock)]))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    (
        id,
        created["variants"][0]["id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_reservation_holds_every_line_or_none_and_a_retry_holds_nothing_more() {
    let app = spawn_app().await;
    let admin = Admin::of(&app);
    admin.category("mugs").await;
    let created = admin
        .product(&product(
            "mug",
            "mugs",
            &[("MUG-S", 1000, 5), ("MUG-L", 1200, 1)],
        ))
        .await;
    let id = created["id"].as_str().unwrap();
    let small = created["variants"][0]["id"].as_str().unwrap();
    let large = created["variants"][1]["id"].as_str().unwrap();

    // One line short: nothing is held, and the problem names the line.
    let order = uuid::Uuid::now_v7().to_string();
    let body = problem(
        reserve(&app, &reservation(&order, &[(small, 2), (large, 2)])).await,
        409,
    )
    .await;
    assert_eq!(
        body["type"].as_str().unwrap().rsplit('/').next(),
        Some("insufficient-stock")
    );
    assert!(body["errors"].to_string().contains("only 1"), "{body}");
    assert_eq!(stock(&app, id).await, [5, 1]);

    let order = uuid::Uuid::now_v7().to_string();
    let body = reservation(&order, &[(small, 2), (large, 1)]);
    let first = reserve(&app, &body).await;
    assert_eq!(first.status(), 201);
    assert_eq!(stock(&app, id).await, [3, 0]);
    // The same order again (a retry), lines in another order: held once.
    let again = reserve(&app, &reservation(&order, &[(large, 1), (small, 2)])).await;
    assert_eq!(again.status(), 200);
    assert_eq!(stock(&app, id).await, [3, 0]);
    // The same order with other lines is refused.
    problem(
        reserve(&app, &reservation(&order, &[(small, 1)])).await,
        409,
    )
    .await;

    // Released once: a second release changes nothing; the order cannot be reserved again.
    assert_eq!(release(&app, &order).await.status(), 204);
    assert_eq!(stock(&app, id).await, [5, 1]);
    assert_eq!(release(&app, &order).await.status(), 204);
    assert_eq!(stock(&app, id).await, [5, 1]);
    let body = problem(reserve(&app, &body).await, 409).await;
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .ends_with("reservation-released")
    );
    // Releasing an order that holds nothing is harmless.
    assert_eq!(
        release(&app, &uuid::Uuid::now_v7().to_string())
            .await
            .status(),
        204
    );

    // Events: reserved then released, per line.
    let reasons: Vec<(String, i64)> = sqlx::query_as(
        "SELECT envelope->'payload'->>'reason', (envelope->'payload'->>'delta')::bigint \
         FROM outbox WHERE envelope->>'type' = 'stock.changed' ORDER BY created_at, envelope->'payload'->>'variant_id'",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    let mut reserved: Vec<i64> = reasons
        .iter()
        .filter(|(r, _)| r == "reserved")
        .map(|(_, d)| *d)
        .collect();
    let mut released: Vec<i64> = reasons
        .iter()
        .filter(|(r, _)| r == "released")
        .map(|(_, d)| *d)
        .collect();
    reserved.sort_unstable();
    released.sort_unstable();
    assert_eq!((reserved, released), (vec![-2, -1], vec![1, 2]));
}

#[tokio::test]
async fn twenty_buyers_for_the_last_five_units_get_exactly_five_reservations() {
    let app = spawn_app().await;
    let (id, variant) = one_variant(&app, 5).await;
    let (id, variant) = (id.as_str(), variant.as_str());

    let buyers = (0..20).map(|_| {
        let body = reservation(&uuid::Uuid::now_v7().to_string(), &[(variant, 1)]);
        let app = &app;
        async move { reserve(app, &body).await.status().as_u16() }
    });
    let outcomes = futures::future::join_all(buyers).await;
    assert_eq!(
        outcomes.iter().filter(|s| **s == 201).count(),
        5,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|s| **s == 409).count(),
        15,
        "{outcomes:?}"
    );
    assert_eq!(stock(&app, id).await, [0]);
    let held: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(quantity), 0) FROM stock_reservations WHERE released_at IS NULL",
    )
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(held, 5);
}

#[tokio::test]
async fn concurrent_retries_of_one_order_hold_its_stock_once() {
    let app = spawn_app().await;
    let (id, variant) = one_variant(&app, 10).await;
    let (id, variant) = (id.as_str(), variant.as_str());
    let body = reservation(&uuid::Uuid::now_v7().to_string(), &[(variant, 3)]);
    let retries = (0..10).map(|_| reserve(&app, &body));
    let statuses: Vec<u16> = futures::future::join_all(retries)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(stock(&app, id).await, [7]);
}

#[tokio::test]
async fn bad_reservations_are_problems_that_change_nothing() {
    let app = spawn_app().await;
    let (id, variant) = one_variant(&app, 10).await;
    let (id, variant) = (id.as_str(), variant.as_str());
    let order = uuid::Uuid::now_v7().to_string();
    for (body, status) in [
        (reservation(&order, &[]), 422),
        (reservation(&order, &[(variant, 0)]), 422),
        (reservation(&order, &[(variant, 1001)]), 422),
        (reservation(&order, &[(variant, 1), (variant, 2)]), 422),
        (reservation("not-a-uuid", &[(variant, 1)]), 422),
        (json!({"order_id": order}), 422),
    ] {
        problem(reserve(&app, &body).await, status).await;
    }
    let unknown = uuid::Uuid::now_v7().to_string();
    let body = problem(
        reserve(&app, &reservation(&order, &[(&unknown, 1)])).await,
        409,
    )
    .await;
    assert!(
        body["errors"].to_string().contains("is not a variant"),
        "{body}"
    );
    problem(release(&app, "nope").await, 400).await;
    assert_eq!(stock(&app, id).await, [10]);
}
