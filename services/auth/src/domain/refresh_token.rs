//! The refresh token a client holds: 32 random bytes, base64url without padding (43 characters).
//!
//! Only its SHA-256 ([`RefreshToken::hash`]) is stored, so a copy of the database cannot be used
//! to mint sessions. A keyed hash is not needed: the token has 256 bits of entropy, there is
//! nothing to brute-force.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest as _, Sha256};

const BYTES: usize = 32;
/// Length of the encoded token.
pub const ENCODED_LEN: usize = 43;

/// An opaque refresh token.
#[derive(Debug)]
pub struct RefreshToken(SecretString);

impl RefreshToken {
    /// A fresh token from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes).into())
    }

    /// A token as a client sent it; `None` when it cannot be one of ours.
    pub fn parse(raw: &SecretString) -> Option<Self> {
        let text = raw.expose_secret().trim();
        let decoded = URL_SAFE_NO_PAD.decode(text).ok()?;
        (text.len() == ENCODED_LEN && decoded.len() == BYTES).then(|| Self(text.to_owned().into()))
    }

    /// The value stored and looked up in the database.
    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.expose_secret().as_bytes()).to_vec()
    }

    /// The value to hand to the client.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_back_and_differ() {
        let token = RefreshToken::generate();
        assert_eq!(token.expose().len(), ENCODED_LEN);
        let parsed = RefreshToken::parse(&token.expose().to_owned().into()).expect("parses");
        assert_eq!(parsed.hash(), token.hash());
        assert_ne!(RefreshToken::generate().hash(), token.hash());
    }

    #[test]
    fn refuses_other_shapes() {
        for bad in [
            "",
            "abc",
            "not base64 at all, not at all, not at all!!",
            &"A".repeat(44),
        ] {
            assert!(
                RefreshToken::parse(&bad.to_owned().into()).is_none(),
                "{bad:?}"
            );
        }
    }
}
