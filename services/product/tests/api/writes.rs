//! Admin writes: validation of every field at once, conflicts, `If-Match` (428, 412, exactly one
//! winner between concurrent replacements), stock that never goes below zero under concurrent
//! adjustments, and the catalog events in the outbox.

use kit::testing::problem;
use serde_json::{Value, json};

use crate::helpers::{Admin, get_json, product, spawn_app};

#[tokio::test]
async fn only_admins_create_and_every_bad_field_is_reported() {
    let app = spawn_app().await;
    let admin = Admin::of(&app);
    admin.category("mugs").await;
    let body = product("blue-mug", "mugs", &[("MUG-BLUE", 1250, 3)]);
    problem(
        app.post("/v1/products").json(&body).send().await.unwrap(),
        401,
    )
    .await;
    let (customer, _) = app.customer();
    let refused = app
        .post("/v1/products")
        .bearer_auth(customer)
        .json(&body)
        .send();
    problem(refused.await.unwrap(), 403).await;

    let bad = json!({
        "slug": "Blue Mug", "name": "", "category": "cups", "currency": "XYZ",
        "variants": [{"sku": "mug", "price": -1, "stock": 5}],
    });
    let invalid = problem(admin.create(&bad).await, 422).await;
    let fields: Vec<&str> = invalid["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["slug", "name", "category", "currency", "variants"]);
    for variants in [
        json!([]),
        json!([{"sku": "A-1", "price": 100, "stock": 2_000_000}]),
        json!([{"sku": "A-1", "price": 100}, {"sku": "A-1", "price": 200}]),
        json!([{"sku": "A-1", "price": 100, "images": [{"url": "javascript:alert(1)", "alt": "x"}]}]),
    ] {
        let mut body = product("x-mug", "mugs", &[]);
        body["variants"] = variants;
        problem(admin.create(&body).await, 422).await;
    }
    problem(
        app.post("/v1/products")
            .bearer_auth(&admin.token)
            .header("content-type", "application/json")
            .body("{\"slug\":")
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;

    admin.product(&body).await;
    problem(admin.create(&body).await, 409).await;
    let same_sku = product("other-mug", "mugs", &[("MUG-BLUE", 100, 1)]);
    let taken = problem(admin.create(&same_sku).await, 409).await;
    assert_eq!(taken["errors"][0]["field"], "sku");
}

#[tokio::test]
async fn replacing_needs_the_current_etag() {
    let app = spawn_app().await;
    let admin = Admin::of(&app);
    admin.category("mugs").await;
    let created = admin
        .product(&product("blue-mug", "mugs", &[("MUG-BLUE", 1250, 3)]))
        .await;
    let id = created["id"].as_str().unwrap();
    let mut body = product("blue-mug", "mugs", &[("MUG-BLUE", 1300, 99)]);
    body["variants"][0]["id"] = created["variants"][0]["id"].clone();
    body["name"] = json!("Blue mug, new glaze");

    problem(admin.replace(id, None, &body).await, 428).await;
    problem(admin.replace(id, Some("\"41\""), &body).await, 412).await;
    let replaced = admin.replace(id, Some("\"1\""), &body).await;
    assert_eq!(replaced.status(), 200);
    assert_eq!(replaced.headers()["etag"], "\"2\"");
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(replaced["name"], "Blue mug, new glaze");
    assert_eq!(replaced["variants"][0]["price"]["amount"], 1300);
    assert_eq!(
        replaced["variants"][0]["stock"], 3,
        "stock changes only by adjustment"
    );
    problem(admin.replace(id, Some("\"1\""), &body).await, 412).await;

    // Two admins replace from the same version: exactly one wins.
    let (a, b) = tokio::join!(
        admin.replace(id, Some("\"2\""), &body),
        admin.replace(id, Some("\"2\""), &body)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412]);
    let unknown = uuid::Uuid::new_v4().to_string();
    problem(admin.replace(&unknown, Some("\"1\""), &body).await, 404).await;
}

#[tokio::test]
async fn stock_never_goes_below_zero_under_concurrent_adjustments() {
    let app = spawn_app().await;
    let admin = Admin::of(&app);
    admin.category("mugs").await;
    let created = admin
        .product(&product("blue-mug", "mugs", &[("MUG-BLUE", 1250, 10)]))
        .await;
    let id = created["id"].as_str().unwrap();
    let variant = created["variants"][0]["id"].as_str().unwrap();

    let takes = (0..20).map(|_| admin.adjust(id, variant, -1));
    let outcomes = futures::future::join_all(takes).await;
    let ok = outcomes.iter().filter(|r| r.status() == 200).count();
    let short = outcomes.iter().filter(|r| r.status() == 409).count();
    assert_eq!((ok, short), (10, 10));
    let after = get_json(&app, &format!("/v1/products/{id}")).await;
    assert_eq!(after["variants"][0]["stock"], 0);
    assert_eq!(after["in_stock"], false);

    assert_eq!(admin.adjust(id, variant, 7).await.status(), 200);
    problem(admin.adjust(id, variant, -8).await, 409).await;
    problem(
        admin.adjust(id, &uuid::Uuid::new_v4().to_string(), 1).await,
        404,
    )
    .await;
    problem(admin.adjust(id, variant, 5_000_000).await, 422).await;
}

#[tokio::test]
async fn catalog_events_are_written_with_the_change() {
    let app = spawn_app().await;
    let admin = Admin::of(&app);
    admin.category("mugs").await;
    let created = admin
        .product(&product("blue-mug", "mugs", &[("MUG-BLUE", 1250, 10)]))
        .await;
    let id = created["id"].as_str().unwrap();
    let variant = created["variants"][0]["id"].as_str().unwrap();
    admin.adjust(id, variant, -3).await;
    let events: Vec<(String, Value)> = sqlx::query_as(
        "SELECT envelope->>'type', envelope->'payload' FROM outbox ORDER BY created_at",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["product.created", "stock.changed"]);
    assert_eq!(events[1].1["stock"], 7);
    assert_eq!(events[1].1["delta"], -3);
}
