//! Carts: guest and signed-in, prices always from product, quantities bounded by stock and never
//! lost under concurrency, other people's carts out of reach, merge at sign-in, and events.

use std::time::Duration;

use kit::testing::problem;
use serde_json::json;

use crate::helpers::{guest, spawn_shop};

#[tokio::test]
async fn a_guest_fills_changes_and_empties_a_cart() {
    let shop = spawn_shop().await;
    let mugs = shop
        .product("blue-mug", &[("MUG-S", 1250, 10), ("MUG-L", 1500, 10)])
        .await;
    let cart = guest();
    assert_eq!(
        shop.cart(&cart, None).await["lines"],
        json!([]),
        "an unknown cart is empty"
    );

    assert_eq!(shop.add(&cart, None, &mugs[0], 2).await.status(), 200);
    let after = shop.add(&cart, None, &mugs[1], 1).await;
    let body: serde_json::Value = after.json().await.unwrap();
    assert_eq!(body["item_count"], 3);
    assert_eq!(body["subtotal"], json!({"amount": 4000, "currency": "USD"}));
    let small = body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["variant_id"] == mugs[0].as_str())
        .unwrap();
    assert_eq!(small["name"], "blue mug");
    assert_eq!(small["line_total"]["amount"], 2500);

    let set = shop
        .cart
        .put(&format!("/v1/carts/{cart}/items/{}", mugs[0]))
        .json(&json!({"quantity": 5}))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = set.json().await.unwrap();
    assert_eq!(body["item_count"], 6);
    let removed = shop
        .cart
        .delete(&format!("/v1/carts/{cart}/items/{}", mugs[1]))
        .send();
    let body: serde_json::Value = removed.await.unwrap().json().await.unwrap();
    assert_eq!(body["lines"].as_array().unwrap().len(), 1);
    let cleared = shop
        .cart
        .delete(&format!("/v1/carts/{cart}"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(shop.cart(&cart, None).await["lines"], json!([]));
}

#[tokio::test]
async fn prices_come_from_product_not_from_the_client() {
    let shop = spawn_shop().await;
    let mugs = shop.product("blue-mug", &[("MUG-S", 1250, 10)]).await;
    let cart = guest();
    let forged = shop
        .cart
        .post(&format!("/v1/carts/{cart}/items"))
        .json(&json!({"variant_id": mugs[0], "quantity": 1, "price": 1}))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = forged.json().await.unwrap();
    assert_eq!(body["subtotal"]["amount"], 1250);

    // The price changes in product: the next read of the cart shows it.
    let product: serde_json::Value = shop
        .product
        .get("/v1/products/blue-mug")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (admin, _) = shop.product.admin();
    let body = json!({
        "slug": "blue-mug", "name": "blue mug", "category": "mugs", "currency": "USD",
        "variants": [{"id": mugs[0], "sku": "MUG-S", "price": 999}],
    });
    let replaced = shop
        .product
        .put(&format!("/v1/products/{}", product["id"].as_str().unwrap()))
        .bearer_auth(admin)
        .header("if-match", "*")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), 200);
    assert_eq!(shop.cart(&cart, None).await["subtotal"]["amount"], 999);
}

#[tokio::test]
async fn quantities_are_bounded_by_stock_and_bad_input_is_refused() {
    let shop = spawn_shop().await;
    let mugs = shop
        .product("blue-mug", &[("MUG-S", 1250, 3), ("MUG-X", 1250, 0)])
        .await;
    let cart = guest();
    assert_eq!(shop.add(&cart, None, &mugs[0], 3).await.status(), 200);
    let over = problem(shop.add(&cart, None, &mugs[0], 1).await, 409).await;
    assert!(
        over["detail"].as_str().unwrap().contains("at most 3"),
        "{over}"
    );
    problem(shop.add(&cart, None, &mugs[1], 1).await, 409).await;
    for quantity in [0, -1, 100, 1_000_000_000_000] {
        problem(shop.add(&cart, None, &mugs[0], quantity).await, 422).await;
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    let body = problem(shop.add(&cart, None, &unknown, 1).await, 404).await;
    assert_eq!(body["type"], "/problems/not-for-sale");
    let malformed = shop
        .cart
        .post(&format!("/v1/carts/{cart}/items"))
        .header("content-type", "application/json")
        .body("{\"variant_id\": ")
        .send()
        .await
        .unwrap();
    problem(malformed, 400).await;
    problem(
        shop.cart.get("/v1/carts/not-a-cart").send().await.unwrap(),
        400,
    )
    .await;
    assert_eq!(
        shop.cart(&cart, None).await["item_count"],
        3,
        "unchanged by the refusals"
    );
}

#[tokio::test]
async fn fifty_concurrent_adds_of_one_unit_make_fifty() {
    let shop = spawn_shop().await;
    let mugs = shop.product("blue-mug", &[("MUG-S", 100, 1000)]).await;
    let cart = guest();
    let adds = (0..50).map(|_| shop.add(&cart, None, &mugs[0], 1));
    let outcomes = futures::future::join_all(adds).await;
    assert!(outcomes.iter().all(|r| r.status() == 200));
    let body = shop.cart(&cart, None).await;
    assert_eq!(body["lines"][0]["quantity"], 50);
}

#[tokio::test]
async fn a_users_cart_is_theirs_alone() {
    let shop = spawn_shop().await;
    let mugs = shop.product("blue-mug", &[("MUG-S", 1250, 10)]).await;
    let (ada, ada_id) = shop.cart.customer();
    let (bob, _) = shop.cart.customer();
    assert_eq!(
        shop.add("mine", Some(&ada), &mugs[0], 2).await.status(),
        200
    );
    assert_eq!(shop.cart("mine", Some(&ada)).await["item_count"], 2);
    assert_eq!(shop.cart("mine", Some(&bob)).await["item_count"], 0);
    // Ada's user id as a guest cart id is not Ada's cart.
    assert_eq!(shop.cart(&ada_id.to_string(), None).await["item_count"], 0);
    let anonymous = shop.cart.get("/v1/carts/mine").send().await.unwrap();
    assert!(anonymous.headers().contains_key("www-authenticate"));
    problem(anonymous, 401).await;
    let forged = shop.cart.get("/v1/carts/mine").bearer_auth("x.y.z").send();
    problem(forged.await.unwrap(), 401).await;
}

#[tokio::test]
async fn signing_in_merges_the_guest_cart_capped_by_stock() {
    let shop = spawn_shop().await;
    let mugs = shop
        .product("blue-mug", &[("MUG-S", 1250, 5), ("MUG-L", 1500, 10)])
        .await;
    let (ada, _) = shop.cart.customer();
    shop.add("mine", Some(&ada), &mugs[0], 3).await;
    let cart = guest();
    shop.add(&cart, None, &mugs[0], 4).await;
    shop.add(&cart, None, &mugs[1], 2).await;

    let merged = shop
        .cart
        .post("/v1/carts/mine/merge")
        .bearer_auth(&ada)
        .json(&json!({"anonymous_cart_id": cart}))
        .send()
        .await
        .unwrap();
    assert_eq!(merged.status(), 200);
    let body: serde_json::Value = merged.json().await.unwrap();
    let quantity = |variant: &str| {
        body["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["variant_id"] == variant)
            .map(|l| l["quantity"].as_u64().unwrap())
    };
    assert_eq!(
        quantity(&mugs[0]),
        Some(5),
        "3 + 4, capped by the stock of 5"
    );
    assert_eq!(quantity(&mugs[1]), Some(2));
    assert_eq!(
        shop.cart(&cart, None).await["item_count"],
        0,
        "the guest cart is gone"
    );
    let without_token = shop
        .cart
        .post("/v1/carts/mine/merge")
        .json(&json!({"anonymous_cart_id": cart}))
        .send();
    problem(without_token.await.unwrap(), 401).await;
}

#[tokio::test]
async fn carts_expire_after_their_last_use() {
    let shop = spawn_shop().await;
    let mugs = shop.product("blue-mug", &[("MUG-S", 1250, 5)]).await;
    let cart = guest();
    shop.add(&cart, None, &mugs[0], 1).await;
    let redis = shop.cart.redis.as_ref().unwrap();
    let mut conn = redis.conn().await.unwrap();
    let key = redis.key(&format!("anonymous:{cart}"));
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((30 * 86_400 - 60..=30 * 86_400).contains(&ttl), "{ttl}");
    let _: () = redis::cmd("EXPIRE")
        .arg(&key)
        .arg(100)
        .query_async(&mut conn)
        .await
        .unwrap();
    shop.cart(&cart, None).await;
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 86_400, "a read pushes the expiry back: {ttl}");
}

#[tokio::test]
async fn changes_are_published_on_cart_v1() {
    let shop = spawn_shop().await;
    let mugs = shop.product("blue-mug", &[("MUG-S", 1250, 5)]).await;
    let cart = guest();
    shop.add(&cart, None, &mugs[0], 2).await;
    shop.cart
        .delete(&format!("/v1/carts/{cart}/items/{}", mugs[0]))
        .send()
        .await
        .unwrap();
    let events = kit::testing::consume_until("cart.v1", Duration::from_secs(20), |seen| {
        seen.iter()
            .filter(|e| e.payload["cart"]["anonymous_id"] == cart.as_str())
            .count()
            >= 2
    })
    .await;
    let ours: Vec<(&str, &serde_json::Value)> = events
        .iter()
        .filter(|e| e.payload["cart"]["anonymous_id"] == cart.as_str())
        .map(|e| (e.event_type.as_str(), &e.payload))
        .collect();
    assert_eq!(ours.len(), 2);
    assert_eq!(ours[0].0, "cart.item_added");
    assert_eq!(ours[0].1["unit_price"], 1250);
    assert_eq!(ours[1].0, "cart.item_removed");
    assert_eq!(ours[1].1["removed"], 2);
}
