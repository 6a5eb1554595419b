//! Money: an amount in integer minor units (cents) and an ISO 4217 currency. Never a float.
//!
//! Arithmetic is checked (an overflow is an error, not a wrapped total) and only between equal
//! currencies. [`Money::display`] formats for people, e.g. `$12.50`, `€9.99`, `¥1200`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An ISO 4217 currency code this platform prices in, with its minor-unit exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

/// Documented as the codes it accepts.
impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(KNOWN.iter().map(|(code, _, _)| *code)))
            .description(Some("ISO 4217 code of a currency the platform prices in"))
            .examples(["USD"])
            .into()
    }
}

impl ToSchema for Currency {}

/// The currencies the platform knows: code, minor-unit exponent, symbol.
const KNOWN: &[(&str, u32, &str)] = &[
    ("USD", 2, "$"),
    ("EUR", 2, "€"),
    ("GBP", 2, "£"),
    ("CHF", 2, "CHF "),
    ("CAD", 2, "CA$"),
    ("AUD", 2, "A$"),
    ("SEK", 2, "SEK "),
    ("JPY", 0, "¥"),
];

impl Currency {
    pub const USD: Self = Self(*b"USD");
    pub const EUR: Self = Self(*b"EUR");

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    fn entry(&self) -> (&'static str, u32, &'static str) {
        KNOWN
            .iter()
            .copied()
            .find(|(code, _, _)| code.as_bytes() == self.0)
            .unwrap_or(("XXX", 2, ""))
    }

    /// Digits after the decimal point (2 for USD, 0 for JPY).
    pub fn exponent(&self) -> u32 {
        self.entry().1
    }
}

impl FromStr for Currency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KNOWN
            .iter()
            .find(|(code, _, _)| *code == s)
            .map(|(code, _, _)| {
                let b = code.as_bytes();
                Self([b[0], b[1], b[2]])
            })
            .ok_or_else(|| {
                let codes: Vec<&str> = KNOWN.iter().map(|(c, _, _)| *c).collect();
                format!("{s:?} is not a supported currency ({})", codes.join(", "))
            })
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.code().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount of money: minor units and currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Money {
    /// Integer minor units, e.g. 1250 for $12.50.
    #[schema(example = 1250)]
    pub amount: i64,
    pub currency: Currency,
}

/// Arithmetic that would mix currencies or overflow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("cannot combine {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    Overflow,
}

impl Money {
    pub const fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub const fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    pub fn checked_add(self, other: Self) -> Result<Self, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        self.amount
            .checked_add(other.amount)
            .map(|amount| Self::new(amount, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_mul(self, factor: i64) -> Result<Self, MoneyError> {
        self.amount
            .checked_mul(factor)
            .map(|amount| Self::new(amount, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// For people: the currency's symbol and the amount with its decimals, e.g. `$12.50`.
    pub fn display(&self) -> String {
        let (_, exponent, symbol) = self.currency.entry();
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        if exponent == 0 {
            return format!("{sign}{symbol}{abs}");
        }
        let unit = 10u64.pow(exponent);
        format!(
            "{sign}{symbol}{}.{:0width$}",
            abs / unit,
            abs % unit,
            width = exponent as usize
        )
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_for_people() {
        assert_eq!(Money::new(1250, Currency::USD).display(), "$12.50");
        assert_eq!(Money::new(5, Currency::EUR).display(), "€0.05");
        assert_eq!(Money::new(-1999, Currency::USD).display(), "-$19.99");
        assert_eq!(Money::new(1200, "JPY".parse().unwrap()).display(), "¥1200");
    }

    #[test]
    fn refuses_mixed_currencies_and_overflow() {
        let usd = Money::new(100, Currency::USD);
        assert_eq!(usd.checked_add(usd).unwrap().amount, 200);
        assert!(matches!(
            usd.checked_add(Money::new(1, Currency::EUR)),
            Err(MoneyError::CurrencyMismatch(..))
        ));
        assert_eq!(
            Money::new(i64::MAX, Currency::USD).checked_mul(2),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn currencies_parse_strictly() {
        assert_eq!("USD".parse::<Currency>().unwrap(), Currency::USD);
        assert!("usd".parse::<Currency>().is_err());
        assert!(serde_json::from_str::<Currency>("\"XYZ\"").is_err());
        assert_eq!(serde_json::to_string(&Currency::EUR).unwrap(), "\"EUR\"");
    }
}
