//! A postal address as the shop takes it (shipping, a profile's saved addresses), checked at the
//! edge: required lines present, lengths bounded, no control characters, an ISO 3166-1 alpha-2
//! country. The OpenAPI schema says the same (lengths, and patterns: no control character, and
//! something other than spaces in a required line).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::problem::FieldError;

/// Where something ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    #[schema(
        example = "Ada Lovelace",
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: String,
    #[schema(
        example = "12 Analytical Row",
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub line1: String,
    #[serde(default)]
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub line2: String,
    #[schema(
        example = "London",
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub city: String,
    #[schema(
        example = "NW1 6XE",
        max_length = 20,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    #[schema(example = "GB", pattern = "^[A-Z]{2}$")]
    pub country: String,
}

impl Address {
    /// What is wrong with it, each field named under `prefix` (e.g. `shipping_address.city`).
    pub fn problems(&self, prefix: &str) -> Vec<FieldError> {
        let mut problems = Vec::new();
        let mut text = |field: &str, value: &str, required: bool, max: usize| {
            let message = if required && value.trim().is_empty() {
                "is required".to_owned()
            } else if value.chars().count() > max || value.chars().any(char::is_control) {
                format!("must be at most {max} printable characters")
            } else {
                return;
            };
            problems.push(FieldError {
                field: format!("{prefix}.{field}"),
                message,
            });
        };
        text("name", &self.name, true, 100);
        text("line1", &self.line1, true, 200);
        text("line2", &self.line2, false, 200);
        text("city", &self.city, true, 100);
        text("postal_code", &self.postal_code, true, 20);
        if !(self.country.len() == 2 && self.country.chars().all(|c| c.is_ascii_uppercase())) {
            problems.push(FieldError {
                field: format!("{prefix}.country"),
                message: "must be an ISO 3166-1 alpha-2 code, e.g. GB".to_owned(),
            });
        }
        problems
    }

    /// The address with its lines trimmed.
    pub fn trimmed(&self) -> Self {
        Self {
            name: self.name.trim().to_owned(),
            line1: self.line1.trim().to_owned(),
            line2: self.line2.trim().to_owned(),
            city: self.city.trim().to_owned(),
            postal_code: self.postal_code.trim().to_owned(),
            country: self.country.trim().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_line_is_named() {
        let address = Address {
            name: " ".into(),
            line1: "x".repeat(201),
            line2: "a\u{7}".into(),
            city: "London".into(),
            postal_code: "NW1".into(),
            country: "gb".into(),
        };
        let fields: Vec<String> = address.problems("a").into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["a.name", "a.line1", "a.line2", "a.country"]);
    }
}
