//! Events on the `cart.v1` topic, produced by cart. Keyed by cart, so one cart's events keep their
//! order. A cart belongs to a signed-in user or to an anonymous visitor (`user_id` is then absent).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Event;

/// Whose cart: a user's, or an anonymous visitor's (by the cart id the storefront keeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartRef {
    /// The user, for a signed-in cart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// The anonymous cart's id, for a guest cart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<Uuid>,
}

impl CartRef {
    fn key(&self) -> String {
        match (self.user_id, self.anonymous_id) {
            (Some(user), _) => format!("user:{user}"),
            (None, Some(anonymous)) => format!("anonymous:{anonymous}"),
            (None, None) => "unknown".to_owned(),
        }
    }
}

/// Units of a variant were added to a cart (a new line or a higher quantity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemAdded {
    pub cart: CartRef,
    pub product_id: Uuid,
    pub variant_id: Uuid,
    /// Units added by this change.
    pub added: u32,
    /// The line's quantity after it.
    pub quantity: u32,
    /// Unit price at the time, minor units of `currency`.
    pub unit_price: i64,
    pub currency: String,
}

impl Event for ItemAdded {
    const TYPE: &'static str = "cart.item_added";
    const VERSION: u16 = 1;
    const TOPIC: &'static str = "cart.v1";
    fn key(&self) -> String {
        self.cart.key()
    }
}

/// Units of a variant were taken out of a cart (a lower quantity, a removed line, a cleared cart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRemoved {
    pub cart: CartRef,
    pub variant_id: Uuid,
    /// Units removed by this change.
    pub removed: u32,
    /// The line's quantity after it (0: the line is gone).
    pub quantity: u32,
}

impl Event for ItemRemoved {
    const TYPE: &'static str = "cart.item_removed";
    const VERSION: u16 = 1;
    const TOPIC: &'static str = "cart.v1";
    fn key(&self) -> String {
        self.cart.key()
    }
}

/// A guest's cart was merged into the user's cart at sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartMerged {
    pub user_id: Uuid,
    pub anonymous_id: Uuid,
    /// Lines moved or increased by the merge.
    pub lines: u32,
}

impl Event for CartMerged {
    const TYPE: &'static str = "cart.merged";
    const VERSION: u16 = 1;
    const TOPIC: &'static str = "cart.v1";
    fn key(&self) -> String {
        format!("user:{}", self.user_id)
    }
}
