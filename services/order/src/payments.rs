//! Payments behind one interface, shaped after Stripe's PaymentIntents with manual capture: a
//! checkout *authorizes* the total, shipping *captures* it, a cancellation *voids* it. Every call
//! carries the caller's idempotency key (one per order and step), so a retried call never
//! charges twice.
//!
//! [`LocalProvider`] behaves like a processor's test mode, with its ledger in order's database
//! (`local_payments`), so a restart keeps what was authorized. Test cards:
//!
//! | card number | outcome |
//! |---|---|
//! | `4242 4242 4242 4242` (and any other valid number) | authorized |
//! | `4000 0000 0000 0002` | declined |
//! | `4000 0000 0000 9995` | declined: insufficient funds |
//! | `4000 0000 0000 0119` | the processor times out (after authorizing: the caller must void) |
//!
//! The secret `payment-provider-key` chooses the provider: a key starting with `local-` is the
//! local provider (what `cargo xtask up` and the tests use). A live processor needs its own
//! implementation of [`PaymentProvider`]; none is built in yet, so any other key is refused at
//! start, not silently run in test mode. It should not take the card number the way the test
//! form does: a server that sees card numbers is in PCI DSS scope. With a storefront that runs
//! no JavaScript, the live shape is the processor's hosted payment page (Stripe Checkout with
//! `capture_method=manual`) and its HMAC-signed webhook confirming the authorization, with
//! [`PaymentProvider`]'s capture and void unchanged.

use anyhow::Context as _;
use sqlx::PgPool;

/// The card a shopper pays with. Only its last four digits are ever stored or logged.
#[derive(Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct Card {
    /// 12 to 19 digits, spaces allowed (test cards above).
    #[schema(example = "4242 4242 4242 4242")]
    pub number: String,
    /// `MM/YY`, not in the past.
    #[schema(example = "12/30")]
    pub expiry: String,
    /// 3 or 4 digits.
    #[schema(example = "123")]
    pub cvc: String,
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Card(…{})", self.last4())
    }
}

impl Card {
    pub fn digits(&self) -> String {
        self.number.chars().filter(char::is_ascii_digit).collect()
    }

    pub fn last4(&self) -> String {
        let digits = self.digits();
        digits[digits.len().saturating_sub(4)..].to_owned()
    }

    /// What is wrong with the card, field by field (number by the Luhn check).
    pub fn problems(&self, today: chrono::NaiveDate) -> Vec<(&'static str, String)> {
        use chrono::Datelike as _;
        let mut problems = Vec::new();
        let digits = self.digits();
        let only_digits = self.number.chars().all(|c| c.is_ascii_digit() || c == ' ');
        if !only_digits || !(12..=19).contains(&digits.len()) || !luhn(&digits) {
            problems.push(("payment.number", "is not a card number".to_owned()));
        }
        let expiry = self.expiry.split_once('/').and_then(|(m, y)| {
            let month: u32 = m.trim().parse().ok()?;
            let year: i32 = y.trim().parse().ok()?;
            ((1..=12).contains(&month) && (0..100).contains(&year)).then_some((2000 + year, month))
        });
        match expiry {
            None => problems.push(("payment.expiry", "must be MM/YY".to_owned())),
            Some((year, month)) if (year, month) < (today.year(), today.month()) => {
                problems.push(("payment.expiry", "is in the past".to_owned()));
            }
            Some(_) => {}
        }
        if !(3..=4).contains(&self.cvc.len()) || !self.cvc.chars().all(|c| c.is_ascii_digit()) {
            problems.push(("payment.cvc", "must be 3 or 4 digits".to_owned()));
        }
        problems
    }
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| match (i % 2, d * 2) {
            (0, _) => d,
            (_, doubled) if doubled > 9 => doubled - 9,
            (_, doubled) => doubled,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// What an authorization came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// The amount is held on the card: capture or void it with this id.
    Approved { payment_id: String },
    /// The card was refused; the reason is for the shopper.
    Declined { reason: String },
}

/// A failure of the provider itself: the outcome is unknown, so the caller voids.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("the payment provider did not answer in time")]
    Timeout,
    #[error("the payment provider failed")]
    Failed(#[from] anyhow::Error),
}

/// A card processor, as order uses it.
pub trait PaymentProvider: Send + Sync {
    /// Holds `amount` on the card. Idempotent per `key`: the same key answers the same outcome.
    fn authorize(
        &self,
        key: &str,
        amount: i64,
        currency: &str,
        card: &Card,
    ) -> impl Future<Output = Result<Authorization, PaymentError>> + Send;
    /// Takes what the authorization under `key` held (idempotent).
    fn capture(&self, key: &str) -> impl Future<Output = Result<(), PaymentError>> + Send;
    /// Releases the authorization under `key`, if there is one (idempotent).
    fn void(&self, key: &str) -> impl Future<Output = Result<(), PaymentError>> + Send;
}

/// The provider the secret `payment-provider-key` chose.
#[derive(Clone, Debug)]
pub enum Provider {
    Local(LocalProvider),
}

impl Provider {
    /// The provider for `key`: `local-…` is the local test-mode provider; no live one is built
    /// in, so any other key is an error (said once, at start).
    pub fn for_key(key: &str, db: PgPool) -> anyhow::Result<Self> {
        if key.starts_with("local-") {
            return Ok(Self::Local(LocalProvider::new(db)));
        }
        anyhow::bail!(
            "PAYMENT_PROVIDER_KEY is not a key of a provider this build has: only the local \
             test-mode provider (keys starting with `local-`) is built in"
        )
    }
}

impl PaymentProvider for Provider {
    async fn authorize(
        &self,
        key: &str,
        amount: i64,
        currency: &str,
        card: &Card,
    ) -> Result<Authorization, PaymentError> {
        match self {
            Self::Local(local) => local.authorize(key, amount, currency, card).await,
        }
    }

    async fn capture(&self, key: &str) -> Result<(), PaymentError> {
        match self {
            Self::Local(local) => local.capture(key).await,
        }
    }

    async fn void(&self, key: &str) -> Result<(), PaymentError> {
        match self {
            Self::Local(local) => local.void(key).await,
        }
    }
}

/// The test-mode processor, its ledger in order's database.
#[derive(Clone, Debug)]
pub struct LocalProvider {
    db: PgPool,
}

/// Test card numbers.
pub const DECLINED: &str = "4000000000000002";
pub const INSUFFICIENT_FUNDS: &str = "4000000000009995";
pub const TIMES_OUT: &str = "4000000000000119";

impl LocalProvider {
    pub fn new(db: PgPool) -> Self {
        Self { db }
    }
}

impl PaymentProvider for LocalProvider {
    async fn authorize(
        &self,
        key: &str,
        amount: i64,
        currency: &str,
        card: &Card,
    ) -> Result<Authorization, PaymentError> {
        let digits = card.digits();
        let state = match digits.as_str() {
            DECLINED | INSUFFICIENT_FUNDS => "declined",
            _ => "authorized",
        };
        let id = format!("pay_local_{}", uuid::Uuid::now_v7().simple());
        // The first call under a key decides; a retry reads what it decided.
        sqlx::query(include_str!("sql/local_authorize.sql"))
            .bind(key)
            .bind(&id)
            .bind(amount)
            .bind(currency)
            .bind(card.last4())
            .bind(state)
            .execute(&self.db)
            .await
            .context("cannot record the authorization")?;
        let (id, state): (String, String) = sqlx::query_as(include_str!("sql/local_payment.sql"))
            .bind(key)
            .fetch_one(&self.db)
            .await
            .context("cannot read the authorization")?;
        if digits == TIMES_OUT {
            return Err(PaymentError::Timeout);
        }
        Ok(match (state.as_str(), digits.as_str()) {
            ("declined", INSUFFICIENT_FUNDS) => Authorization::Declined {
                reason: "Your card has insufficient funds.".to_owned(),
            },
            ("declined", _) => Authorization::Declined {
                reason: "Your card was declined.".to_owned(),
            },
            _ => Authorization::Approved { payment_id: id },
        })
    }

    async fn capture(&self, key: &str) -> Result<(), PaymentError> {
        let changed = sqlx::query(
            "UPDATE local_payments SET state = 'captured', updated_at = now() \
             WHERE key = $1 AND state IN ('authorized', 'captured')",
        )
        .bind(key)
        .execute(&self.db)
        .await
        .context("cannot capture")?;
        if changed.rows_affected() == 0 {
            return Err(anyhow::anyhow!("no authorization to capture under {key}").into());
        }
        Ok(())
    }

    async fn void(&self, key: &str) -> Result<(), PaymentError> {
        sqlx::query(
            "UPDATE local_payments SET state = 'voided', updated_at = now() \
             WHERE key = $1 AND state = 'authorized'",
        )
        .bind(key)
        .execute(&self.db)
        .await
        .context("cannot void")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(number: &str, expiry: &str, cvc: &str) -> Card {
        Card {
            number: number.into(),
            expiry: expiry.into(),
            cvc: cvc.into(),
        }
    }

    #[test]
    fn cards_are_checked_and_never_shown_whole() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert!(
            card("4242 4242 4242 4242", "12/26", "123")
                .problems(today)
                .is_empty()
        );
        let fields: Vec<&str> = card("4242 4242 4242 4241", "11/26", "12")
            .problems(today)
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, ["payment.number", "payment.expiry", "payment.cvc"]);
        assert_eq!(card("4242-4242", "13/30", "1234").problems(today).len(), 2);
        assert_eq!(
            format!("{:?}", card("4242424242424242", "", "")),
            "Card(…4242)"
        );
    }
}
