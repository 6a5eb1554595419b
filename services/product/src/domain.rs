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

/// One line of text for people: trimmed, 1 to `max` characters, no control characters.
pub fn line(raw: &str, max: usize) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("must not be blank".into());
    }
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("must be one line without control characters".into());
    }
    Ok(text.to_owned())
}

/// Free text (a description): at most `max` characters, newlines allowed.
pub fn text(raw: &str, max: usize) -> Result<String, String> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("must not contain control characters".into());
    }
    Ok(text.to_owned())
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
        let key = line(key, 40).map_err(|e| format!("key {key:?} {e}"))?;
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
    #[schema(example = "https://images.example.com/blue-mug.png")]
    pub url: String,
    /// What the image shows, for people who cannot see it.
    #[schema(example = "A blue ceramic mug")]
    pub alt: String,
}

impl Image {
    pub fn parse(raw: &Image) -> Result<Self, String> {
        let url = raw.url.trim();
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
            || url.len() > 2048
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
