//! `/v1/categories`: anyone lists and reads, admins create; bad input is a problem document.

use kit::testing::problem;
use serde_json::json;

use crate::helpers::{Admin, get_json, spawn_app};

#[tokio::test]
async fn admins_create_categories_everyone_reads_them() {
    let app = spawn_app().await;
    assert_eq!(get_json(&app, "/v1/categories").await, json!([]));
    let admin = Admin::of(&app);
    let mugs = admin.category("mugs").await;
    assert_eq!(mugs["slug"], "mugs");
    let listed = get_json(&app, "/v1/categories").await;
    assert_eq!(
        listed[0]["id"], mugs["id"],
        "the list is not stale after a write"
    );
    assert_eq!(get_json(&app, "/v1/categories/mugs").await["name"], "MUGS");
    problem(app.get("/v1/categories/nope").send().await.unwrap(), 404).await;
}

#[tokio::test]
async fn only_admins_write_and_bad_categories_are_refused() {
    let app = spawn_app().await;
    let body = json!({"slug": "mugs", "name": "Mugs"});
    problem(
        app.post("/v1/categories").json(&body).send().await.unwrap(),
        401,
    )
    .await;
    let (customer, _) = app.customer();
    let forbidden = app
        .post("/v1/categories")
        .bearer_auth(customer)
        .json(&body)
        .send();
    problem(forbidden.await.unwrap(), 403).await;

    let admin = Admin::of(&app);
    admin.category("mugs").await;
    let again = app
        .post("/v1/categories")
        .bearer_auth(&admin.token)
        .json(&body)
        .send();
    problem(again.await.unwrap(), 409).await;
    let bad = json!({"slug": "Not A Slug", "name": " "});
    let invalid = app
        .post("/v1/categories")
        .bearer_auth(&admin.token)
        .json(&bad)
        .send();
    let invalid = problem(invalid.await.unwrap(), 422).await;
    assert_eq!(invalid["errors"].as_array().unwrap().len(), 2, "{invalid}");
}
