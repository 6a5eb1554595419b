//! The Ed25519 key access tokens are signed with, parsed once at start from `AUTH_SIGNING_KEY`.
//!
//! The secret is a PKCS#8 PEM private key, as `openssl genpkey -algorithm ed25519` writes it (a
//! `\n` escape may stand for a newline, for `.env` files). Its key id is derived from the public
//! key ([`kit::jwt::PublicKey::kid`]), so rotating the key changes the `kid` with no extra
//! setting. Public keys of earlier signing keys (`AUTH_PREVIOUS_PUBLIC_KEYS`, PEM `PUBLIC KEY`
//! blocks one after another) stay in the JWKS and keep verifying until their tokens expire.
//!
//! Rotating: generate a key (`openssl genpkey -algorithm ed25519`), put it in `AUTH_SIGNING_KEY`
//! and the old key's public half (`openssl pkey -pubout`) in `AUTH_PREVIOUS_PUBLIC_KEYS`, roll
//! out; once the access token lifetime plus the JWKS `max-age` have passed, drop the old key.
//! Verifiers that meet an unknown `kid` should fetch the JWKS again before rejecting.

use std::fmt;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kit::jwt::{Claims, PublicKey};
use secrecy::{ExposeSecret, SecretString};

/// The private signing key. `Debug` shows only its key id.
#[derive(Clone)]
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
    public: PublicKey,
    kid: String,
    encoding: EncodingKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses a PKCS#8 PEM Ed25519 private key. The error never contains the key.
    pub fn from_pem(pem: &SecretString) -> Result<Self, &'static str> {
        let text = pem.expose_secret().replace("\\n", "\n");
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(text.trim())
            .map_err(|_| "not a PKCS#8 PEM Ed25519 private key (generate one with `openssl genpkey -algorithm ed25519`)")?;
        Ok(Self::from_dalek(&key))
    }

    /// A new random key: for tests and local development.
    pub fn generate() -> Self {
        Self::from_dalek(&ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng))
    }

    fn from_dalek(key: &ed25519_dalek::SigningKey) -> Self {
        let public = PublicKey::from(key.verifying_key());
        let der = key
            .to_pkcs8_der()
            .expect("an Ed25519 key always encodes as PKCS#8");
        Self {
            key: key.clone(),
            public,
            kid: public.kid(),
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
        }
    }

    /// The key as PKCS#8 PEM, the format `AUTH_SIGNING_KEY` takes.
    pub fn to_pem(&self) -> SecretString {
        let pem = self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .expect("an Ed25519 key always encodes as PEM");
        SecretString::from(pem.as_str())
    }

    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs `claims` as a JWT with `alg: EdDSA`, `typ: JWT` and this key's `kid`.
    pub fn sign(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }
}

/// Parses zero or more PEM `PUBLIC KEY` blocks written one after another.
pub fn parse_public_keys(text: &str) -> Result<Vec<PublicKey>, String> {
    const END: &str = "-----END PUBLIC KEY-----";
    let text = text.replace("\\n", "\n");
    let mut keys = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some(end) = rest.find(END) else {
            return Err("expected PEM blocks ending with `-----END PUBLIC KEY-----`".into());
        };
        let block = &rest[..end + END.len()];
        let key = PublicKey::from_pem(block).map_err(|e| format!("key {}: {e}", keys.len() + 1))?;
        keys.push(key);
        rest = rest[end + END.len()..].trim();
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::pkcs8::EncodePublicKey as _;

    use super::*;

    fn public_pem(key: &SigningKey) -> String {
        key.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("encodes")
    }

    #[test]
    fn round_trips_through_pem_with_the_same_kid() {
        let key = SigningKey::generate();
        let parsed = SigningKey::from_pem(&key.to_pem()).expect("parses");
        assert_eq!(parsed.kid(), key.kid());
        assert_eq!(parsed.kid().len(), 16);
        let escaped = key.to_pem().expose_secret().replace('\n', "\\n");
        assert_eq!(
            SigningKey::from_pem(&escaped.into()).expect("parses").kid(),
            key.kid()
        );
    }

    #[test]
    fn errors_and_debug_never_show_the_key() {
        let secret = "-----BEGIN PRIVATE KEY-----\nhunter2hunter2\n-----END PRIVATE KEY-----";
        let error = SigningKey::from_pem(&secret.to_owned().into()).unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
        let key = SigningKey::generate();
        let debug = format!("{key:?}");
        assert!(
            debug.contains(key.kid()) && !debug.contains("PRIVATE"),
            "{debug}"
        );
    }

    #[test]
    fn parses_a_list_of_public_keys() {
        let (a, b) = (SigningKey::generate(), SigningKey::generate());
        let text = format!("{}\n{}", public_pem(&a), public_pem(&b));
        let keys = parse_public_keys(&text).expect("parses");
        assert_eq!(keys, vec![a.public_key(), b.public_key()]);
        assert_eq!(parse_public_keys("  ").expect("empty"), vec![]);
        assert!(parse_public_keys("garbage").is_err());
    }
}
