//! A new password that meets the policy: 12 to 128 characters, not one character repeated, not a
//! well-known password, not the account's own e-mail address.
//!
//! The policy follows NIST SP 800-63B: length over composition rules, and a block list instead of
//! "one digit, one symbol". It applies when a password is chosen (sign-up), never at sign-in, so
//! tightening it later does not lock anybody out. The value stays a [`SecretString`] throughout.

use secrecy::{ExposeSecret, SecretString};

use super::Email;

/// Fewest characters (Unicode scalar values) a password may have.
pub const MIN_CHARS: usize = 12;
/// Most characters a password may have; longer ones are refused before hashing.
pub const MAX_CHARS: usize = 128;

/// A few passwords at least 12 characters long that top every breach list. A real deployment
/// would check a larger list (or the k-anonymity range API of Have I Been Pwned).
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "1q2w3e4r5t6y",
    "abc123456789",
    "abcdefghijkl",
    "administrator",
    "baseball1234",
    "changeme1234",
    "correcthorsebatterystaple",
    "football1234",
    "iloveyou1234",
    "letmein12345",
    "password1234",
    "password12345",
    "passwordpassword",
    "qwerty123456",
    "qwertyuiop12",
    "qwertyuiopasdf",
    "sunshine1234",
    "trustno1trustno1",
    "welcome12345",
];

/// A password that meets the policy; ready to hash.
#[derive(Debug)]
pub struct NewPassword(SecretString);

impl NewPassword {
    /// Checks `raw` against the policy for the account `email`; the error is a message for the
    /// client (it never repeats the password).
    pub fn parse(raw: SecretString, email: Option<&Email>) -> Result<Self, &'static str> {
        let text = raw.expose_secret();
        let chars = text.chars().count();
        if chars < MIN_CHARS {
            return Err("must be at least 12 characters long");
        }
        if chars > MAX_CHARS {
            return Err("must be at most 128 characters long");
        }
        let mut distinct = text.chars();
        let first = distinct.next();
        if distinct.all(|c| Some(c) == first) {
            return Err("must not be a single character repeated");
        }
        let lower = text.to_lowercase();
        if COMMON.contains(&lower.as_str()) {
            return Err("is too common; choose a less predictable password");
        }
        if email.is_some_and(|email| lower.trim() == email.as_str()) {
            return Err("must not be the e-mail address");
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The policy as JSON Schema, so the API document states every rule [`NewPassword::parse`]
    /// applies (save "not the e-mail address", which no schema of one field can say): 12 to 128
    /// characters, not one character repeated, none of the common passwords in any case.
    pub fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
        let any_case = |word: &str| -> String {
            word.chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
                    } else {
                        regex_escape(c)
                    }
                })
                .collect()
        };
        let common = COMMON
            .iter()
            .map(|w| any_case(w))
            .collect::<Vec<_>>()
            .join("|");
        let mut schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("password".into())))
            .min_length(Some(MIN_CHARS))
            .max_length(Some(MAX_CHARS))
            .description(Some(
                "12 to 128 characters; not one character repeated, not a common password, not the e-mail address",
            ))
            .build();
        // utoipa's model has no `not`; its extensions are written into the schema object as is.
        schema
            .extensions
            .get_or_insert_with(Default::default)
            .insert(
                "not".to_owned(),
                serde_json::json!({"anyOf": [
                    {"pattern": "^(.)\\1*$"},
                    {"pattern": format!("^(?:{common})$")},
                ]}),
            );
        schema.into()
    }
}

fn regex_escape(c: char) -> String {
    if "\\.^$|?*+()[]{}".contains(c) {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str) -> Result<(), &'static str> {
        let email = Email::parse("ada@example.com").ok();
        NewPassword::parse(password.to_owned().into(), email.as_ref()).map(|_| ())
    }

    #[test]
    fn accepts_long_unusual_passwords() {
        assert_eq!(check("correct horse battery"), Ok(()));
        assert_eq!(check("ünïcødé-pässwörd"), Ok(()));
        assert_eq!(check(&"ab".repeat(64)), Ok(()));
    }

    #[test]
    fn refuses_weak_passwords() {
        assert!(check("short").is_err());
        assert!(check("elevenchars").is_err());
        assert!(
            check(&"ab".repeat(64).replace("ab", "abc")).is_err(),
            "too long"
        );
        assert!(check("aaaaaaaaaaaaaaaa").is_err());
        assert!(check("Password1234").is_err(), "common, any case");
        assert!(check("ADA@example.com").is_err(), "the e-mail address");
    }

    #[test]
    fn counts_characters_not_bytes() {
        // 12 characters, 24 bytes.
        assert_eq!(check("ääääääääääab"), Ok(()));
        assert!(check("äääääääääab").is_err());
    }
}
