//! What cart knows of products: it asks product (`GET /v1/variants`) every time it shows or
//! changes a cart, so names, prices and stock are never taken from the client nor remembered.

use std::collections::BTreeMap;

use kit::client::{Client, ClientError};
use kit::money::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A product image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Image {
    pub url: String,
    pub alt: String,
}

/// A variant as product describes it to carts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VariantInfo {
    pub id: Uuid,
    pub product_id: Uuid,
    pub product_slug: String,
    pub product_name: String,
    pub sku: String,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    pub price: Money,
    pub stock: i32,
    pub active: bool,
    #[serde(default)]
    pub image: Option<Image>,
}

impl VariantInfo {
    /// How many units of it a cart may hold: its stock, at most `max`; none when it is not for sale.
    pub fn cap(&self, max: u32) -> u32 {
        if !self.active {
            return 0;
        }
        u32::try_from(self.stock).unwrap_or(0).min(max)
    }
}

/// The product service, as cart uses it.
#[derive(Clone, Debug)]
pub struct Catalog {
    product: Client,
}

/// Most variants product answers for at once.
const BATCH: usize = 100;

impl Catalog {
    pub fn new(product: Client) -> Self {
        Self { product }
    }

    /// The variants among `ids` that exist, by id.
    pub async fn variants(&self, ids: &[Uuid]) -> Result<BTreeMap<Uuid, VariantInfo>, ClientError> {
        let mut found = BTreeMap::new();
        for chunk in ids.chunks(BATCH) {
            let list = chunk
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let variants: Vec<VariantInfo> = self
                .product
                .get("/v1/variants")
                .query(&[("ids", list)])
                .json_response()
                .await?;
            found.extend(variants.into_iter().map(|v| (v.id, v)));
        }
        Ok(found)
    }
}
