//! Events on the `user.v1` topic: `user.registered` from auth, `user.erased` from user (through
//! its outbox). Keyed by user, so one user's events keep their order.

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

/// An account erased itself (GDPR): every service forgets what it holds about the user (auth
/// its credentials, user its profile and addresses) and keeps nothing that names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserErased {
    pub user_id: Uuid,
}

impl Event for UserErased {
    const TYPE: &'static str = "user.erased";
    const VERSION: u16 = 1;
    const TOPIC: &'static str = "user.v1";
    fn key(&self) -> String {
        self.user_id.to_string()
    }
}
