//! Checkout: one order per Idempotency-Key whatever arrives, prices from product, coupons from
//! offer, stock and coupon uses held once and given back when the order does not go through.

use kit::testing::problem;
use serde_json::{Value, json};

use crate::helpers::{CARD, Shop, checkout, key, spawn_shop};

fn kind(body: &Value) -> &str {
    body["type"].as_str().unwrap().rsplit('/').next().unwrap()
}

#[tokio::test]
async fn a_checkout_places_one_paid_order_and_a_retry_gets_the_same_bytes() {
    let shop = spawn_shop().await;
    let (buyer, _) = shop.order.customer();
    let mug = shop.variant("MUG", 1250, 5).await;
    shop.coupon("TEN", "percent", 10, json!({})).await;
    let key = key();
    // The client's prices are never used: the body carries none.
    let body = checkout(&[(&mug, 2)], Some("ten"), CARD);

    let first = shop.checkout(&buyer, &key, &body).await;
    assert_eq!(first.status(), 201);
    let first = first.bytes().await.unwrap();
    let order: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(order["status"], "paid");
    assert_eq!(
        (
            order["subtotal"].as_i64(),
            order["discount"].as_i64(),
            order["total"].as_i64()
        ),
        (Some(2500), Some(250), Some(2250))
    );
    assert_eq!(order["coupon_code"], "TEN");
    assert_eq!(order["lines"][0]["unit_price"], 1250);

    let again = shop.checkout(&buyer, &key, &body).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.bytes().await.unwrap(), first, "byte for byte");
    assert_eq!(shop.stock(&mug).await, 3, "stock held once");
    assert_eq!(shop.uses("TEN").await, 1, "coupon used once");

    let other = checkout(&[(&mug, 1)], None, CARD);
    let reused = problem(shop.checkout(&buyer, &key, &other).await, 422).await;
    assert_eq!(kind(&reused), "idempotency-key-reused");

    // The history, and nobody else's eyes.
    let list: Value = shop
        .order
        .get("/v1/orders")
        .bearer_auth(&buyer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["orders"].as_array().unwrap().len(), 1);
    let id = order["id"].as_str().unwrap();
    let (stranger, _) = shop.order.customer();
    problem(
        shop.order
            .get(&format!("/v1/orders/{id}"))
            .bearer_auth(&stranger)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let mine = shop
        .order
        .get(&format!("/v1/orders/{id}"))
        .bearer_auth(&buyer)
        .send()
        .await
        .unwrap();
    assert_eq!(mine.status(), 200);

    let events: Vec<String> =
        sqlx::query_scalar("SELECT envelope->>'type' FROM outbox ORDER BY created_at")
            .fetch_all(shop.order.pool())
            .await
            .unwrap();
    assert_eq!(events, ["order.placed", "order.paid"]);
}

#[tokio::test]
async fn fifty_parallel_checkouts_with_one_key_give_one_order_and_identical_answers() {
    let shop = spawn_shop().await;
    let (buyer, _) = shop.order.customer();
    let mug = shop.variant("MUG", 1000, 10).await;
    let key = key();
    let body = checkout(&[(&mug, 1)], None, CARD);
    let attempts = (0..50).map(|_| async {
        let response = shop.checkout(&buyer, &key, &body).await;
        (response.status().as_u16(), response.bytes().await.unwrap())
    });
    let answers = futures::future::join_all(attempts).await;
    let first = &answers[0];
    assert_eq!(first.0, 201);
    assert!(
        answers.iter().all(|a| a == first),
        "every answer is the first, byte for byte"
    );
    assert_eq!(shop.stock(&mug).await, 9);
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(shop.order.pool())
        .await
        .unwrap();
    assert_eq!(orders, 1);
    let charges: i64 = sqlx::query_scalar("SELECT count(*) FROM local_payments")
        .fetch_one(shop.order.pool())
        .await
        .unwrap();
    assert_eq!(charges, 1);
}

#[tokio::test]
async fn twenty_buyers_for_the_last_five_units_give_exactly_five_orders() {
    let shop = spawn_shop().await;
    let mug = shop.variant("MUG", 1000, 5).await;
    let buyers = (0..20).map(|_| {
        let shop = &shop;
        let mug = mug.clone();
        async move {
            let (buyer, _) = shop.order.customer();
            shop.checkout(&buyer, &key(), &checkout(&[(&mug, 1)], None, CARD))
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(buyers).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        15,
        "{statuses:?}"
    );
    assert_eq!(shop.stock(&mug).await, 0);
}

#[tokio::test]
async fn a_three_use_coupon_and_ten_concurrent_checkouts_give_three_discounted_orders() {
    let shop = spawn_shop().await;
    let mug = shop.variant("MUG", 1000, 100).await;
    shop.coupon("THREE", "fixed", 300, json!({"max_uses": 3}))
        .await;
    let checkouts = (0..10).map(|_| {
        let shop = &shop;
        let mug = mug.clone();
        async move {
            let (buyer, _) = shop.order.customer();
            shop.checkout(&buyer, &key(), &checkout(&[(&mug, 1)], Some("THREE"), CARD))
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(checkouts).await;
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
    let discounted: i64 =
        sqlx::query_scalar("SELECT count(*) FROM orders WHERE discount = 300 AND status = 'paid'")
            .fetch_one(shop.order.pool())
            .await
            .unwrap();
    assert_eq!(discounted, 3);
    assert_eq!(
        shop.stock(&mug).await,
        97,
        "refused checkouts hold no stock"
    );
}

#[tokio::test]
async fn a_declined_or_failed_payment_charges_nothing_and_gives_everything_back() {
    let shop = spawn_shop().await;
    let (buyer, _) = shop.order.customer();
    let mug = shop.variant("MUG", 1000, 5).await;
    shop.coupon("TEN", "percent", 10, json!({"max_uses": 1}))
        .await;

    let declined = problem(
        shop.checkout(
            &buyer,
            &key(),
            &checkout(&[(&mug, 2)], Some("TEN"), "4000 0000 0000 0002"),
        )
        .await,
        402,
    )
    .await;
    assert_eq!(kind(&declined), "payment-declined");
    assert!(declined["detail"].as_str().unwrap().contains("declined"));
    let funds = problem(
        shop.checkout(
            &buyer,
            &key(),
            &checkout(&[(&mug, 1)], None, "4000 0000 0000 9995"),
        )
        .await,
        402,
    )
    .await;
    assert!(
        funds["detail"]
            .as_str()
            .unwrap()
            .contains("insufficient funds")
    );
    let timeout = problem(
        shop.checkout(
            &buyer,
            &key(),
            &checkout(&[(&mug, 1)], Some("TEN"), "4000 0000 0000 0119"),
        )
        .await,
        502,
    )
    .await;
    assert_eq!(kind(&timeout), "payment-unavailable");

    assert_eq!(shop.stock(&mug).await, 5);
    assert_eq!(shop.uses("TEN").await, 0);
    let states: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, cancel_reason FROM orders ORDER BY created_at")
            .fetch_all(shop.order.pool())
            .await
            .unwrap();
    assert!(states.iter().all(|(s, _)| s == "cancelled"), "{states:?}");
    let held: Vec<String> =
        sqlx::query_scalar("SELECT state FROM local_payments ORDER BY created_at")
            .fetch_all(shop.order.pool())
            .await
            .unwrap();
    assert_eq!(
        held,
        ["declined", "declined", "voided"],
        "the timed-out authorization is voided"
    );
    // The coupon is free again: a good card gets it.
    let ok = shop
        .checkout(&buyer, &key(), &checkout(&[(&mug, 1)], Some("TEN"), CARD))
        .await;
    assert_eq!(ok.status(), 201);
}

#[tokio::test]
async fn bad_checkouts_are_problems_that_hold_nothing() {
    let shop = spawn_shop().await;
    let (buyer, _) = shop.order.customer();
    let mug = shop.variant("MUG", 1000, 2).await;
    shop.coupon("BIG", "fixed", 500, json!({"min_spend": 5000}))
        .await;
    let body = checkout(&[(&mug, 1)], None, CARD);

    let no_key = shop
        .order
        .post("/v1/orders")
        .bearer_auth(&buyer)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        kind(&problem(no_key, 400).await),
        "idempotency-key-required"
    );
    let anonymous = shop
        .order
        .post("/v1/orders")
        .header("idempotency-key", "k")
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(anonymous, 401).await;

    let mut bad = checkout(&[(&mug, 0), (&mug, 1)], None, "1234");
    bad["shipping_address"]["country"] = json!("England");
    bad["shipping_address"]["name"] = json!("");
    let fields: Vec<String> =
        problem(shop.checkout(&buyer, &key(), &bad).await, 422).await["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect();
    assert_eq!(
        fields,
        [
            "lines[0].quantity",
            "lines[1].variant_id",
            "shipping_address.name",
            "shipping_address.country",
            "payment.number"
        ]
    );
    problem(
        shop.checkout(&buyer, &key(), &json!({"lines": "x"})).await,
        422,
    )
    .await;

    let unknown = checkout(&[(&uuid::Uuid::now_v7().to_string(), 1)], None, CARD);
    assert_eq!(
        kind(&problem(shop.checkout(&buyer, &key(), &unknown).await, 422).await),
        "unavailable-items"
    );
    let below = problem(
        shop.checkout(&buyer, &key(), &checkout(&[(&mug, 1)], Some("BIG"), CARD))
            .await,
        422,
    )
    .await;
    assert_eq!(kind(&below), "coupon-below-minimum");
    assert_eq!(
        kind(
            &problem(
                shop.checkout(&buyer, &key(), &checkout(&[(&mug, 1)], Some("NOPE"), CARD))
                    .await,
                404
            )
            .await
        ),
        "coupon-unknown"
    );
    let short = problem(
        shop.checkout(&buyer, &key(), &checkout(&[(&mug, 3)], None, CARD))
            .await,
        409,
    )
    .await;
    assert_eq!(kind(&short), "insufficient-stock");

    assert_eq!(shop.stock(&mug).await, 2);
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(shop.order.pool())
        .await
        .unwrap();
    assert_eq!(orders, 0);
}

async fn act(shop: &Shop, token: &str, order: &str, action: &str) -> reqwest::Response {
    shop.order
        .post(&format!("/v1/orders/{order}/{action}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cancelling_gives_stock_and_coupon_back_and_only_admins_ship() {
    let shop = spawn_shop().await;
    let (buyer, _) = shop.order.customer();
    let mug = shop.variant("MUG", 1000, 5).await;
    shop.coupon("TEN", "percent", 10, json!({})).await;
    let placed: Value = shop
        .checkout(&buyer, &key(), &checkout(&[(&mug, 2)], Some("TEN"), CARD))
        .await
        .json()
        .await
        .unwrap();
    let id = placed["id"].as_str().unwrap();

    let cancelled = act(&shop, &buyer, id, "cancel").await;
    assert_eq!(cancelled.status(), 200);
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(
        (
            cancelled["status"].as_str(),
            cancelled["cancel_reason"].as_str()
        ),
        (Some("cancelled"), Some("customer"))
    );
    assert_eq!(shop.stock(&mug).await, 5);
    assert_eq!(shop.uses("TEN").await, 0);
    assert_eq!(
        kind(&problem(act(&shop, &buyer, id, "cancel").await, 409).await),
        "invalid-transition"
    );
    let voided: String = sqlx::query_scalar("SELECT state FROM local_payments")
        .fetch_one(shop.order.pool())
        .await
        .unwrap();
    assert_eq!(voided, "voided");

    let second: Value = shop
        .checkout(&buyer, &key(), &checkout(&[(&mug, 1)], None, CARD))
        .await
        .json()
        .await
        .unwrap();
    let id = second["id"].as_str().unwrap();
    problem(act(&shop, &buyer, id, "ship").await, 403).await;
    let shipped = act(&shop, &shop.admin, id, "ship").await;
    assert_eq!(shipped.status(), 200);
    assert_eq!(shipped.json::<Value>().await.unwrap()["status"], "shipped");
    assert_eq!(
        kind(&problem(act(&shop, &buyer, id, "cancel").await, 409).await),
        "invalid-transition"
    );
    assert_eq!(
        kind(&problem(act(&shop, &shop.admin, id, "ship").await, 409).await),
        "invalid-transition"
    );
    let captured: Vec<String> =
        sqlx::query_scalar("SELECT state FROM local_payments ORDER BY created_at")
            .fetch_all(shop.order.pool())
            .await
            .unwrap();
    assert_eq!(captured, ["voided", "captured"]);
    let (stranger, _) = shop.order.customer();
    problem(act(&shop, &stranger, id, "cancel").await, 404).await;

    let events: Vec<String> =
        sqlx::query_scalar("SELECT envelope->>'type' FROM outbox ORDER BY created_at")
            .fetch_all(shop.order.pool())
            .await
            .unwrap();
    assert_eq!(
        events,
        [
            "order.placed",
            "order.paid",
            "order.cancelled",
            "order.placed",
            "order.paid",
            "order.shipped"
        ]
    );
}

#[tokio::test]
async fn a_checkout_abandoned_midway_is_cancelled_and_gives_its_holds_back() {
    let shop = spawn_shop().await;
    let (buyer, _) = shop.order.customer();
    let mug = shop.variant("MUG", 1000, 5).await;
    shop.coupon("TEN", "percent", 10, json!({})).await;
    let key = key();
    let body = checkout(&[(&mug, 2)], Some("TEN"), CARD);
    let placed: Value = shop
        .checkout(&buyer, &key, &body)
        .await
        .json()
        .await
        .unwrap();
    let id = placed["id"].as_str().unwrap();
    // As if the attempt died after placing the order and before paying, long ago, and the
    // client never retried: placed, holds taken, no response stored.
    sqlx::query("UPDATE orders SET status = 'placed', created_at = now() - interval '1 hour' WHERE id = $1::uuid")
        .bind(id)
        .execute(shop.order.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE idempotency_keys SET status = NULL, body = NULL, locked_until = NULL")
        .execute(shop.order.pool())
        .await
        .unwrap();
    assert_eq!(shop.stock(&mug).await, 3);

    // The service's sweeper (every 5 s) finds it.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1::uuid")
            .bind(id)
            .fetch_one(shop.order.pool())
            .await
            .unwrap();
        if status == "cancelled" || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let status: (String, String) =
        sqlx::query_as("SELECT status, cancel_reason FROM orders WHERE id = $1::uuid")
            .bind(id)
            .fetch_one(shop.order.pool())
            .await
            .unwrap();
    assert_eq!(
        status,
        ("cancelled".to_owned(), "checkout-abandoned".to_owned())
    );
    assert_eq!(shop.stock(&mug).await, 5);
    assert_eq!(shop.uses("TEN").await, 0);
    // Its retry says so, and nothing was charged.
    let retry = problem(shop.checkout(&buyer, &key, &body).await, 409).await;
    assert_eq!(kind(&retry), "checkout-expired");
    let state: String = sqlx::query_scalar("SELECT state FROM local_payments")
        .fetch_one(shop.order.pool())
        .await
        .unwrap();
    assert_eq!(state, "voided");
}
