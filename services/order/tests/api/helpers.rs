//! `spawn_shop`: product, offer and order on free ports against fresh stores (see
//! `kit::testing`), order calling those product and offer, all accepting one test signer's
//! tokens; a catalogue and coupons to buy with; checkout bodies.

pub use kit::testing::TestApp;
use kit::testing::TestSigner;
use serde_json::{Value, json};

/// Where the shop's pages are, as order knows it (`STOREFRONT_ORIGIN`).
pub const SHOP_ORIGIN: &str = "https://shop.example.com";

/// A running product, offer and order.
pub struct Shop {
    pub product: TestApp,
    pub offer: TestApp,
    pub order: TestApp,
    pub admin: String,
}

/// Product and offer, accepting `signer`'s tokens.
pub async fn spawn_upstream(signer: &TestSigner) -> (TestApp, TestApp) {
    let product = TestApp::builder(product::Settings::default())
        .signer(signer.clone())
        .spawn(
            product::Application::build,
            product::Application::run_until_stopped,
        )
        .await;
    let offer = TestApp::builder(offer::Settings {})
        .signer(signer.clone())
        .spawn(
            offer::Application::build,
            offer::Application::run_until_stopped,
        )
        .await;
    (product, offer)
}

pub async fn spawn_shop() -> Shop {
    spawn_shop_with(order::Settings::local()).await
}

/// The shop, order configured with `settings` (its payment provider).
pub async fn spawn_shop_with(settings: order::Settings) -> Shop {
    let signer = TestSigner::start().await;
    let (product, offer) = spawn_upstream(&signer).await;
    let order = TestApp::builder(settings)
        .configure(|c| c.storefront_origin = Some(SHOP_ORIGIN.to_owned()))
        .signer(signer)
        .call("product", &product.address)
        .call("offer", &offer.address)
        .spawn(
            order::Application::build,
            order::Application::run_until_stopped,
        )
        .await;
    let admin = order.admin().0;
    Shop {
        product,
        offer,
        order,
        admin,
    }
}

/// A product with one variant of `price` and `stock` in `product`, made by `admin`; its variant
/// id.
pub async fn create_variant(
    product: &TestApp,
    admin: &str,
    sku: &str,
    price: i64,
    stock: i64,
) -> String {
    let _ = product
        .post("/v1/categories")
        .bearer_auth(admin)
        .json(&json!({"slug": "mugs", "name": "Mugs"}))
        .send()
        .await
        .unwrap();
    let body = json!({
        "slug": sku.to_lowercase(), "name": format!("Mug {sku}"), "category": "mugs", "currency": "USD",
        "variants": [{"sku": sku, "price": price, "stock": stock}],
    });
    let response = product
        .post("/v1/products")
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    created["variants"][0]["id"].as_str().unwrap().to_owned()
}

/// A test card that is authorized.
pub const CARD: &str = "4242 4242 4242 4242";

impl Shop {
    /// A product with one variant of `price` and `stock`; its variant id.
    pub async fn variant(&self, sku: &str, price: i64, stock: i64) -> String {
        create_variant(&self.product, &self.admin, sku, price, stock).await
    }

    /// The stock of a variant now.
    pub async fn stock(&self, variant: &str) -> i64 {
        let variants: Value = self
            .product
            .get(&format!("/v1/variants?ids={variant}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        variants[0]["stock"].as_i64().unwrap()
    }

    /// Creates a coupon (`extra` merged into a USD coupon body).
    pub async fn coupon(&self, code: &str, kind: &str, value: i64, extra: Value) {
        let mut body = json!({"code": code, "kind": kind, "value": value, "currency": "USD"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let response = self
            .offer
            .post("/v1/offers/coupons")
            .bearer_auth(&self.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }

    /// How many uses of a coupon are held.
    pub async fn uses(&self, code: &str) -> i64 {
        let coupon: Value = self
            .offer
            .get(&format!("/v1/offers/coupons/{code}"))
            .bearer_auth(&self.admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        coupon["uses"].as_i64().unwrap()
    }

    /// A checkout as `token` under `key`.
    pub async fn checkout(&self, token: &str, key: &str, body: &Value) -> reqwest::Response {
        self.order
            .post("/v1/orders")
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

/// A checkout body: `(variant, quantity)` lines, an optional coupon, a card.
pub fn checkout(lines: &[(&str, u32)], coupon: Option<&str>, card: &str) -> Value {
    json!({
        "lines": lines.iter().map(|(v, q)| json!({"variant_id": v, "quantity": q})).collect::<Vec<_>>(),
        "coupon_code": coupon,
        "shipping_address": {
            "name": "Ada Lovelace", "line1": "12 Analytical Row", "city": "London",
            "postal_code": "NW1 6XE", "country": "GB",
        },
        "payment": {"number": card, "expiry": "12/30", "cvc": "123"},
    })
}

pub fn key() -> String {
    uuid::Uuid::now_v7().to_string()
}
