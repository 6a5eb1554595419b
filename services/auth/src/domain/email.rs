//! A normalised e-mail address: trimmed, lowercased, and valid per `email_address` with a dotted
//! domain and neither display names nor IP-literal domains.
//!
//! Accounts are looked up by this form, so `Ada@Example.com ` and `ada@example.com` are the same
//! account (the database also refuses anything not already lowercase).

use std::fmt;

use email_address::{EmailAddress, Options};

/// Longest address accepted (RFC 5321's path limit minus the angle brackets).
pub const MAX_LEN: usize = 254;

/// A valid, normalised e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Trims, lowercases and validates `raw`; the error is a message for the client.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let normalised = raw.trim().to_lowercase();
        if normalised.is_empty() {
            return Err("must not be empty");
        }
        if normalised.len() > MAX_LEN {
            return Err("must be at most 254 characters");
        }
        let options = Options::default()
            .with_required_tld()
            .without_display_text()
            .without_domain_literal();
        EmailAddress::parse_with_options(&normalised, options)
            .map_err(|_| "must be an e-mail address such as name@example.com")?;
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            Email::parse("  Ada.Lovelace@Example.COM ").map(|e| e.0),
            Ok("ada.lovelace@example.com".to_owned())
        );
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "Ada <ada@example.com>",
            "ada@[127.0.0.1]",
            "ada lovelace@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }
}
