//! Integration tests of order: the real application on a free port, against real stores, with
//! the real product and offer it calls (the kit tests the platform endpoints every service has).

mod checkout;
mod crash;
mod helpers;
mod stripe;

#[tokio::test]
async fn documents_its_api() {
    let shop = helpers::spawn_shop().await;
    let response = shop.order.get("/openapi.json").send().await.unwrap();
    let doc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(doc["info"]["title"], "order");
}
