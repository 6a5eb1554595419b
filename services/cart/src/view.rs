//! A cart as the API shows it: each line with the product's current name, price, image and stock
//! (read from product for this answer), line totals and the cart's subtotal in minor units.

use std::collections::BTreeMap;

use kit::money::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalog::{Image, VariantInfo};

/// One line of a cart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Line {
    pub variant_id: Uuid,
    pub quantity: u32,
    /// False when the variant is gone, not for sale, or has less stock than the quantity: the
    /// line is kept (so it can be changed) but not counted in the subtotal.
    pub available: bool,
    pub product_id: Option<Uuid>,
    pub product_slug: Option<String>,
    pub name: Option<String>,
    pub sku: Option<String>,
    pub options: BTreeMap<String, String>,
    pub image: Option<Image>,
    pub unit_price: Option<Money>,
    pub line_total: Option<Money>,
    /// Units in stock now.
    pub stock: Option<i32>,
}

/// A cart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Cart {
    pub lines: Vec<Line>,
    /// Units of the available lines.
    pub item_count: u32,
    /// Sum of the available lines; absent when there are none.
    pub subtotal: Option<Money>,
}

impl Cart {
    /// The view of `lines` with what product said of their variants.
    pub fn of(lines: &BTreeMap<Uuid, u32>, variants: &BTreeMap<Uuid, VariantInfo>) -> Self {
        let mut out = Vec::with_capacity(lines.len());
        let mut subtotal: Option<Money> = None;
        let mut item_count = 0;
        for (variant_id, quantity) in lines {
            let info = variants.get(variant_id);
            let unit_price = info.map(|v| v.price);
            let line_total = unit_price.and_then(|p| p.checked_mul(i64::from(*quantity)).ok());
            let mut available =
                info.is_some_and(|v| v.active && i64::from(v.stock) >= i64::from(*quantity));
            if let (true, Some(total)) = (available, line_total) {
                match subtotal {
                    None => subtotal = Some(total),
                    Some(sum) => match sum.checked_add(total) {
                        Ok(sum) => subtotal = Some(sum),
                        // Another currency (or an overflow): not addable to this cart's total.
                        Err(_) => available = false,
                    },
                }
                if available {
                    item_count += quantity;
                }
            }
            out.push(Line {
                variant_id: *variant_id,
                quantity: *quantity,
                available,
                product_id: info.map(|v| v.product_id),
                product_slug: info.map(|v| v.product_slug.clone()),
                name: info.map(|v| v.product_name.clone()),
                sku: info.map(|v| v.sku.clone()),
                options: info.map(|v| v.options.clone()).unwrap_or_default(),
                image: info.and_then(|v| v.image.clone()),
                unit_price,
                line_total,
                stock: info.map(|v| v.stock),
            });
        }
        Self {
            lines: out,
            item_count,
            subtotal,
        }
    }
}
