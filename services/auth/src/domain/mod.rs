//! Types that parse at the edge: once a value has one of these types it is valid, so handlers and
//! storage never re-check it.
//!
//! [`Email`] is a normalised address, [`NewPassword`] a password that meets the policy,
//! [`RefreshToken`] the opaque refresh credential a client holds, and [`SigningKey`] the Ed25519
//! key access tokens are signed with.

pub mod email;
pub mod password;
pub mod refresh_token;
pub mod signing_key;

pub use email::Email;
pub use password::NewPassword;
pub use refresh_token::RefreshToken;
pub use signing_key::SigningKey;
