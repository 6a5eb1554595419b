//! `spawn_shop`: product and cart on free ports against fresh stores (see `kit::testing`), cart
//! calling that product, both accepting the same test signer's tokens; and a catalog to shop in.

use kit::testing::{TestApp, TestSigner};
use serde_json::{Value, json};

/// A running product and cart.
pub struct Shop {
    pub product: TestApp,
    pub cart: TestApp,
}

pub async fn spawn_shop() -> Shop {
    let signer = TestSigner::start().await;
    let product = TestApp::builder(product::Settings::default())
        .signer(signer.clone())
        .spawn(
            product::Application::build,
            product::Application::run_until_stopped,
        )
        .await;
    let cart = TestApp::builder(cart::Settings::default())
        .signer(signer)
        .call("product", &product.address)
        .spawn(
            cart::Application::build,
            cart::Application::run_until_stopped,
        )
        .await;
    Shop { product, cart }
}

impl Shop {
    /// Creates a product with one variant per `(sku, price, stock)`; returns the variant ids.
    pub async fn product(&self, slug: &str, variants: &[(&str, i64, i64)]) -> Vec<String> {
        let (admin, _) = self.product.admin();
        let _ = self
            .product
            .post("/v1/categories")
            .bearer_auth(&admin)
            .json(&json!({"slug": "mugs", "name": "Mugs"}))
            .send()
            .await
            .unwrap();
        let body = json!({
            "slug": slug, "name": slug.replace('-', " "), "category": "mugs", "currency": "USD",
            "variants": variants.iter().map(|(sku, price, stock)| json!({
                "sku": sku, "price": price, "stock": stock,
            })).collect::<Vec<_>>(),
        });
        let response = self
            .product
            .post("/v1/products")
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.unwrap();
        created["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Adds `quantity` of `variant` to `cart` (`mine` with `token`, or a guest id).
    pub async fn add(
        &self,
        cart: &str,
        token: Option<&str>,
        variant: &str,
        quantity: i64,
    ) -> reqwest::Response {
        let mut request = self
            .cart
            .post(&format!("/v1/carts/{cart}/items"))
            .json(&json!({"variant_id": variant, "quantity": quantity}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// The cart, asserting 200.
    pub async fn cart(&self, cart: &str, token: Option<&str>) -> Value {
        let mut request = self.cart.get(&format!("/v1/carts/{cart}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}

/// A new guest cart id.
pub fn guest() -> String {
    uuid::Uuid::new_v4().to_string()
}
