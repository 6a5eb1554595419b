//! `spawn_app`: product on a free port against fresh stores (see `kit::testing`), and the calls
//! its tests make: categories and products created as an admin.

use kit::testing::TestApp;
use product::{Application, Settings};
use serde_json::{Value, json};

pub async fn spawn_app() -> TestApp {
    TestApp::builder(Settings::default())
        .spawn(Application::build, Application::run_until_stopped)
        .await
}

/// A product body: `slug` in `category`, one variant per `(sku, price, stock)`.
pub fn product(slug: &str, category: &str, variants: &[(&str, i64, i64)]) -> Value {
    json!({
        "slug": slug,
        "name": slug.replace('-', " "),
        "description": format!("All about {slug}."),
        "category": category,
        "currency": "USD",
        "attributes": {"material": "stoneware"},
        "variants": variants.iter().map(|(sku, price, stock)| json!({
            "sku": sku,
            "price": price,
            "stock": stock,
            "options": {"size": "regular"},
            "images": [{"url": "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=", "alt": format!("{slug}")}],
        })).collect::<Vec<_>>(),
    })
}

/// Admin calls.
pub struct Admin<'a> {
    pub app: &'a TestApp,
    pub token: String,
}

impl<'a> Admin<'a> {
    pub fn of(app: &'a TestApp) -> Self {
        Self {
            app,
            token: app.admin().0,
        }
    }

    pub async fn category(&self, slug: &str) -> Value {
        let response = self
            .app
            .post("/v1/categories")
            .bearer_auth(&self.token)
            .json(&json!({"slug": slug, "name": slug.to_uppercase()}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    pub async fn create(&self, body: &Value) -> reqwest::Response {
        self.app
            .post("/v1/products")
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Creates the product; returns it.
    pub async fn product(&self, body: &Value) -> Value {
        let response = self.create(body).await;
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        response.json().await.unwrap()
    }

    pub async fn replace(&self, id: &str, etag: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self
            .app
            .put(&format!("/v1/products/{id}"))
            .bearer_auth(&self.token)
            .json(body);
        if let Some(etag) = etag {
            request = request.header("if-match", etag);
        }
        request.send().await.unwrap()
    }

    pub async fn adjust(&self, id: &str, variant: &str, delta: i64) -> reqwest::Response {
        self.app
            .post(&format!("/v1/products/{id}/stock"))
            .bearer_auth(&self.token)
            .json(&json!({"variant_id": variant, "delta": delta}))
            .send()
            .await
            .unwrap()
    }
}

/// `GET` a path and decode the JSON answer, asserting 200.
pub async fn get_json(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// The slugs of a product page.
pub fn slugs(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap().to_owned())
        .collect()
}
