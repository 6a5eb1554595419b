//! The catalog's values, parsed at the edge: once a value has one of these types it is valid, so
//! storage and events never see a negative price, an unsafe image URL or a slug with spaces.
//!
//! Each `parse` returns a message for the client on failure; handlers collect them with
//! `kit::validate::fields`, so every invalid field of a request is reported at once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Largest price of one unit, in minor units (one million in the currency).
pub const MAX_PRICE: i64 = 100_000_000;
/// Largest stock of one variant.
pub const MAX_STOCK: i32 = 1_000_000;
/// Largest inline image (a `data:` URL), in bytes.
pub const MAX_INLINE_IMAGE: usize = 96 * 1024;
/// Longest `https://` image URL, in characters.
pub const MAX_URL: usize = 2048;

/// The rules below as JSON Schema patterns, for the API document (ECMA 262 / Python `re`
/// syntax; character classes written out, so every engine reads them alike).
pub mod patterns {
    /// [`super::Slug`].
    pub const SLUG: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";
    /// [`super::Sku`].
    pub const SKU: &str = "^[A-Z0-9]([A-Z0-9-]*[A-Z0-9])?$";
    /// [`super::line`]: no control character, and something besides white space.
    pub const LINE: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$";
    /// [`super::text`]: no control character but tab and newline.
    pub const TEXT: &str = "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]*$";
    /// An image URL ([`super::Image::parse`]).
    pub const HTTPS_URL: &str = "^https://[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\"]+$";
    pub const DATA_URL: &str = "^data:image/(svg\\+xml|png|jpeg|webp);base64,[A-Za-z0-9+/=]*$";
}

/// Schema of short string pairs ([`pairs`]).
fn pairs_schema(
    max_entries: usize,
    max_value: usize,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let line = |max: usize| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(max))
            .pattern(Some(patterns::LINE))
    };
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .max_properties(Some(max_entries))
        .property_names(Some(line(PAIR_KEY)))
        .additional_properties(Some(line(max_value)))
        .into()
}

/// Longest key of a pair, in characters.
pub const PAIR_KEY: usize = 40;

/// Schema of a product's attributes.
pub fn attributes_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    pairs_schema(MAX_ATTRIBUTES, 200)
}

/// Schema of a variant's options.
pub fn options_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    pairs_schema(MAX_OPTIONS, PAIR_KEY)
}

/// Most attributes of a product.
pub const MAX_ATTRIBUTES: usize = 20;
/// Most options of a variant.
pub const MAX_OPTIONS: usize = 5;

/// A URL path segment: lowercase letters and digits in dash-separated words, 1 to 80 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let valid = (1..=80).contains(&raw.len())
            && raw.split('-').all(|word| {
                !word.is_empty()
                    && word
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(
                "must be lowercase letters and digits in dash-separated words, at most 80 characters (e.g. blue-mug)",
            )
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stock keeping unit: uppercase letters, digits and dashes, 1 to 40 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sku(String);

impl Sku {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let valid = (1..=40).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must be 1 to 40 uppercase letters, digits and dashes (e.g. MUG-BLUE-350)")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One line of text for people: at most `max` characters, no control characters, not blank;
/// kept trimmed ([`patterns::LINE`]).
pub fn line(raw: &str, max: usize) -> Result<String, String> {
    if raw.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if raw.chars().any(char::is_control) {
        return Err("must be one line without control characters".into());
    }
    let text = raw.trim();
    if text.is_empty() {
        return Err("must not be blank".into());
    }
    Ok(text.to_owned())
}

/// Free text (a description): at most `max` characters, no control characters but newlines and
/// tabs; kept trimmed ([`patterns::TEXT`]).
pub fn text(raw: &str, max: usize) -> Result<String, String> {
    if raw.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("must not contain control characters".into());
    }
    Ok(raw.trim().to_owned())
}

/// A price of one unit in minor units.
pub fn price(raw: i64) -> Result<i64, String> {
    if (0..=MAX_PRICE).contains(&raw) {
        Ok(raw)
    } else {
        Err(format!("must be between 0 and {MAX_PRICE} (minor units)"))
    }
}

/// A stock level.
pub fn stock(raw: i64) -> Result<i32, String> {
    i32::try_from(raw)
        .ok()
        .filter(|s| (0..=MAX_STOCK).contains(s))
        .ok_or_else(|| format!("must be between 0 and {MAX_STOCK}"))
}

/// Short string pairs (a variant's options such as size and colour, a product's attributes):
/// at most `max_entries`, keys of 1 to 40 and values of 1 to `max_value` characters.
pub fn pairs(
    raw: &BTreeMap<String, String>,
    max_entries: usize,
    max_value: usize,
) -> Result<BTreeMap<String, String>, String> {
    if raw.len() > max_entries {
        return Err(format!("must have at most {max_entries} entries"));
    }
    let mut out = BTreeMap::new();
    for (key, value) in raw {
        let key = line(key, PAIR_KEY).map_err(|e| format!("key {key:?} {e}"))?;
        let value = line(value, max_value).map_err(|e| format!("value of {key:?} {e}"))?;
        out.insert(key, value);
    }
    Ok(out)
}

/// A product image: where it is and what it shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Image {
    /// An `https://` URL, or an inline `data:image/svg+xml;base64,` (or png, jpeg, webp) URL of
    /// at most 96 KiB.
    #[schema(schema_with = image_url_schema)]
    pub url: String,
    /// What the image shows, for people who cannot see it.
    #[schema(
        example = "A blue ceramic mug",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub alt: String,
}

/// An image URL: `https://` (at most 2048 characters) or inline base64 (at most 96 KiB).
fn image_url_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
    let url = |pattern: &str, max: usize| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern))
            .max_length(Some(max))
    };
    AnyOfBuilder::new()
        .item(url(patterns::HTTPS_URL, MAX_URL))
        .item(url(patterns::DATA_URL, MAX_INLINE_IMAGE))
        .examples([serde_json::json!("https://images.example.com/blue-mug.png")])
        .into()
}

impl Image {
    pub fn parse(raw: &Image) -> Result<Self, String> {
        let url = raw.url.as_str();
        let inline = ["svg+xml", "png", "jpeg", "webp"]
            .iter()
            .any(|kind| url.starts_with(&format!("data:image/{kind};base64,")));
        if inline {
            if url.len() > MAX_INLINE_IMAGE {
                return Err(format!(
                    "an inline image must be at most {} KiB",
                    MAX_INLINE_IMAGE / 1024
                ));
            }
            let (_, data) = url.split_once(',').unwrap_or_default();
            if !data
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            {
                return Err("an inline image must be base64".into());
            }
        } else if !url.starts_with("https://")
            || url.len() == "https://".len()
            || url.chars().count() > MAX_URL
            || url.contains(|c: char| c.is_whitespace() || c.is_control() || c == '"')
        {
            return Err("url must be an https:// URL or a base64 data:image URL".into());
        }
        let alt = line(&raw.alt, 200).map_err(|e| format!("alt {e}"))?;
        Ok(Self {
            url: url.to_owned(),
            alt,
        })
    }
}

/// The words of `text` search knows: lowercase runs of letters and digits, two characters or more.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_skus() {
        assert!(Slug::parse("blue-mug-350").is_ok());
        for bad in ["", "Blue", "a--b", "-a", "a b", "a_b", &"a".repeat(81)] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Sku::parse("MUG-BLUE-350").is_ok());
        for bad in ["", "mug", "MUG-", "MUG BLUE"] {
            assert!(Sku::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn images_are_https_or_inline_base64() {
        let image = |url: &str| Image {
            url: url.into(),
            alt: "a mug".into(),
        };
        assert!(Image::parse(&image("https://cdn.example.com/a.png")).is_ok());
        assert!(Image::parse(&image("data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=")).is_ok());
        for bad in [
            "http://cdn.example.com/a.png",
            "javascript:alert(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "data:image/svg+xml;utf8,<svg onload=alert(1)>",
        ] {
            assert!(Image::parse(&image(bad)).is_err(), "{bad}");
        }
        let no_alt = Image {
            url: "https://cdn.example.com/a.png".into(),
            alt: " ".into(),
        };
        assert!(Image::parse(&no_alt).is_err());
    }

    #[test]
    fn amounts_are_bounded() {
        assert!(price(-1).is_err());
        assert!(price(MAX_PRICE + 1).is_err());
        assert_eq!(stock(5), Ok(5));
        assert!(stock(-1).is_err());
        assert!(stock(i64::from(i32::MAX) + 1).is_err());
    }

    #[test]
    fn words_for_search() {
        assert_eq!(words("Blue Mug (350 ml) — a"), ["blue", "mug", "350", "ml"]);
    }
}
