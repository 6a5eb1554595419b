//! The catalog as the API shows it and as requests describe it: the JSON types of every endpoint
//! (also what the cache holds), and the ids that tell a product from a variant.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kit::money::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::Image;

/// Marker of product ids.
#[derive(Debug)]
pub enum ProductTag {}
/// Marker of variant ids.
#[derive(Debug)]
pub enum VariantTag {}
/// Marker of category ids.
#[derive(Debug)]
pub enum CategoryTag {}

pub type ProductId = kit::Id<ProductTag>;
pub type VariantId = kit::Id<VariantTag>;
pub type CategoryId = kit::Id<CategoryTag>;

/// A category of products.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Category {
    pub id: CategoryId,
    #[schema(example = "mugs")]
    pub slug: String,
    #[schema(example = "Mugs")]
    pub name: String,
    pub description: String,
}

/// How much of a variant is left, as a shop shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockState {
    InStock,
    /// Five or fewer left.
    LowStock,
    OutOfStock,
}

impl StockState {
    pub fn of(stock: i32) -> Self {
        match stock {
            s if s <= 0 => Self::OutOfStock,
            s if s <= 5 => Self::LowStock,
            _ => Self::InStock,
        }
    }
}

/// One purchasable version of a product (a size, a colour): what carts and orders refer to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Variant {
    pub id: VariantId,
    #[schema(example = "MUG-BLUE-350")]
    pub sku: String,
    /// What tells this variant from its siblings, e.g. `{"size": "350 ml"}`.
    pub options: BTreeMap<String, String>,
    pub price: Money,
    pub stock: i32,
    pub stock_state: StockState,
    pub images: Vec<Image>,
}

/// A product with its variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub id: ProductId,
    #[schema(example = "blue-mug")]
    pub slug: String,
    #[schema(example = "Blue mug")]
    pub name: String,
    pub description: String,
    pub category: Category,
    /// Facts about the product, e.g. `{"material": "stoneware"}`.
    pub attributes: BTreeMap<String, String>,
    /// Inactive products are not for sale and visible to admins only.
    pub active: bool,
    pub featured: bool,
    /// The lowest price of its variants.
    pub price_from: Money,
    pub in_stock: bool,
    /// Increases with every change; the `ETag` is this number in quotes.
    pub version: i32,
    pub variants: Vec<Variant>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Product {
    /// The strong entity tag of this representation.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// A product in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProductSummary {
    pub id: ProductId,
    pub slug: String,
    pub name: String,
    pub category_slug: String,
    pub price_from: Money,
    pub in_stock: bool,
    pub featured: bool,
    /// The first image of the first variant.
    pub image: Option<Image>,
}

/// A page of products, and the query a search actually ran.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductPage {
    pub items: Vec<ProductSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// When `q` had words the catalog does not know, the corrected query that was searched
    /// instead ("did you mean").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_query: Option<String>,
}

/// A variant with what a cart needs of its product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VariantDetails {
    pub id: VariantId,
    pub product_id: ProductId,
    pub product_slug: String,
    pub product_name: String,
    pub sku: String,
    pub options: BTreeMap<String, String>,
    pub price: Money,
    pub stock: i32,
    /// The product is for sale.
    pub active: bool,
    pub image: Option<Image>,
}

/// A new category.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCategory {
    #[schema(
        example = "mugs",
        max_length = 80,
        pattern = "^[a-z0-9]+(-[a-z0-9]+)*$"
    )]
    pub slug: String,
    #[schema(
        example = "Mugs",
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
    )]
    pub description: String,
    /// Where it is listed among categories (smaller first).
    #[serde(default)]
    #[schema(minimum = -2147483648, maximum = 2147483647)]
    pub position: i32,
}

/// A variant in a create or update request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VariantInput {
    /// In an update, the variant to change; absent for a new variant (and in a create).
    #[serde(default)]
    pub id: Option<VariantId>,
    #[schema(
        example = "MUG-BLUE-350",
        max_length = 40,
        pattern = "^[A-Z0-9]([A-Z0-9-]*[A-Z0-9])?$"
    )]
    pub sku: String,
    /// What sets it apart from the product's other variants (`size`, `colour`).
    #[serde(default)]
    #[schema(schema_with = crate::domain::options_schema)]
    pub options: BTreeMap<String, String>,
    /// Price of one unit in minor units of the product's currency.
    #[schema(example = 1250, minimum = 0, maximum = 100_000_000)]
    pub price: i64,
    /// Units in stock. In an update, only a new variant's stock is taken; existing stock changes
    /// through stock adjustments.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub stock: i64,
    #[serde(default)]
    #[schema(max_items = 8)]
    pub images: Vec<Image>,
}

/// A product to create, or the new state of one (a full replacement: variants left out are
/// removed).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProductInput {
    #[schema(
        example = "blue-mug",
        max_length = 80,
        pattern = "^[a-z0-9]+(-[a-z0-9]+)*$"
    )]
    pub slug: String,
    #[schema(
        example = "Blue mug",
        min_length = 1,
        max_length = 120,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[serde(default)]
    #[schema(
        max_length = 5000,
        pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
    )]
    pub description: String,
    /// The slug of an existing category.
    #[schema(
        example = "mugs",
        max_length = 80,
        pattern = "^[a-z0-9]+(-[a-z0-9]+)*$"
    )]
    pub category: String,
    /// Facts shown on the product page (`material`, `care`).
    #[serde(default)]
    #[schema(schema_with = crate::domain::attributes_schema)]
    pub attributes: BTreeMap<String, String>,
    #[schema(value_type = kit::money::Currency)]
    pub currency: String,
    #[serde(default)]
    pub featured: bool,
    /// Whether it is for sale (updates only; new products are).
    #[serde(default = "yes")]
    pub active: bool,
    /// SKUs distinct.
    #[schema(min_items = 1, max_items = 50)]
    pub variants: Vec<VariantInput>,
}

fn yes() -> bool {
    true
}

/// A change of one variant's stock.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StockAdjustment {
    pub variant_id: VariantId,
    /// Units to add (negative to remove); the stock never goes below zero.
    #[schema(example = -2, minimum = -1_000_000, maximum = 1_000_000)]
    pub delta: i64,
}

/// Marker of order ids (orders are the order service's; product keys reservations by them).
#[derive(Debug)]
pub enum OrderTag {}
pub type OrderId = kit::Id<OrderTag>;

/// Stock to hold for an order: what the order service asks before it takes payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reservation {
    /// The order the stock is held for: the reservation's key (a retry with the same lines
    /// changes nothing).
    pub order_id: OrderId,
    /// One line per variant, distinct.
    #[schema(min_items = 1, max_items = 50)]
    pub lines: Vec<ReservationLine>,
}

/// Units of one variant held for an order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct ReservationLine {
    pub variant_id: VariantId,
    #[schema(minimum = 1, maximum = 1000, example = 2)]
    pub quantity: i32,
}
