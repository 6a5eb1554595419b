//! The shop's API as the storefront uses it: every call goes through the API gateway (the only
//! service the storefront may call), with the visitor's address in `X-Forwarded-For` (the gateway
//! limits per client, not per storefront pod) and, when signed in, their access token.
//!
//! The types here are the storefront's reading of the services' JSON: only what the pages show.

use std::collections::BTreeMap;

use kit::client::{Call, Client, ClientError};
use kit::money::{Currency, Money};
pub use kit::postal::Address;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who a call is for.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The visitor's address.
    pub ip: String,
    /// The signed-in user's access token.
    pub token: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Category {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Image {
    pub url: String,
    pub alt: String,
}

impl Image {
    /// Whether the page may show it: an https URL or an inline image (product validates this
    /// too; the page does not rely on it).
    pub fn safe(&self) -> bool {
        self.url.starts_with("https://") || self.url.starts_with("data:image/")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProductSummary {
    pub slug: String,
    pub name: String,
    pub price_from: Money,
    pub in_stock: bool,
    #[serde(default)]
    pub image: Option<Image>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProductPage {
    pub items: Vec<ProductSummary>,
    #[serde(default)]
    pub next_cursor: Option<String>,
    #[serde(default)]
    pub corrected_query: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Variant {
    pub id: Uuid,
    pub sku: String,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    pub price: Money,
    pub stock: i32,
    #[serde(default)]
    pub images: Vec<Image>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub category: Category,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub price_from: Money,
    pub in_stock: bool,
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Line {
    pub variant_id: Uuid,
    pub quantity: u32,
    pub available: bool,
    #[serde(default)]
    pub product_slug: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub image: Option<Image>,
    #[serde(default)]
    pub unit_price: Option<Money>,
    #[serde(default)]
    pub line_total: Option<Money>,
    #[serde(default)]
    pub stock: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Cart {
    pub lines: Vec<Line>,
    pub item_count: u32,
    #[serde(default)]
    pub subtotal: Option<Money>,
}

/// Tokens of a session (sign-in, refresh).
#[derive(Clone, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// The signed-in user's profile.
#[derive(Debug, Clone, Deserialize)]
pub struct Profile {
    pub email: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub phone: String,
}

/// One of the signed-in user's saved addresses.
#[derive(Debug, Clone, Deserialize)]
pub struct SavedAddress {
    pub id: Uuid,
    pub label: String,
    #[serde(flatten)]
    pub address: Address,
    pub is_default: bool,
}

/// What a coupon takes off a subtotal.
#[derive(Debug, Clone, Deserialize)]
pub struct Discount {
    pub code: String,
    pub discount: i64,
}

/// One line of an order, at the price it was bought.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderLine {
    pub variant_id: Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: i64,
}

/// An order.
#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    pub id: Uuid,
    /// `placed`, `paid`, `shipped` or `cancelled`.
    pub status: String,
    pub lines: Vec<OrderLine>,
    pub currency: Currency,
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
    #[serde(default)]
    pub coupon_code: Option<String>,
    pub shipping_address: Address,
    #[serde(default)]
    pub cancel_reason: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// Where the buyer pays, while a placed order waits for payment on the provider's page.
    #[serde(default)]
    pub payment_url: Option<String>,
}

impl Order {
    pub fn money(&self, amount: i64) -> Money {
        Money::new(amount, self.currency)
    }

    /// Whether its buyer may still cancel it (not shipped, not cancelled).
    pub fn cancellable(&self) -> bool {
        matches!(self.status.as_str(), "placed" | "paid")
    }
}

#[derive(Debug, Clone, Deserialize)]
struct OrderList {
    orders: Vec<Order>,
}

/// The card a checkout pays with: passed to the order service, never kept or logged here.
#[derive(Clone, Serialize)]
pub struct Card {
    pub number: String,
    pub expiry: String,
    pub cvc: String,
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Card(…)")
    }
}

/// A checkout: what `POST /v1/orders` takes.
#[derive(Debug, Clone, Serialize)]
pub struct Checkout {
    pub lines: Vec<CheckoutLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon_code: Option<String>,
    pub shipping_address: Address,
    /// The card, when the shop takes cards on its own form ([`Api::takes_card`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<Card>,
    /// Otherwise where the provider's payment page sends the shopper back (`{order}` is
    /// replaced by the order's id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct PaymentMethod {
    /// `card` or `provider-page`.
    form: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckoutLine {
    pub variant_id: Uuid,
    pub quantity: u32,
}

/// A product list request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_stock: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub featured: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    pub limit: u32,
}

/// The API through the gateway.
#[derive(Debug, Clone)]
pub struct Api {
    gateway: Client,
}

impl Api {
    pub fn new(gateway: Client) -> Self {
        Self { gateway }
    }

    fn call<'a>(&'a self, call: Call<'a>, caller: &Caller) -> Call<'a> {
        let call = match axum::http::HeaderValue::from_str(&caller.ip) {
            Ok(ip) => call.header(axum::http::HeaderName::from_static("x-forwarded-for"), ip),
            Err(_) => call,
        };
        match &caller.token {
            Some(token) => call.bearer(token),
            None => call,
        }
    }

    pub async fn categories(&self, caller: &Caller) -> Result<Vec<Category>, ClientError> {
        self.call(self.gateway.get("/v1/categories"), caller)
            .json_response()
            .await
    }

    pub async fn products(
        &self,
        caller: &Caller,
        query: &ListQuery,
    ) -> Result<ProductPage, ClientError> {
        self.call(self.gateway.get("/v1/products").query(query), caller)
            .json_response()
            .await
    }

    /// A product by slug; `None` when there is none (or it is not for sale).
    pub async fn product(
        &self,
        caller: &Caller,
        slug: &str,
    ) -> Result<Option<Product>, ClientError> {
        match self
            .call(self.gateway.get(&format!("/v1/products/{slug}")), caller)
            .json_response()
            .await
        {
            Ok(product) => Ok(Some(product)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The visitor's cart: the user's when signed in, otherwise the guest cart `guest`.
    pub async fn cart(&self, caller: &Caller, guest: Uuid) -> Result<Cart, ClientError> {
        let path = cart_path(caller, guest);
        self.call(self.gateway.get(&path), caller)
            .json_response()
            .await
    }

    pub async fn add_to_cart(
        &self,
        caller: &Caller,
        guest: Uuid,
        variant: Uuid,
        quantity: u32,
    ) -> Result<Cart, ClientError> {
        let path = format!("{}/items", cart_path(caller, guest));
        let body = serde_json::json!({"variant_id": variant, "quantity": quantity});
        self.call(self.gateway.post(&path).json(&body), caller)
            .json_response()
            .await
    }

    pub async fn set_quantity(
        &self,
        caller: &Caller,
        guest: Uuid,
        variant: Uuid,
        quantity: u32,
    ) -> Result<Cart, ClientError> {
        let path = format!("{}/items/{variant}", cart_path(caller, guest));
        let body = serde_json::json!({"quantity": quantity});
        self.call(self.gateway.put(&path).json(&body), caller)
            .json_response()
            .await
    }

    /// Moves the guest cart into the signed-in user's.
    pub async fn merge_carts(&self, caller: &Caller, guest: Uuid) -> Result<Cart, ClientError> {
        let body = serde_json::json!({"anonymous_cart_id": guest});
        self.call(
            self.gateway.post("/v1/carts/mine/merge").json(&body),
            caller,
        )
        .json_response()
        .await
    }

    pub async fn sign_up(
        &self,
        caller: &Caller,
        email: &str,
        password: &str,
    ) -> Result<(), ClientError> {
        let body = serde_json::json!({"email": email, "password": password});
        self.call(self.gateway.post("/v1/auth/signup").json(&body), caller)
            .send()
            .await
            .map(|_| ())
    }

    pub async fn sign_in(
        &self,
        caller: &Caller,
        email: &str,
        password: &str,
    ) -> Result<Tokens, ClientError> {
        let body = serde_json::json!({"email": email, "password": password});
        self.call(self.gateway.post("/v1/auth/signin").json(&body), caller)
            .json_response()
            .await
    }

    pub async fn refresh(
        &self,
        caller: &Caller,
        refresh_token: &str,
    ) -> Result<Tokens, ClientError> {
        let body = serde_json::json!({"refresh_token": refresh_token});
        self.call(self.gateway.post("/v1/auth/refresh").json(&body), caller)
            .json_response()
            .await
    }

    pub async fn sign_out(&self, caller: &Caller, refresh_token: &str) -> Result<(), ClientError> {
        let body = serde_json::json!({"refresh_token": refresh_token});
        self.call(self.gateway.post("/v1/auth/signout").json(&body), caller)
            .send()
            .await
            .map(|_| ())
    }
}

impl Api {
    /// Empties the signed-in user's cart (after an order is placed from it).
    pub async fn clear_cart(&self, caller: &Caller) -> Result<(), ClientError> {
        self.call(self.gateway.delete("/v1/carts/mine"), caller)
            .send()
            .await
            .map(|_| ())
    }

    pub async fn profile(&self, caller: &Caller) -> Result<Profile, ClientError> {
        self.call(self.gateway.get("/v1/users/me"), caller)
            .json_response()
            .await
    }

    pub async fn update_profile(
        &self,
        caller: &Caller,
        display_name: &str,
        phone: &str,
    ) -> Result<Profile, ClientError> {
        let body = serde_json::json!({"display_name": display_name, "phone": phone});
        self.call(self.gateway.put("/v1/users/me").json(&body), caller)
            .json_response()
            .await
    }

    pub async fn addresses(&self, caller: &Caller) -> Result<Vec<SavedAddress>, ClientError> {
        self.call(self.gateway.get("/v1/users/me/addresses"), caller)
            .json_response()
            .await
    }

    pub async fn add_address(
        &self,
        caller: &Caller,
        label: &str,
        address: &Address,
        is_default: bool,
    ) -> Result<SavedAddress, ClientError> {
        let mut body = serde_json::to_value(address).expect("an address serializes");
        body["label"] = label.into();
        body["is_default"] = is_default.into();
        self.call(
            self.gateway.post("/v1/users/me/addresses").json(&body),
            caller,
        )
        .json_response()
        .await
    }

    pub async fn delete_address(&self, caller: &Caller, id: Uuid) -> Result<(), ClientError> {
        let path = format!("/v1/users/me/addresses/{id}");
        self.call(self.gateway.delete(&path), caller)
            .send()
            .await
            .map(|_| ())
    }

    /// What `code` takes off `subtotal` (the shopper's own limit checked too); nothing is held.
    pub async fn quote(
        &self,
        caller: &Caller,
        code: &str,
        subtotal: Money,
    ) -> Result<Discount, ClientError> {
        let body = serde_json::json!({
            "code": code,
            "subtotal": subtotal.amount,
            "currency": subtotal.currency.code(),
        });
        self.call(self.gateway.post("/v1/offers/quote").json(&body), caller)
            .json_response()
            .await
    }

    /// Places an order. `key` is the checkout form's token: a double click or a resent form
    /// carries the same one, so the order service answers it with the first order, not a second.
    pub async fn place_order(
        &self,
        caller: &Caller,
        key: Uuid,
        checkout: &Checkout,
    ) -> Result<Order, ClientError> {
        let key = axum::http::HeaderValue::from_str(&key.to_string()).expect("a UUID is a header");
        self.call(
            self.gateway
                .post("/v1/orders")
                .json(checkout)
                .header(axum::http::HeaderName::from_static("idempotency-key"), key)
                // Authorizing a card may take the provider a while.
                .timeout(std::time::Duration::from_secs(30)),
            caller,
        )
        .json_response()
        .await
    }

    /// Whether the shop takes the card on its own checkout form (the local test-mode provider),
    /// rather than on the payment provider's page.
    pub async fn takes_card(&self, caller: &Caller) -> Result<bool, ClientError> {
        let method: PaymentMethod = self
            .call(self.gateway.get("/v1/orders/payment-method"), caller)
            .json_response()
            .await?;
        Ok(method.form == "card")
    }

    /// The signed-in buyer's orders, newest first.
    pub async fn orders(&self, caller: &Caller) -> Result<Vec<Order>, ClientError> {
        let list: OrderList = self
            .call(self.gateway.get("/v1/orders"), caller)
            .json_response()
            .await?;
        Ok(list.orders)
    }

    /// One of the buyer's orders; `None` when it is not theirs or does not exist.
    pub async fn order(&self, caller: &Caller, id: Uuid) -> Result<Option<Order>, ClientError> {
        let path = format!("/v1/orders/{id}");
        match self
            .call(self.gateway.get(&path), caller)
            .json_response()
            .await
        {
            Ok(order) => Ok(Some(order)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn cancel_order(&self, caller: &Caller, id: Uuid) -> Result<Order, ClientError> {
        let path = format!("/v1/orders/{id}/cancel");
        self.call(self.gateway.post(&path), caller)
            .json_response()
            .await
    }
}

fn cart_path(caller: &Caller, guest: Uuid) -> String {
    if caller.token.is_some() {
        "/v1/carts/mine".to_owned()
    } else {
        format!("/v1/carts/{guest}")
    }
}
