//! Events on the `catalog.v1` topic, produced by product through its outbox. Keyed by product id,
//! so the events of one product keep their order.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Event;

/// A variant as the catalog events describe it; prices in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantSnapshot {
    pub variant_id: Uuid,
    pub sku: String,
    pub price: i64,
    pub stock: i32,
}

/// A product was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductCreated {
    pub product_id: Uuid,
    pub slug: String,
    pub name: String,
    pub category_slug: String,
    pub currency: String,
    pub variants: Vec<VariantSnapshot>,
}

impl Event for ProductCreated {
    const TYPE: &'static str = "product.created";
    const VERSION: u16 = 1;
    const TOPIC: &'static str = "catalog.v1";
    fn key(&self) -> String {
        self.product_id.to_string()
    }
}

/// A product changed (its fields, its variants or whether it is for sale); the state after the
/// change, at `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductUpdated {
    pub product_id: Uuid,
    pub version: i32,
    pub slug: String,
    pub name: String,
    pub category_slug: String,
    pub active: bool,
    pub currency: String,
    pub variants: Vec<VariantSnapshot>,
}

impl Event for ProductUpdated {
    const TYPE: &'static str = "product.updated";
    const VERSION: u16 = 1;
    const TOPIC: &'static str = "catalog.v1";
    fn key(&self) -> String {
        self.product_id.to_string()
    }
}

/// A variant's stock changed by `delta` (an adjustment by an admin, later reservations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockChanged {
    pub product_id: Uuid,
    pub variant_id: Uuid,
    pub delta: i32,
    /// Stock after the change.
    pub stock: i32,
    /// Why: `adjustment`, or what a later reservation names.
    pub reason: String,
}

impl Event for StockChanged {
    const TYPE: &'static str = "stock.changed";
    const VERSION: u16 = 1;
    const TOPIC: &'static str = "catalog.v1";
    fn key(&self) -> String {
        self.product_id.to_string()
    }
}
