//! Reading and listing products: by id and by slug with ETags, inactive products hidden, filters,
//! orders and cursor pages, bad queries refused, and reads served from the cache yet never stale
//! after a write.

use std::collections::BTreeSet;

use kit::testing::problem;
use serde_json::{Value, json};

use crate::helpers::{Admin, get_json, product, slugs, spawn_app};

#[tokio::test]
async fn a_product_by_id_and_by_slug_with_an_etag() {
    let app = spawn_app().await;
    let admin = Admin::of(&app);
    admin.category("mugs").await;
    let created = admin
        .product(&product(
            "blue-mug",
            "mugs",
            &[("MUG-BLUE-S", 1250, 3), ("MUG-BLUE-L", 1450, 0)],
        ))
        .await;
    let id = created["id"].as_str().unwrap();

    let by_id = app.get(&format!("/v1/products/{id}")).send().await.unwrap();
    assert_eq!(by_id.status(), 200);
    let etag = by_id.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = by_id.json().await.unwrap();
    assert_eq!(
        body["price_from"],
        json!({"amount": 1250, "currency": "USD"})
    );
    assert_eq!(body["in_stock"], true);
    assert_eq!(body["variants"][0]["stock_state"], "low_stock");
    assert_eq!(body["variants"][1]["stock_state"], "out_of_stock");
    assert_eq!(body["category"]["slug"], "mugs");
    assert_eq!(get_json(&app, "/v1/products/blue-mug").await, body);

    let unchanged = app
        .get(&format!("/v1/products/{id}"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304);
    assert_eq!(unchanged.headers()["etag"], etag.as_str());
    let stale = app
        .get("/v1/products/blue-mug")
        .header("if-none-match", "\"0\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);

    problem(
        app.get("/v1/products/no-such-mug").send().await.unwrap(),
        404,
    )
    .await;
    let unknown = uuid::Uuid::new_v4();
    problem(
        app.get(&format!("/v1/products/{unknown}"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
}

#[tokio::test]
async fn inactive_products_exist_for_admins_only() {
    let app = spawn_app().await;
    let admin = Admin::of(&app);
    admin.category("mugs").await;
    let created = admin
        .product(&product("old-mug", "mugs", &[("MUG-OLD", 900, 5)]))
        .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/v1/products/{id}/deactivate");
    let (customer, _) = app.customer();
    let refused = app.post(&path).bearer_auth(&customer).send();
    problem(refused.await.unwrap(), 403).await;
    let done = app
        .post(&path)
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let again = app
        .post(&path)
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200, "idempotent");

    problem(app.get("/v1/products/old-mug").send().await.unwrap(), 404).await;
    let as_customer = app
        .get("/v1/products/old-mug")
        .bearer_auth(&customer)
        .send();
    problem(as_customer.await.unwrap(), 404).await;
    let as_admin = app
        .get("/v1/products/old-mug")
        .bearer_auth(&admin.token)
        .send();
    let as_admin: Value = as_admin.await.unwrap().json().await.unwrap();
    assert_eq!(as_admin["active"], false);
    assert!(
        slugs(&get_json(&app, "/v1/products").await).is_empty(),
        "not listed"
    );
    let forged = app
        .get("/v1/products/old-mug")
        .bearer_auth("not.a.token")
        .send();
    problem(forged.await.unwrap(), 401).await;
}

/// A catalog of `n` mugs priced 100, 200, ...; every third out of stock; returns their slugs.
async fn catalog(app: &kit::testing::TestApp, n: usize) -> Vec<String> {
    let admin = Admin::of(app);
    admin.category("mugs").await;
    admin.category("plates").await;
    let mut slugs = Vec::new();
    for i in 0..n {
        let slug = format!("mug-{i:02}");
        let stock = if i % 3 == 0 { 0 } else { 5 };
        let body = product(
            &slug,
            "mugs",
            &[(&format!("MUG-{i:02}"), (i as i64 + 1) * 100, stock)],
        );
        admin.product(&body).await;
        slugs.push(slug);
    }
    admin
        .product(&product("plate", "plates", &[("PLATE-1", 50, 1)]))
        .await;
    slugs
}

#[tokio::test]
async fn filters_orders_and_pages() {
    let app = spawn_app().await;
    let all = catalog(&app, 7).await;

    let in_category = get_json(&app, "/v1/products?category=mugs&sort=price_asc&limit=100").await;
    assert_eq!(slugs(&in_category), all);
    let cheap = get_json(
        &app,
        "/v1/products?category=mugs&max_price=300&sort=price_desc",
    )
    .await;
    assert_eq!(slugs(&cheap), ["mug-02", "mug-01", "mug-00"]);
    let range = get_json(
        &app,
        "/v1/products?min_price=200&max_price=400&sort=price_asc",
    )
    .await;
    assert_eq!(slugs(&range), ["mug-01", "mug-02", "mug-03"]);
    let stocked = get_json(&app, "/v1/products?category=mugs&in_stock=true&sort=name").await;
    assert_eq!(slugs(&stocked), ["mug-01", "mug-02", "mug-04", "mug-05"]);
    let none = get_json(&app, "/v1/products?category=no-such-category").await;
    assert!(slugs(&none).is_empty());

    // Walking pages of 3 in every order sees each product exactly once.
    for sort in ["price_asc", "price_desc", "name", "newest", "relevance"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/products?sort={sort}&limit=3");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = get_json(&app, &path).await;
            seen.extend(slugs(&page));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 8, "{sort}: {seen:?}");
        assert_eq!(
            seen.iter().collect::<BTreeSet<_>>().len(),
            8,
            "{sort}: {seen:?}"
        );
    }
}

#[tokio::test]
async fn bad_queries_are_400_problems() {
    let app = spawn_app().await;
    catalog(&app, 4).await;
    let page = get_json(&app, "/v1/products?sort=price_asc&limit=2").await;
    let cursor = page["next_cursor"].as_str().unwrap();
    for bad in [
        "limit=101".to_owned(),
        "limit=0".to_owned(),
        "min_price=-1".to_owned(),
        "sort=cheapest".to_owned(),
        "in_stock=perhaps".to_owned(),
        "cursor=not-a-cursor".to_owned(),
        format!("cursor={cursor}&sort=name"),
        format!("q={}", "x".repeat(201)),
    ] {
        let response = app
            .get(&format!("/v1/products?{bad}"))
            .send()
            .await
            .unwrap();
        problem(response, 400).await;
    }
}

#[tokio::test]
async fn reads_come_from_the_cache_and_are_never_stale_after_a_write() {
    let app = spawn_app().await;
    let admin = Admin::of(&app);
    admin.category("mugs").await;
    let created = admin
        .product(&product("red-mug", "mugs", &[("MUG-RED", 1000, 2)]))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let variant = created["variants"][0]["id"].as_str().unwrap().to_owned();
    let list_path = "/v1/products?in_stock=true";
    assert_eq!(slugs(&get_json(&app, list_path).await), ["red-mug"]);
    assert_eq!(
        get_json(&app, "/v1/products/red-mug").await["name"],
        "red mug"
    );

    // Behind the service's back the database changes: reads still come from the cache.
    sqlx::query("UPDATE products SET name = 'renamed behind the back'")
        .execute(app.pool())
        .await
        .unwrap();
    assert_eq!(
        get_json(&app, "/v1/products/red-mug").await["name"],
        "red mug",
        "cached"
    );

    // A write through the service is seen by the very next read, item and lists alike.
    let response = admin.adjust(&id, &variant, -2).await;
    assert_eq!(response.status(), 200);
    let fresh = get_json(&app, "/v1/products/red-mug").await;
    assert_eq!(fresh["variants"][0]["stock"], 0);
    assert_eq!(fresh["in_stock"], false);
    assert!(
        slugs(&get_json(&app, list_path).await).is_empty(),
        "the list is not stale"
    );
    let out = get_json(&app, "/v1/products?in_stock=false").await;
    assert_eq!(slugs(&out), ["red-mug"]);
}

#[tokio::test]
async fn a_zero_cache_ttl_reads_the_database_every_time() {
    let app = kit::testing::TestApp::builder(product::Settings {
        cache_ttl: std::time::Duration::ZERO,
    })
    .spawn(
        product::Application::build,
        product::Application::run_until_stopped,
    )
    .await;
    let admin = Admin::of(&app);
    admin.category("mugs").await;
    admin
        .product(&product("red-mug", "mugs", &[("MUG-RED", 1000, 2)]))
        .await;
    assert_eq!(
        get_json(&app, "/v1/products/red-mug").await["name"],
        "red mug"
    );
    sqlx::query("UPDATE products SET name = 'renamed behind the back'")
        .execute(app.pool())
        .await
        .unwrap();
    assert_eq!(
        get_json(&app, "/v1/products/red-mug").await["name"],
        "renamed behind the back",
        "not cached"
    );
}

#[tokio::test]
async fn variants_by_id_for_carts() {
    let app = spawn_app().await;
    let admin = Admin::of(&app);
    admin.category("mugs").await;
    let created = admin
        .product(&product(
            "green-mug",
            "mugs",
            &[("MUG-G-S", 800, 4), ("MUG-G-L", 900, 0)],
        ))
        .await;
    let small = created["variants"][0]["id"].as_str().unwrap();
    let unknown = uuid::Uuid::new_v4();
    let found = get_json(&app, &format!("/v1/variants?ids={small},{unknown}")).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["product_slug"], "green-mug");
    assert_eq!(found[0]["price"]["amount"], 800);
    assert_eq!(found[0]["stock"], 4);
    assert_eq!(found[0]["active"], true);
    // Cached, and never stale after a write: a cart's cap follows the stock at once.
    let id = created["id"].as_str().unwrap();
    let response = admin.adjust(id, small, -3).await;
    assert_eq!(response.status(), 200);
    let found = get_json(&app, &format!("/v1/variants?ids={unknown},{small}")).await;
    assert_eq!(found[0]["stock"], 1);
    problem(app.get("/v1/variants?ids=nope").send().await.unwrap(), 400).await;
    let too_many = vec![unknown.to_string(); 101].join(",");
    problem(
        app.get(&format!("/v1/variants?ids={too_many}"))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
}
