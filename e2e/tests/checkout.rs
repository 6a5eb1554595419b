//! The buying journey through the API gateway, with the shop started as `cargo xtask up` starts
//! it: sign up, browse, fill the cart, price a coupon, check out (and again with the same key:
//! one order), find the order in the history; stock and the coupon's uses count once; exactly one
//! confirmation e-mail arrives in the mail sink (order → Kafka → notification → SMTP). Then
//! cancel: stock and coupon use come back, and one cancellation e-mail.

use std::time::Duration;

use e2e::Shop;
use serde_json::{Value, json};

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

async fn json(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{body}");
    body
}

async fn sign_in(shop: &Shop, client: &reqwest::Client, email: &str, password: &str) -> String {
    let body = json!({"email": email, "password": password});
    let signed_in = call(
        client,
        reqwest::Method::POST,
        shop.gateway.url("/v1/auth/signin"),
        None,
        Some(&body),
    )
    .await;
    json(signed_in, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn sign_up_fill_the_cart_check_out_once_read_the_mail_and_cancel() {
    let shop = Shop::start().await.unwrap();
    let client = reqwest::Client::new();
    let api = |path: &str| shop.gateway.url(path);
    use reqwest::Method as M;

    // Sign up and in.
    let email = format!("buyer-{}@example.com", uuid::Uuid::now_v7().simple());
    let password = "correct horse battery staple";
    let body = json!({"email": email, "password": password});
    json(
        call(&client, M::POST, api("/v1/auth/signup"), None, Some(&body)).await,
        201,
    )
    .await;
    let token = sign_in(&shop, &client, &email, password).await;

    // The admin makes a coupon.
    let admin = sign_in(&shop, &client, &shop.admin.0, &shop.admin.1).await;
    let coupon = json!({"code": "E2E10", "kind": "percent", "value": 10, "currency": "USD"});
    json(
        call(
            &client,
            M::POST,
            api("/v1/offers/coupons"),
            Some(&admin),
            Some(&coupon),
        )
        .await,
        201,
    )
    .await;

    // Browse: a product in stock, its first variant.
    let page = json(
        call(
            &client,
            M::GET,
            api("/v1/products?in_stock=true&limit=1"),
            None,
            None,
        )
        .await,
        200,
    )
    .await;
    let slug = page["items"][0]["slug"].as_str().unwrap().to_owned();
    let product = json(
        call(
            &client,
            M::GET,
            api(&format!("/v1/products/{slug}")),
            None,
            None,
        )
        .await,
        200,
    )
    .await;
    let variant = product["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["stock"].as_i64().unwrap() >= 2)
        .expect("a variant with two in stock")
        .clone();
    let (variant_id, stock) = (
        variant["id"].as_str().unwrap().to_owned(),
        variant["stock"].as_i64().unwrap(),
    );
    let stock_now = || async {
        let product = json(
            call(
                &client,
                M::GET,
                api(&format!("/v1/products/{slug}")),
                None,
                None,
            )
            .await,
            200,
        )
        .await;
        product["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == variant_id.as_str())
            .unwrap()["stock"]
            .as_i64()
            .unwrap()
    };

    // Fill the cart; price the coupon as the cart page would.
    let add = json!({"variant_id": variant_id, "quantity": 2});
    json(
        call(
            &client,
            M::POST,
            api("/v1/carts/mine/items"),
            Some(&token),
            Some(&add),
        )
        .await,
        200,
    )
    .await;
    let cart = json(
        call(&client, M::GET, api("/v1/carts/mine"), Some(&token), None).await,
        200,
    )
    .await;
    let lines: Vec<Value> = cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!({"variant_id": l["variant_id"], "quantity": l["quantity"]}))
        .collect();
    let unit = variant["price"]["amount"].as_i64().unwrap();
    let quote = json!({"code": "e2e10", "subtotal": unit * 2, "currency": "USD"});
    let priced = json(
        call(
            &client,
            M::POST,
            api("/v1/offers/quote"),
            Some(&token),
            Some(&quote),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(priced["discount"], unit * 2 / 10);

    // Check out, twice with one key (a double click): one order, the same bytes.
    let checkout = json!({
        "lines": lines,
        "coupon_code": "E2E10",
        "shipping_address": {"name": "Ada Lovelace", "line1": "12 Analytical Row", "city": "London", "postal_code": "NW1 6XE", "country": "GB"},
        "payment": {"number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123"},
    });
    let key = uuid::Uuid::now_v7().to_string();
    let place = || async {
        let response = client
            .post(api("/v1/orders"))
            .bearer_auth(&token)
            .header("idempotency-key", &key)
            .json(&checkout)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.bytes().await.unwrap())
    };
    let (first, again) = tokio::join!(place(), place());
    assert_eq!(first.0, 201, "{:?}", String::from_utf8_lossy(&first.1));
    assert_eq!(first, again);
    let order: Value = serde_json::from_slice(&first.1).unwrap();
    assert_eq!(order["status"], "paid");
    assert_eq!(order["total"], unit * 2 - unit * 2 / 10);
    let id = order["id"].as_str().unwrap().to_owned();

    let history = json(
        call(&client, M::GET, api("/v1/orders"), Some(&token), None).await,
        200,
    )
    .await;
    assert_eq!(history["orders"].as_array().unwrap().len(), 1);
    assert_eq!(stock_now().await, stock - 2, "stock decremented once");
    let uses = |admin: String| {
        let client = client.clone();
        let url = api("/v1/offers/coupons/E2E10");
        async move {
            json(call(&client, M::GET, url, Some(&admin), None).await, 200).await["uses"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(uses(admin.clone()).await, 1, "coupon used once");

    // Exactly one confirmation, to the buyer (through Kafka, notification and SMTP).
    let mine = |m: &kit::mailsink::Received| m.to == [email.clone()];
    let mail = shop
        .mail
        .wait_for(Duration::from_secs(30), |all| all.iter().any(mine))
        .await;
    let confirmations: Vec<_> = mail
        .iter()
        .filter(|m| mine(m) && m.subject.starts_with("Your order is confirmed"))
        .collect();
    assert_eq!(confirmations.len(), 1, "{mail:?}");
    assert_eq!(confirmations[0].deliveries, 1);

    // Cancel: stock and coupon use back, one cancellation e-mail.
    let cancelled = json(
        call(
            &client,
            M::POST,
            api(&format!("/v1/orders/{id}/cancel")),
            Some(&token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(stock_now().await, stock);
    assert_eq!(uses(admin.clone()).await, 0);
    let mail = shop
        .mail
        .wait_for(Duration::from_secs(30), |all| {
            all.iter()
                .any(|m| mine(m) && m.subject == "Your order is cancelled")
        })
        .await;
    let notices = mail
        .iter()
        .filter(|m| mine(m) && m.subject == "Your order is cancelled")
        .count();
    assert_eq!(notices, 1);
    let confirmations = mail
        .iter()
        .filter(|m| mine(m) && m.subject.starts_with("Your order is confirmed"))
        .count();
    assert_eq!(confirmations, 1, "still one confirmation");
}
