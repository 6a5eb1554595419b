//! Coupons: admins write them (every bad field named, codes unique, `If-Match`), shoppers price
//! a subtotal with one and get a reason they can act on when it does not apply.

use kit::testing::{TestApp, problem};
use serde_json::{Value, json};

use crate::helpers::{coupon, spawn_app};

async fn create(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.post("/v1/offers/coupons")
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn quote(app: &TestApp, token: Option<&str>, code: &str, subtotal: i64) -> reqwest::Response {
    let mut request = app
        .post("/v1/offers/quote")
        .json(&json!({"code": code, "subtotal": subtotal, "currency": "USD"}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

fn kind(body: &Value) -> &str {
    body["type"].as_str().unwrap().rsplit('/').next().unwrap()
}

#[tokio::test]
async fn only_admins_write_coupons_and_every_bad_field_is_named() {
    let app = spawn_app().await;
    let (admin, _) = app.admin();
    let (customer, _) = app.customer();
    let body = coupon("welcome10", "percent", 10);

    problem(create(&app, &customer, &body).await, 403).await;
    let response = app
        .post("/v1/offers/coupons")
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(response, 401).await;

    let created = create(&app, &admin, &body).await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["etag"], "\"1\"");
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["code"], "WELCOME10", "codes are stored upper-cased");
    assert_eq!(created["uses"], 0);
    let again = problem(
        create(&app, &admin, &coupon("WELCOME10", "fixed", 500)).await,
        409,
    )
    .await;
    assert_eq!(again["errors"][0]["field"], "code");

    let bad = json!({
        "code": "x", "kind": "percent", "value": 150, "currency": "usdx", "min_spend": -1,
        "starts_at": "2026-02-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z",
        "max_uses": 0, "max_uses_per_user": -3,
    });
    let body = problem(create(&app, &admin, &bad).await, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "code",
            "value",
            "currency",
            "min_spend",
            "ends_at",
            "max_uses",
            "max_uses_per_user"
        ]
    );
    problem(create(&app, &admin, &json!({"code": "ABC"})).await, 422).await;
}

#[tokio::test]
async fn replacing_needs_the_current_etag_and_deactivating_stops_the_coupon() {
    let app = spawn_app().await;
    let (admin, _) = app.admin();
    create(&app, &admin, &coupon("SPRING", "fixed", 500)).await;
    let replace = |etag: Option<&'static str>, body: Value| {
        let mut request = app
            .put("/v1/offers/coupons/spring")
            .bearer_auth(&admin)
            .json(&body);
        if let Some(etag) = etag {
            request = request.header("if-match", etag);
        }
        request.send()
    };
    problem(
        replace(None, coupon("SPRING", "fixed", 700)).await.unwrap(),
        428,
    )
    .await;
    problem(
        replace(Some("\"9\""), coupon("SPRING", "fixed", 700))
            .await
            .unwrap(),
        412,
    )
    .await;
    let replaced = replace(Some("\"1\""), coupon("SPRING", "fixed", 700))
        .await
        .unwrap();
    assert_eq!(replaced.status(), 200);
    assert_eq!(replaced.headers()["etag"], "\"2\"");
    problem(
        replace(Some("\"1\""), coupon("SPRING", "fixed", 800))
            .await
            .unwrap(),
        412,
    )
    .await;

    assert_eq!(quote(&app, None, "spring", 4000).await.status(), 200);
    let off = app
        .post("/v1/offers/coupons/SPRING/deactivate")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 200);
    let body = problem(quote(&app, None, "spring", 4000).await, 422).await;
    assert_eq!(kind(&body), "coupon-inactive");
    let missing = app
        .get("/v1/offers/coupons/NOPE")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    problem(missing, 404).await;
}

#[tokio::test]
async fn a_quote_says_what_comes_off_or_why_not() {
    let app = spawn_app().await;
    let (admin, _) = app.admin();
    let mut ten = coupon("TEN", "percent", 10);
    ten["min_spend"] = json!(2000);
    create(&app, &admin, &ten).await;
    let mut expired = coupon("OLD", "fixed", 500);
    expired["starts_at"] = json!("2020-01-01T00:00:00Z");
    expired["ends_at"] = json!("2020-02-01T00:00:00Z");
    create(&app, &admin, &expired).await;
    let mut later = coupon("LATER", "fixed", 500);
    later["starts_at"] = json!("2099-01-01T00:00:00Z");
    create(&app, &admin, &later).await;

    let priced: Value = quote(&app, None, "ten", 4599).await.json().await.unwrap();
    assert_eq!(
        priced,
        json!({"code": "TEN", "subtotal": 4599, "discount": 459, "total": 4140, "currency": "USD"})
    );
    let below = problem(quote(&app, None, "TEN", 1999).await, 422).await;
    assert_eq!(kind(&below), "coupon-below-minimum");
    assert_eq!(
        below["detail"],
        "This coupon needs a subtotal of at least $20.00."
    );
    assert_eq!(
        kind(&problem(quote(&app, None, "OLD", 4000).await, 422).await),
        "coupon-expired"
    );
    assert_eq!(
        kind(&problem(quote(&app, None, "LATER", 4000).await, 422).await),
        "coupon-not-started"
    );
    assert_eq!(
        kind(&problem(quote(&app, None, "NOPE", 4000).await, 404).await),
        "coupon-unknown"
    );
    let eur = app
        .post("/v1/offers/quote")
        .json(&json!({"code": "TEN", "subtotal": 4000, "currency": "EUR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(kind(&problem(eur, 422).await), "coupon-currency");
    let bad = app
        .post("/v1/offers/quote")
        .json(&json!({"code": "?", "subtotal": -5, "currency": "US"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(bad, 422).await["errors"].as_array().unwrap().len(),
        3
    );
}
