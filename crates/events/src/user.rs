//! Events on the `user.v1` topic, produced by auth.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Event;

/// A new account was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRegistered {
    pub user_id: Uuid,
    /// The normalised e-mail address.
    pub email: String,
    pub role: String,
}

impl Event for UserRegistered {
    const TYPE: &'static str = "user.registered";
    const VERSION: u16 = 1;
    const TOPIC: &'static str = "user.v1";
    fn key(&self) -> String {
        self.user_id.to_string()
    }
}
