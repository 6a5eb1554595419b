//! Signed webhooks: a body signed with a shared secret (HMAC-SHA256) and a timestamp, so a
//! forged body and an old one replayed are both refused.
//!
//! The scheme is Stripe's, which most processors and partner networks copy: the sender sends
//! `Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` (several `v1` may
//! appear while a secret is rolled); the receiver recomputes the MAC over the body exactly as
//! received, compares in constant time, and refuses a timestamp more than a tolerance away from
//! its clock ([`TOLERANCE`] by default). Within the window a replay is possible, so what a
//! webhook triggers must be idempotent anyway (events carry ids).

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// How far a signature's timestamp may be from now: Stripe's default, five minutes.
pub const TOLERANCE: i64 = 300;

/// Why a signature was refused (for the log; the sender is only told "invalid signature").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no signature header")]
    Missing,
    #[error("the signature header is not `t=<unix seconds>,v1=<hex>`")]
    Malformed,
    #[error("the signature's timestamp is {0} s from now, over the tolerance")]
    Stale(i64),
    #[error("no signature matches the body")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value signing `body` at `timestamp` (what a sender, or a test, sends).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Checks `header` (the signature header's value, if sent) against `body` at `now` (unix
/// seconds), allowing `tolerance` seconds of age or clock skew.
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => {
                timestamp = Some(t.parse::<i64>().map_err(|_| SignatureError::Malformed)?)
            }
            Some(("v1", tag)) => {
                candidates.push(hex::decode(tag).map_err(|_| SignatureError::Malformed)?)
            }
            Some(_) => {} // other schemes (Stripe's test-only v0) are not trusted
            None => return Err(SignatureError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let skew = now.saturating_sub(timestamp);
    if skew.abs() > tolerance {
        return Err(SignatureError::Stale(skew));
    }
    let expected = mac(secret, timestamp, body);
    candidates
        .iter()
        .any(|tag| expected.clone().verify_slice(tag).is_ok())
        .then_some(())
        .ok_or(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;

    #[test]
    fn a_signed_body_passes_within_the_window() {
        let header = sign(SECRET, 1_000, BODY);
        assert_eq!(
            verify(SECRET, Some(&header), BODY, 1_000, TOLERANCE),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, Some(&header), BODY, 1_299, TOLERANCE),
            Ok(())
        );
        // A rolled secret: the sender signs with both, either matches.
        let other = sign(b"whsec_old", 1_000, BODY);
        let both = format!("{other},{}", header.split_once(',').unwrap().1);
        assert_eq!(verify(SECRET, Some(&both), BODY, 1_000, TOLERANCE), Ok(()));
    }

    #[test]
    fn forged_replayed_and_garbled_signatures_are_refused() {
        let header = sign(SECRET, 1_000, BODY);
        let tampered = br#"{"id":"evt_1","type":"checkout.session.expired"}"#;
        assert_eq!(
            verify(SECRET, Some(&header), tampered, 1_000, TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"whsec_other", Some(&header), BODY, 1_000, TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some(&header), BODY, 1_301, TOLERANCE),
            Err(SignatureError::Stale(301))
        );
        assert_eq!(
            verify(SECRET, Some(&header), BODY, 699, TOLERANCE),
            Err(SignatureError::Stale(-301))
        );
        assert_eq!(
            verify(SECRET, None, BODY, 1_000, TOLERANCE),
            Err(SignatureError::Missing)
        );
        for garbled in [
            "",
            "t=1000",
            "v1=00",
            "t=x,v1=00",
            "t=1000,v1=zz",
            "nonsense",
        ] {
            assert_eq!(
                verify(SECRET, Some(garbled), BODY, 1_000, TOLERANCE),
                Err(SignatureError::Malformed),
                "{garbled:?}"
            );
        }
        // Stripe's v0 (test-mode) scheme alone is not enough.
        let v0 = header.replace("v1=", "v0=");
        assert_eq!(
            verify(SECRET, Some(&v0), BODY, 1_000, TOLERANCE),
            Err(SignatureError::Malformed)
        );
    }
}
