//! What the routes do: admins' writes, and pricing a subtotal with a coupon, as a quote (the
//! cart) or as a redemption held for an order (checkout) and given back when the order does not
//! go through.

use anyhow::Context as _;
use chrono::Utc;
use kit::money::Currency;
use kit::validate::{Invalid, fields};
use sqlx::PgPool;

use crate::domain::{self, Refusal};
use crate::model::{Coupon, CouponInput, Discount, OrderId, Quote, Redemption};
use crate::storage;

/// Why a coupon request failed.
#[derive(Debug, thiserror::Error)]
pub enum CouponError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("no such coupon")]
    NotFound,
    #[error("the code is taken")]
    Taken,
    #[error("the coupon changed since it was read")]
    Stale,
    #[error("the coupon does not apply: {0}")]
    Refused(Refusal),
    #[error("the order already redeemed another coupon or subtotal")]
    Mismatch,
    #[error("the order's redemption was released")]
    Released,
    #[error("coupon request failed")]
    Unexpected(#[from] anyhow::Error),
}

impl From<Refusal> for CouponError {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

pub async fn create(db: &PgPool, input: &CouponInput) -> Result<Coupon, CouponError> {
    let valid = domain::coupon(input)?;
    match storage::insert(db, &valid).await {
        Ok(coupon) => Ok(coupon),
        Err(e) if storage::code_taken(&e) => Err(CouponError::Taken),
        Err(e) => Err(anyhow::Error::new(e).context("cannot insert coupon").into()),
    }
}

pub async fn get(db: &PgPool, code: &str) -> Result<Coupon, CouponError> {
    let code = domain::code(code).map_err(|_| CouponError::NotFound)?;
    let mut conn = db.acquire().await.context("cannot connect")?;
    storage::by_code(&mut conn, &code)
        .await
        .context("cannot read coupon")?
        .ok_or(CouponError::NotFound)
}

pub async fn replace(
    db: &PgPool,
    code: &str,
    version: i32,
    input: &CouponInput,
) -> Result<Coupon, CouponError> {
    let current = get(db, code).await?;
    let valid = domain::coupon(input)?;
    if valid.max_uses.is_some_and(|max| max < current.uses) {
        return Err(Invalid::field(
            "max_uses",
            format!("is below the {} uses already held", current.uses),
        )
        .into());
    }
    match storage::replace(db, &current.code, version, &valid).await {
        Ok(Some(coupon)) => Ok(coupon),
        Ok(None) => Err(CouponError::Stale),
        Err(e) if storage::code_taken(&e) => Err(CouponError::Taken),
        Err(e) => Err(anyhow::Error::new(e)
            .context("cannot replace coupon")
            .into()),
    }
}

pub async fn deactivate(db: &PgPool, code: &str) -> Result<Coupon, CouponError> {
    let code = domain::code(code).map_err(|_| CouponError::NotFound)?;
    storage::deactivate(db, &code)
        .await
        .context("cannot deactivate coupon")?
        .ok_or(CouponError::NotFound)
}

/// The code, subtotal and currency of a quote or redemption, checked together.
fn priced(code: &str, subtotal: i64, currency: &str) -> Result<(String, i64, Currency), Invalid> {
    fields((
        ("code", domain::code(code)),
        ("subtotal", domain::amount(subtotal)),
        ("currency", currency.parse::<Currency>()),
    ))
}

fn discount(coupon: &Coupon, subtotal: i64, currency: Currency, amount: i64) -> Discount {
    Discount {
        code: coupon.code.clone(),
        subtotal,
        discount: amount,
        total: subtotal - amount,
        currency: currency.code().to_owned(),
    }
}

/// What `quote`'s coupon takes off its subtotal now; `user` (when signed in) for their limit.
pub async fn quote(
    db: &PgPool,
    quote: &Quote,
    user: Option<uuid::Uuid>,
) -> Result<Discount, CouponError> {
    let (code, subtotal, currency) = priced(&quote.code, quote.subtotal, &quote.currency)?;
    let mut conn = db.acquire().await.context("cannot connect")?;
    let coupon = storage::by_code(&mut conn, &code)
        .await
        .context("cannot read coupon")?
        .ok_or(Refusal::Unknown)?;
    let user_uses = match user {
        Some(user) => Some(
            storage::user_uses(&mut conn, coupon.id, user)
                .await
                .context("cannot count uses")?,
        ),
        None => None,
    };
    let amount = domain::discount(&coupon, subtotal, currency, Utc::now(), user_uses)?;
    Ok(discount(&coupon, subtotal, currency, amount))
}

/// Whether a redemption was held now or already (a retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Now,
    Already,
}

/// Holds one use of the coupon for an order, within every limit, however many checkouts run at
/// once: the coupon's row is locked while its uses are counted and the use recorded.
pub async fn redeem(db: &PgPool, request: &Redemption) -> Result<(Discount, Held), CouponError> {
    let (code, subtotal, currency) = priced(&request.code, request.subtotal, &request.currency)?;
    let mut tx = db.begin().await.context("cannot begin")?;
    storage::lock_order(&mut tx, request.order_id)
        .await
        .context("cannot lock the order")?;
    if let Some((held_code, held_subtotal, held_discount, released)) =
        storage::redemption(&mut tx, request.order_id)
            .await
            .context("cannot read redemption")?
    {
        if released {
            return Err(CouponError::Released);
        }
        if held_code != code || held_subtotal != subtotal {
            return Err(CouponError::Mismatch);
        }
        let coupon = storage::by_code(&mut tx, &code)
            .await
            .context("cannot read coupon")?
            .context("a redeemed coupon is gone")?;
        return Ok((
            discount(&coupon, subtotal, currency, held_discount),
            Held::Already,
        ));
    }
    let coupon = storage::lock(&mut tx, &code)
        .await
        .context("cannot lock coupon")?
        .ok_or(Refusal::Unknown)?;
    let user_uses = storage::user_uses(&mut tx, coupon.id, request.user_id)
        .await
        .context("cannot count uses")?;
    let amount = domain::discount(&coupon, subtotal, currency, Utc::now(), Some(user_uses))?;
    storage::redeem(
        &mut tx,
        request.order_id,
        coupon.id,
        request.user_id,
        subtotal,
        amount,
    )
    .await
    .context("cannot record redemption")?;
    tx.commit().await.context("cannot commit redemption")?;
    Ok((discount(&coupon, subtotal, currency, amount), Held::Now))
}

/// Gives an order's coupon use back, once; whether it did now.
pub async fn release(db: &PgPool, order: OrderId) -> Result<bool, CouponError> {
    let mut tx = db.begin().await.context("cannot begin")?;
    storage::lock_order(&mut tx, order)
        .await
        .context("cannot lock the order")?;
    let released = storage::release(&mut tx, order)
        .await
        .context("cannot release redemption")?;
    tx.commit().await.context("cannot commit release")?;
    Ok(released)
}
