//! Verifying access tokens offline: the claims auth puts in its JWTs and the key set that checks
//! them.
//!
//! The signer (auth) signs short-lived access tokens with Ed25519 (`alg: EdDSA`) and publishes
//! its public keys at `/.well-known/jwks.json`. A [`KeySet`] built from that document checks a
//! token ([`KeySet::verify`]): the header's `kid` picks the key, only `EdDSA` is accepted (no
//! `none`, no HMAC confusion), and `exp`, `iss` and `aud` are checked against the values declared
//! in platform.toml `[tokens]`. A key id is derived from the key itself ([`PublicKey::kid`]), so
//! the signer and every verifier agree on it without configuration. Services do not use a
//! `KeySet` directly: [`crate::auth`] fetches and refreshes it and provides the extractors.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

/// The only signature algorithm issued and accepted.
pub const ALGORITHM: &str = "EdDSA";
/// Clock skew tolerated on `exp`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// What an account may do. New accounts are customers; admins are made in auth's database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Admin,
}

impl Role {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "customer" => Ok(Self::Customer),
            "admin" => Ok(Self::Admin),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    /// The normalised e-mail address at issue time.
    pub email: String,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Unique id of this token.
    pub jti: Uuid,
}

/// Why a token or a key was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm is not EdDSA")]
    UnsupportedAlgorithm,
    #[error("the token's header has no key id")]
    MissingKeyId,
    #[error("no key with the token's key id")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token's claims are invalid: {0}")]
    InvalidClaims(String),
    #[error("invalid key: {0}")]
    InvalidKey(String),
}

impl From<jsonwebtoken::errors::Error> for JwtError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        match error.kind() {
            ErrorKind::InvalidSignature => Self::BadSignature,
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                Self::UnsupportedAlgorithm
            }
            ErrorKind::InvalidIssuer => Self::InvalidClaims("issuer".into()),
            ErrorKind::InvalidAudience => Self::InvalidClaims("audience".into()),
            ErrorKind::ImmatureSignature => Self::InvalidClaims("not yet valid".into()),
            ErrorKind::MissingRequiredClaim(claim) => {
                Self::InvalidClaims(format!("{claim} is missing"))
            }
            ErrorKind::InvalidClaimFormat(claim) => {
                Self::InvalidClaims(format!("{claim} is malformed"))
            }
            ErrorKind::InvalidEddsaKey | ErrorKind::InvalidKeyFormat => {
                Self::InvalidKey("not an Ed25519 key".into())
            }
            _ => Self::Malformed,
        }
    }
}

/// An Ed25519 public key that verifies access tokens.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublicKey").field(&self.kid()).finish()
    }
}

impl From<VerifyingKey> for PublicKey {
    fn from(key: VerifyingKey) -> Self {
        Self(key)
    }
}

impl PublicKey {
    /// From the 32 raw bytes of the key; rejects points that are not valid or are of small order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, JwtError> {
        let bytes: &[u8; 32] = bytes
            .try_into()
            .map_err(|_| JwtError::InvalidKey("an Ed25519 public key is 32 bytes".into()))?;
        let key = VerifyingKey::from_bytes(bytes)
            .map_err(|_| JwtError::InvalidKey("not a point on Ed25519".into()))?;
        if key.is_weak() {
            return Err(JwtError::InvalidKey("weak Ed25519 key".into()));
        }
        Ok(Self(key))
    }

    /// From a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), as `openssl pkey -pubout` writes it.
    pub fn from_pem(pem: &str) -> Result<Self, JwtError> {
        let key = VerifyingKey::from_public_key_pem(pem.trim())
            .map_err(|e| JwtError::InvalidKey(format!("not a PEM Ed25519 public key: {e}")))?;
        Self::from_bytes(key.as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The key id: the first 16 hex digits of the SHA-256 of the raw key. Stable across restarts
    /// and replicas, and computable by anyone holding the key.
    pub fn kid(&self) -> String {
        let digest = Sha256::digest(self.as_bytes());
        hex::encode(&digest[..8])
    }

    /// The key as a JWK (RFC 8037).
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            x: Some(URL_SAFE_NO_PAD.encode(self.as_bytes())),
            kid: Some(self.kid()),
            alg: Some(ALGORITHM.into()),
            key_use: Some("sig".into()),
        }
    }
}

/// One JSON Web Key. Fields other keys types need are not modelled; such keys are skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwk {
    /// Key type; `OKP` for Ed25519.
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// The raw public key, base64url without padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
}

/// A JWKS document, as served at `/.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// The public keys a service accepts, by key id, with the issuer and audience it expects. Cheap to
/// clone.
#[derive(Clone)]
pub struct KeySet {
    inner: Arc<Inner>,
}

struct Inner {
    keys: HashMap<String, DecodingKey>,
    published: Jwks,
    validation: Validation,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("kids", &self.inner.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeySet {
    /// Accepts tokens signed by any of `keys` (the first is listed first in [`KeySet::jwks`]).
    pub fn new(
        keys: impl IntoIterator<Item = PublicKey>,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, JwtError> {
        Self::build(
            keys.into_iter().map(|key| (key.kid(), key)),
            issuer,
            audience,
        )
    }

    /// Accepts tokens signed by the Ed25519 keys of a JWKS document. Keys of other types or uses
    /// are skipped; a malformed Ed25519 key, a repeated key id or no usable key at all is an error.
    pub fn from_jwks(jwks: &Jwks, issuer: &str, audience: &str) -> Result<Self, JwtError> {
        let mut keys = Vec::new();
        for jwk in &jwks.keys {
            let usable = jwk.kty == "OKP"
                && jwk.crv.as_deref() == Some("Ed25519")
                && jwk.alg.as_deref().is_none_or(|alg| alg == ALGORITHM)
                && jwk.key_use.as_deref().is_none_or(|u| u == "sig");
            if !usable {
                continue;
            }
            let kid = jwk
                .kid
                .clone()
                .ok_or_else(|| JwtError::InvalidKey("an Ed25519 JWK has no kid".into()))?;
            let x = jwk
                .x
                .as_deref()
                .ok_or_else(|| JwtError::InvalidKey(format!("JWK {kid} has no x")))?;
            let bytes = URL_SAFE_NO_PAD
                .decode(x)
                .map_err(|_| JwtError::InvalidKey(format!("JWK {kid}: x is not base64url")))?;
            keys.push((kid, PublicKey::from_bytes(&bytes)?));
        }
        Self::build(keys, issuer, audience)
    }

    /// Parses a JWKS document (the body of `/.well-known/jwks.json`).
    pub fn from_json(json: &[u8], issuer: &str, audience: &str) -> Result<Self, JwtError> {
        let jwks: Jwks = serde_json::from_slice(json)
            .map_err(|e| JwtError::InvalidKey(format!("not a JWKS document: {e}")))?;
        Self::from_jwks(&jwks, issuer, audience)
    }

    fn build(
        keys: impl IntoIterator<Item = (String, PublicKey)>,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, JwtError> {
        let mut map = HashMap::new();
        let mut published = Jwks::default();
        for (kid, key) in keys {
            if map
                .insert(kid.clone(), DecodingKey::from_ed_der(key.as_bytes()))
                .is_some()
            {
                return Err(JwtError::InvalidKey(format!("key id {kid} appears twice")));
            }
            let mut jwk = key.to_jwk();
            jwk.kid = Some(kid);
            published.keys.push(jwk);
        }
        if map.is_empty() {
            return Err(JwtError::InvalidKey("no Ed25519 signing key".into()));
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Ok(Self {
            inner: Arc::new(Inner {
                keys: map,
                published,
                validation,
            }),
        })
    }

    /// The keys as a JWKS document, in the order given.
    pub fn jwks(&self) -> &Jwks {
        &self.inner.published
    }

    /// Checks `token`: EdDSA only, a known `kid`, a valid signature, not expired, the expected
    /// issuer and audience.
    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(JwtError::UnsupportedAlgorithm);
        }
        let kid = header.kid.ok_or(JwtError::MissingKeyId)?;
        let key = self.inner.keys.get(&kid).ok_or(JwtError::UnknownKey)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.inner.validation)?;
        Ok(data.claims)
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests

    use axum::http::HeaderValue;
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    use jsonwebtoken::{EncodingKey, Header};

    use super::*;

    const ISSUER: &str = "test-issuer";
    const AUDIENCE: &str = "test-audience";

    fn key() -> SigningKey {
        SigningKey::generate(&mut rand::rngs::OsRng)
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn claims() -> Claims {
        Claims {
            sub: Uuid::new_v4(),
            email: "ada@example.com".into(),
            role: Role::Customer,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now(),
            exp: now() + 900,
            jti: Uuid::new_v4(),
        }
    }

    fn sign_as<T: Serialize>(key: &SigningKey, kid: Option<String>, claims: &T) -> String {
        let der = key.to_pkcs8_der().unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid;
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
    }

    fn sign(key: &SigningKey, claims: &Claims) -> String {
        sign_as(
            key,
            Some(PublicKey::from(key.verifying_key()).kid()),
            claims,
        )
    }

    fn set(keys: &[&SigningKey]) -> KeySet {
        KeySet::new(
            keys.iter().map(|k| PublicKey::from(k.verifying_key())),
            ISSUER,
            AUDIENCE,
        )
        .unwrap()
    }

    #[test]
    fn accepts_a_token_signed_by_a_known_key() {
        let (current, previous) = (key(), key());
        let keys = set(&[&current, &previous]);
        let claims = claims();
        assert_eq!(keys.verify(&sign(&current, &claims)).unwrap(), claims);
        assert_eq!(keys.verify(&sign(&previous, &claims)).unwrap(), claims);
    }

    #[test]
    fn rejects_bad_tokens_for_the_right_reason() {
        let signer = key();
        let keys = set(&[&signer]);
        let kid = PublicKey::from(signer.verifying_key()).kid();

        let expired = Claims {
            exp: now() - 120,
            iat: now() - 1000,
            ..claims()
        };
        assert_eq!(
            keys.verify(&sign(&signer, &expired)),
            Err(JwtError::Expired)
        );

        let other_issuer = Claims {
            iss: "evil".into(),
            ..claims()
        };
        assert!(matches!(
            keys.verify(&sign(&signer, &other_issuer)),
            Err(JwtError::InvalidClaims(_))
        ));

        let other_audience = Claims {
            aud: "elsewhere".into(),
            ..claims()
        };
        assert!(matches!(
            keys.verify(&sign(&signer, &other_audience)),
            Err(JwtError::InvalidClaims(_))
        ));

        let forged = sign_as(&key(), Some(kid.clone()), &claims());
        assert_eq!(keys.verify(&forged), Err(JwtError::BadSignature));

        let unknown = sign_as(&signer, Some("0123456789abcdef".into()), &claims());
        assert_eq!(keys.verify(&unknown), Err(JwtError::UnknownKey));

        let no_kid = sign_as(&signer, None, &claims());
        assert_eq!(keys.verify(&no_kid), Err(JwtError::MissingKeyId));

        let token = sign(&signer, &claims());
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let admin = Claims {
            role: Role::Admin,
            ..keys.verify(&token).unwrap()
        };
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&admin).unwrap());
        assert_eq!(keys.verify(&parts.join(".")), Err(JwtError::BadSignature));

        assert_eq!(keys.verify("not.a.jwt"), Err(JwtError::Malformed));
        assert_eq!(keys.verify(""), Err(JwtError::Malformed));
    }

    #[test]
    fn rejects_other_algorithms() {
        let signer = key();
        let keys = set(&[&signer]);
        let kid = PublicKey::from(signer.verifying_key()).kid();
        let encode = |header: serde_json::Value| {
            let head = URL_SAFE_NO_PAD.encode(header.to_string());
            let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
            format!("{head}.{body}.")
        };
        // `none` is not even an algorithm jsonwebtoken knows.
        assert_eq!(
            keys.verify(&encode(serde_json::json!({"alg": "none", "kid": kid}))),
            Err(JwtError::Malformed)
        );
        // HMAC keyed with the public key: the classic confusion attack.
        let hs = jsonwebtoken::encode(
            &Header {
                kid: Some(kid),
                ..Header::new(Algorithm::HS256)
            },
            &claims(),
            &EncodingKey::from_secret(signer.verifying_key().as_bytes()),
        )
        .unwrap();
        assert_eq!(keys.verify(&hs), Err(JwtError::UnsupportedAlgorithm));
    }

    #[test]
    fn jwks_round_trips_and_skips_foreign_keys() {
        let (a, b) = (key(), key());
        let published = set(&[&a, &b]).jwks().clone();
        let mut json = serde_json::to_value(&published).unwrap();
        assert_eq!(json["keys"][0]["kty"], "OKP");
        assert_eq!(json["keys"][0]["crv"], "Ed25519");
        assert_eq!(json["keys"][0]["alg"], "EdDSA");
        assert_eq!(json["keys"][0]["use"], "sig");
        assert_eq!(json["keys"][0]["kid"].as_str().unwrap().len(), 16);
        json["keys"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"}));
        let keys = KeySet::from_json(json.to_string().as_bytes(), ISSUER, AUDIENCE).unwrap();
        let claims = claims();
        assert_eq!(keys.verify(&sign(&b, &claims)).unwrap(), claims);
        assert_eq!(keys.jwks().keys.len(), 2);
    }

    #[test]
    fn rejects_malformed_key_sets_without_panicking() {
        let short = Jwks {
            keys: vec![Jwk {
                x: Some(URL_SAFE_NO_PAD.encode([1u8; 7])),
                ..PublicKey::from(key().verifying_key()).to_jwk()
            }],
        };
        assert!(matches!(
            KeySet::from_jwks(&short, ISSUER, AUDIENCE),
            Err(JwtError::InvalidKey(_))
        ));
        assert!(KeySet::from_jwks(&Jwks::default(), ISSUER, AUDIENCE).is_err());
        let k = PublicKey::from(key().verifying_key());
        assert!(KeySet::new([k, k], ISSUER, AUDIENCE).is_err());
        assert!(
            PublicKey::from_bytes(&[0u8; 32]).is_err(),
            "small-order point"
        );
    }

    #[test]
    fn kid_is_derived_from_the_key() {
        let signer = key();
        let public = PublicKey::from(signer.verifying_key());
        assert_eq!(
            public.kid(),
            PublicKey::from_bytes(public.as_bytes()).unwrap().kid()
        );
        assert_ne!(public.kid(), PublicKey::from(key().verifying_key()).kid());
        let pem = {
            use ed25519_dalek::pkcs8::EncodePublicKey as _;
            signer
                .verifying_key()
                .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                .unwrap()
        };
        assert_eq!(PublicKey::from_pem(&pem).unwrap(), public);
    }

    #[test]
    fn reads_bearer_tokens() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc.def.ghi"),
        );
        assert_eq!(bearer_token(&headers), Some("abc.def.ghi"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&headers), None);
    }
}
