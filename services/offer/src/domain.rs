//! Coupon rules, pure: codes parsed at the edge, an admin's coupon checked field by field, the
//! discount of a subtotal, and why a coupon does not apply (each a reason a shopper can act on).

use chrono::{DateTime, Utc};
use kit::money::Currency;
use kit::validate::{Invalid, fields};

use crate::model::{Coupon, CouponInput, DiscountKind};

/// Largest subtotal or amount, minor units (a million in a two-decimal currency).
pub const MAX_AMOUNT: i64 = 100_000_000;

/// A coupon code: 3 to 32 letters, digits or dashes, upper-cased (codes are case-insensitive).
pub fn code(raw: &str) -> Result<String, String> {
    let code = raw.trim().to_ascii_uppercase();
    let valid = (3..=32).contains(&code.len())
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !code.starts_with('-');
    if valid {
        Ok(code)
    } else {
        Err("must be 3 to 32 letters, digits or dashes".to_owned())
    }
}

/// An amount of minor units between 0 and [`MAX_AMOUNT`].
pub fn amount(value: i64) -> Result<i64, String> {
    if (0..=MAX_AMOUNT).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be between 0 and {MAX_AMOUNT}"))
    }
}

/// An admin's coupon, every field checked at once; the code upper-cased.
pub fn coupon(input: &CouponInput) -> Result<CouponInput, Invalid> {
    let value = match input.kind {
        DiscountKind::Percent if (1..=100).contains(&input.value) => Ok(input.value),
        DiscountKind::Percent => Err("a percentage must be between 1 and 100".to_owned()),
        DiscountKind::Fixed if (1..=MAX_AMOUNT).contains(&input.value) => Ok(input.value),
        DiscountKind::Fixed => Err(format!("must be between 1 and {MAX_AMOUNT}")),
    };
    let window = match (input.starts_at, input.ends_at) {
        (Some(start), Some(end)) if end <= start => Err("must be after starts_at".to_owned()),
        _ => Ok(input.ends_at),
    };
    let limit = |n: Option<i32>| match n {
        Some(n) if !(1..=1_000_000).contains(&n) => Err("must be between 1 and 1000000".to_owned()),
        other => Ok(other),
    };
    let description = if input.description.chars().count() > 500 {
        Err("must be at most 500 characters".to_owned())
    } else {
        Ok(input.description.trim().to_owned())
    };
    let (code, description, value, currency, min_spend, ends_at, max_uses, max_uses_per_user) =
        fields((
            ("code", code(&input.code)),
            ("description", description),
            ("value", value),
            ("currency", input.currency.parse::<Currency>()),
            ("min_spend", amount(input.min_spend)),
            ("ends_at", window),
            ("max_uses", limit(input.max_uses)),
            ("max_uses_per_user", limit(input.max_uses_per_user)),
        ))?;
    Ok(CouponInput {
        code,
        description,
        kind: input.kind,
        value,
        currency: currency.code().to_owned(),
        min_spend,
        starts_at: input.starts_at,
        ends_at,
        max_uses,
        max_uses_per_user,
    })
}

/// Why a coupon does not apply to a subtotal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("There is no coupon with this code.")]
    Unknown,
    #[error("This coupon is no longer offered.")]
    Inactive,
    #[error("This coupon is not valid yet: it starts on {0}.")]
    NotStarted(DateTime<Utc>),
    #[error("This coupon expired on {0}.")]
    Expired(DateTime<Utc>),
    #[error("This coupon has been used as often as it can be.")]
    UsedUp,
    #[error("You have already used this coupon as often as you can.")]
    LimitReached,
    #[error("This coupon needs a subtotal of at least {0}.")]
    BelowMinimum(String),
    #[error("This coupon applies to {0} orders only.")]
    Currency(String),
}

impl Refusal {
    /// The problem type a client can branch on.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unknown => "coupon-unknown",
            Self::Inactive => "coupon-inactive",
            Self::NotStarted(_) => "coupon-not-started",
            Self::Expired(_) => "coupon-expired",
            Self::UsedUp => "coupon-used-up",
            Self::LimitReached => "coupon-limit-reached",
            Self::BelowMinimum(_) => "coupon-below-minimum",
            Self::Currency(_) => "coupon-currency",
        }
    }
}

/// The discount `coupon` gives `subtotal` at `now`, given the shopper's held redemptions of it
/// (`None`: no shopper known, the per-user limit is checked at redemption).
pub fn discount(
    coupon: &Coupon,
    subtotal: i64,
    currency: Currency,
    now: DateTime<Utc>,
    user_uses: Option<i64>,
) -> Result<i64, Refusal> {
    if !coupon.active {
        return Err(Refusal::Inactive);
    }
    if let Some(start) = coupon.starts_at.filter(|start| now < *start) {
        return Err(Refusal::NotStarted(start));
    }
    if let Some(end) = coupon.ends_at.filter(|end| now >= *end) {
        return Err(Refusal::Expired(end));
    }
    if coupon.max_uses.is_some_and(|max| coupon.uses >= max) {
        return Err(Refusal::UsedUp);
    }
    if let (Some(max), Some(used)) = (coupon.max_uses_per_user, user_uses)
        && used >= i64::from(max)
    {
        return Err(Refusal::LimitReached);
    }
    let coupon_currency: Currency = coupon
        .currency
        .parse()
        .map_err(|_| Refusal::Currency(coupon.currency.clone()))?;
    if coupon_currency != currency {
        return Err(Refusal::Currency(coupon.currency.clone()));
    }
    if subtotal < coupon.min_spend {
        let minimum = kit::money::Money::new(coupon.min_spend, coupon_currency);
        return Err(Refusal::BelowMinimum(minimum.display()));
    }
    Ok(match coupon.kind {
        // Rounded down: never more than the percentage.
        DiscountKind::Percent => subtotal * coupon.value / 100,
        DiscountKind::Fixed => coupon.value.min(subtotal),
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::model::CouponId;

    fn coupon(kind: DiscountKind, value: i64) -> Coupon {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        Coupon {
            id: CouponId::new(),
            code: "TEN".into(),
            description: String::new(),
            kind,
            value,
            currency: "USD".into(),
            min_spend: 0,
            starts_at: None,
            ends_at: None,
            max_uses: None,
            max_uses_per_user: None,
            uses: 0,
            active: true,
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn percentages_round_down_and_fixed_amounts_stop_at_the_subtotal() {
        let usd = Currency::USD;
        let ten = coupon(DiscountKind::Percent, 10);
        assert_eq!(discount(&ten, 4599, usd, now(), None), Ok(459));
        let five = coupon(DiscountKind::Fixed, 500);
        assert_eq!(discount(&five, 4599, usd, now(), None), Ok(500));
        assert_eq!(discount(&five, 300, usd, now(), None), Ok(300));
        let all = coupon(DiscountKind::Percent, 100);
        assert_eq!(discount(&all, 4599, usd, now(), None), Ok(4599));
    }

    #[test]
    fn each_rule_refuses_with_its_own_reason() {
        let usd = Currency::USD;
        let base = coupon(DiscountKind::Percent, 10);
        let refused =
            |c: Coupon, subtotal, uses| discount(&c, subtotal, usd, now(), uses).unwrap_err();
        assert_eq!(
            refused(
                Coupon {
                    active: false,
                    ..base.clone()
                },
                100,
                None
            )
            .kind(),
            "coupon-inactive"
        );
        let later = now() + chrono::Duration::days(1);
        assert_eq!(
            refused(
                Coupon {
                    starts_at: Some(later),
                    ..base.clone()
                },
                100,
                None
            )
            .kind(),
            "coupon-not-started"
        );
        let earlier = now() - chrono::Duration::days(1);
        assert_eq!(
            refused(
                Coupon {
                    ends_at: Some(earlier),
                    ..base.clone()
                },
                100,
                None
            )
            .kind(),
            "coupon-expired"
        );
        assert_eq!(
            refused(
                Coupon {
                    max_uses: Some(3),
                    uses: 3,
                    ..base.clone()
                },
                100,
                None
            )
            .kind(),
            "coupon-used-up"
        );
        assert_eq!(
            refused(
                Coupon {
                    max_uses_per_user: Some(1),
                    ..base.clone()
                },
                100,
                Some(1)
            )
            .kind(),
            "coupon-limit-reached"
        );
        let minimum = refused(
            Coupon {
                min_spend: 5000,
                ..base.clone()
            },
            4999,
            None,
        );
        assert_eq!(minimum, Refusal::BelowMinimum("$50.00".into()));
        assert_eq!(
            minimum.to_string(),
            "This coupon needs a subtotal of at least $50.00."
        );
        let eur = discount(&base, 100, Currency::EUR, now(), None).unwrap_err();
        assert_eq!(eur.kind(), "coupon-currency");
        // The end is exclusive; the start inclusive.
        assert!(
            discount(
                &Coupon {
                    starts_at: Some(now()),
                    ..base.clone()
                },
                100,
                usd,
                now(),
                None
            )
            .is_ok()
        );
        assert!(
            discount(
                &Coupon {
                    ends_at: Some(now()),
                    ..base
                },
                100,
                usd,
                now(),
                None
            )
            .is_err()
        );
    }

    #[test]
    fn codes_are_case_insensitive_and_checked() {
        assert_eq!(code(" welcome-10 "), Ok("WELCOME-10".to_owned()));
        for bad in ["", "AB", "-ABC", "A B C", "ÄBC", &"A".repeat(33)] {
            assert!(code(bad).is_err(), "{bad:?}");
        }
    }
}
