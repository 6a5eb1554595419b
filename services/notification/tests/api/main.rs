//! Integration tests of notification: the real application on a free port, against real stores
//! (the kit tests the platform endpoints every service has).

mod crash;
mod emails;
mod helpers;

#[tokio::test]
async fn documents_its_api() {
    let app = helpers::spawn_app().await;
    let response = app.app.get("/openapi.json").send().await.unwrap();
    let doc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(doc["info"]["title"], "notification");
}
