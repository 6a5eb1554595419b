//! order with Stripe as its provider: the card taken on Stripe's page, the order settled by
//! Stripe's signed events, captured on shipping, voided on cancellation, and the sweeper asking
//! Stripe about a page whose event never came.
//!
//! Stripe cannot be reached from the test machine: `order::testing::FakeStripe` stands in for
//! it (see there what it checks).

use std::time::Duration;

use order::testing::{FakeStripe, WEBHOOK_SECRET};
use serde_json::{Value, json};

use crate::helpers::{Shop, checkout, key, spawn_shop_with};

/// Sends an event to order as Stripe would (no token; its signature is the credential).
async fn deliver(shop: &Shop, body: &[u8], signature: Option<&str>) -> reqwest::Response {
    let mut request = shop
        .order
        .post("/v1/orders/payment-events")
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    request.send().await.unwrap()
}

/// A checkout body paid on the provider's page.
fn hosted(variant: &str) -> Value {
    let mut body = checkout(&[(variant, 1)], None, "");
    body.as_object_mut().unwrap().remove("payment");
    body["return_url"] = json!("https://shop.example.com/orders/{order}");
    body
}

/// Stripe's stand-in, the shop paying with it, a buyer's token, and a variant of `price` and
/// `stock`.
async fn stripe_shop(sku: &str, price: i64, stock: i64) -> (FakeStripe, Shop, String, String) {
    let stripe = FakeStripe::start().await;
    let shop = spawn_shop_with(stripe.settings()).await;
    let (buyer, _) = shop.order.customer();
    let variant = shop.variant(sku, price, stock).await;
    (stripe, shop, buyer, variant)
}

/// What `GET /v1/orders/payment-method` says the shop takes.
async fn payment_form(shop: &Shop) -> String {
    let method: Value = shop
        .order
        .get("/v1/orders/payment-method")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    method["form"].as_str().unwrap().to_owned()
}

/// A checkout paid on the page: the order's id.
async fn place(shop: &Shop, buyer: &str, variant: &str) -> String {
    let response = shop.checkout(buyer, &key(), &hosted(variant)).await;
    assert_eq!(response.status(), 201);
    let placed: Value = response.json().await.unwrap();
    placed["id"].as_str().unwrap().to_owned()
}

/// The shopper pays the order's page and Stripe's event comes in: the PaymentIntent's id.
async fn pay(shop: &Shop, stripe: &FakeStripe, id: &str) -> String {
    let session = stripe.session_of(id);
    let intent = stripe.pay(&session.id);
    let (body, signature) = stripe.event("checkout.session.completed", &session.id);
    assert_eq!(deliver(shop, &body, Some(&signature)).await.status(), 204);
    intent
}

/// The buyer cancels the order.
async fn cancel(shop: &Shop, buyer: &str, id: &str) -> reqwest::Response {
    shop.order
        .post(&format!("/v1/orders/{id}/cancel"))
        .bearer_auth(buyer)
        .send()
        .await
        .unwrap()
}

async fn order_of(shop: &Shop, token: &str, id: &str) -> Value {
    shop.order
        .get(&format!("/v1/orders/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn outbox_count(shop: &Shop, kind: &str, order: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE envelope ->> 'type' = $1 AND envelope -> 'payload' ->> 'order_id' = $2",
    )
    .bind(kind)
    .bind(order)
    .fetch_one(shop.order.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn a_checkout_is_paid_on_stripes_page_and_settled_by_its_signed_event() {
    let (stripe, shop, buyer, variant) = stripe_shop("STRIPE-1", 1250, 3).await;

    assert_eq!(payment_form(&shop).await, "provider-page");

    // The card never reaches the shop; the way back is required.
    let with_card = shop
        .checkout(
            &buyer,
            &key(),
            &checkout(&[(&variant, 1)], None, "4242 4242 4242 4242"),
        )
        .await;
    let problem = kit::testing::problem(with_card, 422).await;
    let fields = problem["errors"].to_string();
    assert!(
        fields.contains("payment") && fields.contains("return_url"),
        "{problem}"
    );
    let mut bad_url = hosted(&variant);
    bad_url["return_url"] = json!("javascript:alert(1)");
    kit::testing::problem(shop.checkout(&buyer, &key(), &bad_url).await, 422).await;
    assert_eq!(
        shop.stock(&variant).await,
        3,
        "nothing held for a refused checkout"
    );

    let checkout_key = key();
    let response = shop
        .checkout(&buyer, &checkout_key, &hosted(&variant))
        .await;
    assert_eq!(response.status(), 201);
    let first = response.bytes().await.unwrap();
    let placed: Value = serde_json::from_slice(&first).unwrap();
    let id = placed["id"].as_str().unwrap().to_owned();
    assert_eq!(placed["status"], "placed");
    let session = stripe.session_of(&id);
    assert_eq!(
        placed["payment_url"],
        format!("https://checkout.stripe.test/c/pay/{}", session.id)
    );
    assert_eq!(
        shop.stock(&variant).await,
        2,
        "the stock is held while the shopper pays"
    );
    // What Stripe was asked for: the total, manual capture, the way back with the order's id.
    let form = &session.form;
    assert_eq!(form["mode"], "payment");
    assert_eq!(form["payment_intent_data[capture_method]"], "manual");
    assert_eq!(form["line_items[0][price_data][unit_amount]"], "1250");
    assert_eq!(form["line_items[0][price_data][currency]"], "usd");
    assert_eq!(form["client_reference_id"], id);
    assert_eq!(
        form["success_url"],
        format!("https://shop.example.com/orders/{id}")
    );
    let placed_calls = stripe.calls();
    assert_eq!(placed_calls.len(), 1);
    assert_eq!(
        placed_calls[0].2.as_deref(),
        Some(format!("{id}/authorize").as_str())
    );

    // A retry answers the same bytes and opens no second page.
    let again = shop
        .checkout(&buyer, &checkout_key, &hosted(&variant))
        .await;
    assert_eq!(again.bytes().await.unwrap(), first);
    assert_eq!(stripe.calls().len(), 1);

    // The shopper pays; an unsigned, forged or stale event changes nothing.
    let intent = stripe.pay(&session.id);
    let (body, signature) = stripe.event("checkout.session.completed", &session.id);
    let problem = kit::testing::problem(deliver(&shop, &body, None).await, 400).await;
    assert_eq!(problem["type"], "/problems/invalid-signature", "{problem}");
    let forged = kit::webhook::sign(b"whsec_guess", chrono::Utc::now().timestamp(), &body);
    kit::testing::problem(deliver(&shop, &body, Some(&forged)).await, 400).await;
    let stale = kit::webhook::sign(
        WEBHOOK_SECRET.as_bytes(),
        chrono::Utc::now().timestamp() - 600,
        &body,
    );
    kit::testing::problem(deliver(&shop, &body, Some(&stale)).await, 400).await;
    assert_eq!(order_of(&shop, &buyer, &id).await["status"], "placed");

    // The signed event pays it, once however often it comes.
    for _ in 0..3 {
        assert_eq!(deliver(&shop, &body, Some(&signature)).await.status(), 204);
    }
    let paid = order_of(&shop, &buyer, &id).await;
    assert_eq!(paid["status"], "paid");
    assert!(
        paid.get("payment_url").is_none(),
        "no page to pay once paid: {paid}"
    );
    assert_eq!(outbox_count(&shop, "order.paid", &id).await, 1);
    assert_eq!(
        stripe.intent(&intent),
        "requires_capture",
        "authorized, not taken"
    );

    // Shipping captures the PaymentIntent, under a key of its own.
    let shipped = shop
        .order
        .post(&format!("/v1/orders/{id}/ship"))
        .bearer_auth(&shop.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(shipped.status(), 200);
    assert_eq!(stripe.intent(&intent), "succeeded");
    let capture = stripe.calls().into_iter().last().unwrap();
    assert_eq!(capture.1, format!("/v1/payment_intents/{intent}/capture"));
    assert_eq!(capture.2, Some(format!("{id}/capture")));
}

#[tokio::test]
async fn an_expired_page_cancels_the_order_and_gives_the_stock_back() {
    let (stripe, shop, buyer, variant) = stripe_shop("STRIPE-2", 900, 1).await;
    let id = &place(&shop, &buyer, &variant).await;
    assert_eq!(shop.stock(&variant).await, 0);
    let session = stripe.session_of(id);
    stripe.expire(&session.id);
    let (body, signature) = stripe.event("checkout.session.expired", &session.id);
    for _ in 0..2 {
        assert_eq!(deliver(&shop, &body, Some(&signature)).await.status(), 204);
    }
    let cancelled = order_of(&shop, &buyer, id).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancel_reason"], "payment-expired");
    assert_eq!(shop.stock(&variant).await, 1);
    assert_eq!(outbox_count(&shop, "order.cancelled", id).await, 1);
}

#[tokio::test]
async fn cancelling_on_the_page_closes_it_and_a_payment_that_raced_it_is_voided() {
    let (stripe, shop, buyer, variant) = stripe_shop("STRIPE-3", 500, 5).await;

    // Cancelled while the page is open: the page is expired.
    let first_id = &place(&shop, &buyer, &variant).await;
    assert_eq!(cancel(&shop, &buyer, first_id).await.status(), 200);
    assert_eq!(stripe.session_of(first_id).status, "expired");

    // Paid on the page a moment before the buyer cancelled, its event not yet in: the
    // cancellation cancels the PaymentIntent, and the late event changes nothing.
    let second_id = &place(&shop, &buyer, &variant).await;
    let session = stripe.session_of(second_id);
    let intent = stripe.pay(&session.id);
    assert_eq!(cancel(&shop, &buyer, second_id).await.status(), 200);
    assert_eq!(stripe.intent(&intent), "canceled");
    let (body, signature) = stripe.event("checkout.session.completed", &session.id);
    assert_eq!(deliver(&shop, &body, Some(&signature)).await.status(), 204);
    let order = order_of(&shop, &buyer, second_id).await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(outbox_count(&shop, "order.paid", second_id).await, 0);
    assert_eq!(shop.stock(&variant).await, 5);
}

#[tokio::test]
async fn the_sweeper_asks_stripe_about_a_page_whose_event_never_came() {
    let (stripe, shop, buyer, variant) = stripe_shop("STRIPE-4", 700, 5).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        ids.push(place(&shop, &buyer, &variant).await);
    }
    // The first was paid, the second left open; neither event arrived. An hour and a half
    // later the sweeper settles both.
    let paid_session = stripe.session_of(&ids[0]);
    stripe.pay(&paid_session.id);
    sqlx::query("UPDATE orders SET created_at = now() - interval '90 minutes'")
        .execute(shop.order.pool())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let first = order_of(&shop, &buyer, &ids[0]).await;
        let second = order_of(&shop, &buyer, &ids[1]).await;
        if first["status"] == "paid" && second["status"] == "cancelled" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not settled: {first} {second}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(stripe.session_of(&ids[1]).status, "expired");
    assert_eq!(shop.stock(&variant).await, 4);
}

#[tokio::test]
async fn the_local_provider_takes_cards_and_no_events() {
    let shop = crate::helpers::spawn_shop().await;
    assert_eq!(payment_form(&shop).await, "card");
    let problem = kit::testing::problem(deliver(&shop, b"{}", Some("t=1,v1=00")).await, 404).await;
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("no-payment-events")
    );
    let (buyer, _) = shop.order.customer();
    let variant = shop.variant("LOCAL-1", 100, 1).await;
    let mut no_card = checkout(&[(&variant, 1)], None, "");
    no_card.as_object_mut().unwrap().remove("payment");
    let problem = kit::testing::problem(shop.checkout(&buyer, &key(), &no_card).await, 422).await;
    assert!(
        problem["errors"].to_string().contains("payment"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_return_url_off_the_shop_is_refused_so_the_page_cannot_send_a_payer_elsewhere() {
    let (stripe, shop, buyer, variant) = stripe_shop("STRIPE-5", 500, 1).await;
    for elsewhere in [
        "https://evil.example.net/orders/{order}",
        "http://shop.example.com/orders/{order}",
        "https://shop.example.com.evil.example.net/",
    ] {
        let mut body = hosted(&variant);
        body["return_url"] = json!(elsewhere);
        let problem = kit::testing::problem(shop.checkout(&buyer, &key(), &body).await, 422).await;
        assert!(
            problem["errors"]
                .to_string()
                .contains("must be a page of the shop"),
            "{elsewhere}: {problem}"
        );
    }
    assert!(stripe.calls().is_empty(), "no page opened");
}

#[tokio::test]
async fn a_free_order_needs_no_page_and_cancels_without_calling_stripe() {
    let (stripe, shop, buyer, variant) = stripe_shop("STRIPE-6", 500, 1).await;
    shop.coupon("ALLFREE", "fixed", 100_000, json!({})).await;
    let mut body = hosted(&variant);
    body["coupon_code"] = json!("ALLFREE");
    let response = shop.checkout(&buyer, &key(), &body).await;
    assert_eq!(response.status(), 201);
    let order: Value = response.json().await.unwrap();
    assert_eq!(
        (order["status"].as_str(), order["total"].as_i64()),
        (Some("paid"), Some(0))
    );
    let id = order["id"].as_str().unwrap();
    assert_eq!(cancel(&shop, &buyer, id).await.status(), 200);
    assert!(stripe.calls().is_empty(), "{:?}", stripe.calls());
}

#[tokio::test]
async fn a_void_that_fails_while_stripe_is_down_is_retried_by_the_sweeper() {
    let (stripe, shop, buyer, variant) = stripe_shop("STRIPE-7", 800, 2).await;
    let id = &place(&shop, &buyer, &variant).await;
    let intent = pay(&shop, &stripe, id).await;

    // Stripe is down when the buyer cancels: the order is cancelled and its stock back at once;
    // the authorization is voided once Stripe answers again.
    stripe.outage(true);
    assert_eq!(cancel(&shop, &buyer, id).await.status(), 200);
    assert_eq!(shop.stock(&variant).await, 2);
    assert_eq!(stripe.intent(&intent), "requires_capture");
    stripe.outage(false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while stripe.intent(&intent) != "canceled" {
        assert!(tokio::time::Instant::now() < deadline, "never voided");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn shipping_holds_the_order_while_it_captures_so_a_cancellation_cannot_slip_in() {
    let (stripe, shop, buyer, variant) = stripe_shop("STRIPE-8", 800, 2).await;
    let id = &place(&shop, &buyer, &variant).await;
    let intent = pay(&shop, &stripe, id).await;

    // A capture that fails leaves the order paid (shipping rolled back) ...
    stripe.outage(true);
    let ship = || {
        shop.order
            .post(&format!("/v1/orders/{id}/ship"))
            .bearer_auth(&shop.admin)
            .send()
    };
    kit::testing::problem(ship().await.unwrap(), 502).await;
    assert_eq!(order_of(&shop, &buyer, id).await["status"], "paid");
    // ... and shipping and cancelling at once end in one of the two, never a captured,
    // cancelled order.
    stripe.outage(false);
    let (shipped, cancelled) = tokio::join!(ship(), cancel(&shop, &buyer, id));
    let (shipped, cancelled) = (shipped.unwrap().status(), cancelled.status());
    let status = order_of(&shop, &buyer, id).await["status"].clone();
    match (shipped.as_u16(), cancelled.as_u16()) {
        (200, 409) => {
            assert_eq!(status, "shipped");
            assert_eq!(stripe.intent(&intent), "succeeded");
        }
        (409, 200) => {
            assert_eq!(status, "cancelled");
            assert_eq!(stripe.intent(&intent), "canceled");
        }
        other => panic!("ship and cancel answered {other:?}"),
    }
}
