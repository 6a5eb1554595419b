//! The test-mode processor, its ledger in order's database: a restart keeps what was
//! authorized, and a retry under the same order answers what the first call decided.

use anyhow::Context as _;
use sqlx::PgPool;

use super::{Authorization, Payment, PaymentError, PaymentProvider, PaymentRequest};

/// Test card numbers (any other valid number is authorized).
pub const DECLINED: &str = "4000000000000002";
pub const INSUFFICIENT_FUNDS: &str = "4000000000009995";
pub const TIMES_OUT: &str = "4000000000000119";

#[derive(Clone, Debug)]
pub struct LocalProvider {
    db: PgPool,
}

impl LocalProvider {
    pub fn new(db: PgPool) -> Self {
        Self { db }
    }
}

/// The ledger's key of an order's authorization.
fn ledger_key(payment: &Payment) -> String {
    payment.key("authorize")
}

impl PaymentProvider for LocalProvider {
    fn takes_card(&self) -> bool {
        true
    }

    async fn authorize(&self, request: PaymentRequest<'_>) -> Result<Authorization, PaymentError> {
        let card = request
            .card
            .context("the local provider is paid by card, and the checkout sent none")?;
        let key = ledger_key(&Payment {
            order: request.order,
            id: None,
            session: None,
        });
        let digits = card.digits();
        let state = match digits.as_str() {
            DECLINED | INSUFFICIENT_FUNDS => "declined",
            _ => "authorized",
        };
        let id = format!("pay_local_{}", uuid::Uuid::now_v7().simple());
        // The first call under a key decides; a retry reads what it decided.
        sqlx::query(include_str!("../sql/local_authorize.sql"))
            .bind(&key)
            .bind(&id)
            .bind(request.amount)
            .bind(request.currency)
            .bind(card.last4())
            .bind(state)
            .execute(&self.db)
            .await
            .context("cannot record the authorization")?;
        let (id, state): (String, String) =
            sqlx::query_as(include_str!("../sql/local_payment.sql"))
                .bind(&key)
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

    async fn capture(&self, payment: &Payment) -> Result<(), PaymentError> {
        let key = ledger_key(payment);
        let changed = sqlx::query(
            "UPDATE local_payments SET state = 'captured', updated_at = now() \
             WHERE key = $1 AND state IN ('authorized', 'captured')",
        )
        .bind(&key)
        .execute(&self.db)
        .await
        .context("cannot capture")?;
        if changed.rows_affected() == 0 {
            return Err(anyhow::anyhow!("no authorization to capture under {key}").into());
        }
        Ok(())
    }

    async fn void(&self, payment: &Payment) -> Result<(), PaymentError> {
        sqlx::query(
            "UPDATE local_payments SET state = 'voided', updated_at = now() \
             WHERE key = $1 AND state = 'authorized'",
        )
        .bind(ledger_key(payment))
        .execute(&self.db)
        .await
        .context("cannot void")?;
        Ok(())
    }
}
