//! What order asks of other services at checkout: product (the variants' prices, holding and
//! releasing stock) and offer (holding and giving back a coupon use). Each hold is keyed by the
//! order id, so retrying any step after a failure or a crash changes nothing twice.

use std::collections::BTreeMap;

use kit::client::{Client, ClientError};
use kit::money::Money;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::model::{LineRequest, OrderId};

/// A variant as product's `GET /v1/variants` describes it: only the fields checkout reads (a
/// tolerant reader, like cart's `VariantInfo`, so product may add fields without a release here).
#[derive(Debug, Clone, Deserialize)]
pub struct Variant {
    pub id: Uuid,
    pub product_id: Uuid,
    pub product_name: String,
    pub sku: String,
    pub price: Money,
    pub active: bool,
}

/// What a coupon takes off (offer's answer).
#[derive(Debug, Clone, Deserialize)]
pub struct Discount {
    pub code: String,
    pub discount: i64,
}

#[derive(Clone, Debug)]
pub struct Upstream {
    pub product: Client,
    pub offer: Client,
}

impl Upstream {
    /// The variants among `ids` that exist, by id.
    pub async fn variants(&self, ids: &[Uuid]) -> Result<BTreeMap<Uuid, Variant>, ClientError> {
        let list = ids
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let variants: Vec<Variant> = self
            .product
            .get("/v1/variants")
            .query(&[("ids", list)])
            .json_response()
            .await?;
        Ok(variants.into_iter().map(|v| (v.id, v)).collect())
    }

    /// Holds every line's stock for the order, or none.
    pub async fn reserve_stock(
        &self,
        order: OrderId,
        lines: &[LineRequest],
    ) -> Result<(), ClientError> {
        self.product
            .post("/v1/stock-reservations")
            .json(&json!({"order_id": order, "lines": lines}))
            .send()
            .await?;
        Ok(())
    }

    pub async fn release_stock(&self, order: OrderId) -> Result<(), ClientError> {
        self.product
            .delete(&format!("/v1/stock-reservations/{order}"))
            .send()
            .await?;
        Ok(())
    }

    /// Holds one use of the coupon for the order; what it takes off the subtotal.
    pub async fn redeem(
        &self,
        order: OrderId,
        user: Uuid,
        code: &str,
        subtotal: i64,
        currency: &str,
    ) -> Result<Discount, ClientError> {
        self.offer
            .post("/v1/coupon-redemptions")
            .json(&json!({
                "order_id": order, "user_id": user, "code": code,
                "subtotal": subtotal, "currency": currency,
            }))
            .json_response()
            .await
    }

    pub async fn release_coupon(&self, order: OrderId) -> Result<(), ClientError> {
        self.offer
            .delete(&format!("/v1/coupon-redemptions/{order}"))
            .send()
            .await?;
        Ok(())
    }

    /// Gives back what the order holds (stock, coupon use): both are attempted.
    pub async fn release(&self, order: OrderId) -> Result<(), ClientError> {
        let stock = self.release_stock(order).await;
        let coupon = self.release_coupon(order).await;
        stock.and(coupon)
    }
}
