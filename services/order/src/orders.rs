//! Checkout and the order lifecycle.
//!
//! A checkout runs once per (buyer, `Idempotency-Key`), whatever arrives: the key is claimed in
//! `idempotency_keys` with the request's hash and a fresh order id; the finished response is
//! stored and sent again, byte for byte, to every retry of the same request; a retry while the
//! first attempt runs waits for its response; the same key with another request is refused. An
//! attempt that dies midway leaves its lease to expire, and the next retry resumes the same order
//! id: every step below is keyed by it, so nothing is held, written or charged twice.
//!
//! The steps: prices from product (never the client's), the coupon use held in offer, the stock
//! held in product (each all-or-nothing), then the order, its lines and `order.placed` in one
//! transaction, then the payment authorized (key `<order>/authorize`). Authorized: `order.paid`.
//! Declined or failed: the order is cancelled (`order.cancelled`) and its holds given back. A
//! failure after holding gives them back too; a release that fails is retried by [`Orders::sweep_once`]
//! until it succeeds, and a checkout abandoned midway (placed, never retried) is cancelled by it.
//!
//! With a provider that takes the card on its own page, the checkout answers the order `placed`
//! with its `payment_url`, and the provider's signed event settles it later
//! ([`Orders::on_payment`]): paid, or (the page expired) cancelled with its holds given back. The
//! sweeper asks the provider about a page whose event has not come by [`PAGE_SETTLED_AFTER`].

use std::time::Duration;

use anyhow::Context as _;
use axum::http::StatusCode;
use chrono::Utc;
use events::order::{OrderCancelled, OrderPaid, OrderPlaced, OrderShipped};
use kit::client::ClientError;
use kit::money::{Currency, Money};
use kit::{ApiError, Problem};
use sha2::Digest as _;
use sqlx::PgPool;
use uuid::Uuid;

use crate::model::{
    CheckoutRequest, MAX_LINES, MAX_QUANTITY, Order, OrderId, OrderLine, OrderStatus,
};
use crate::payments::{
    Authorization, PaymentError, PaymentEvent, PaymentProvider as _, PaymentRequest, Provider,
};
use crate::storage::{self, Claim};
use crate::upstream::Upstream;

/// How long an attempt holds its key before a retry may resume it.
pub const LEASE: Duration = Duration::from_secs(30);
/// How long a retry waits for the attempt that runs its key.
pub const WAIT: Duration = Duration::from_secs(15);
/// How long keys (and their responses) are kept: at least the 24 hours retries may come within.
pub const KEEP_KEYS: Duration = Duration::from_secs(48 * 3600);
/// A checkout still placed this long after it began, its lease expired, was abandoned: it is
/// cancelled and its holds given back (a retry of it then answers `checkout-expired`).
pub const ABANDONED_AFTER: Duration = Duration::from_secs(15 * 60);
/// The cancellation reason of an abandoned checkout.
const ABANDONED: &str = "checkout-abandoned";
/// The cancellation reason of an order whose payment page expired unpaid.
const PAYMENT_EXPIRED: &str = "payment-expired";
/// A payment page this old (from the order) has been paid or has expired: an order still
/// placed then missed the provider's event, and the sweeper asks the provider.
pub const PAGE_SETTLED_AFTER: Duration =
    Duration::from_secs(crate::payments::stripe::SESSION_TTL.as_secs() + 15 * 60);

/// Why an order request failed (checkout outcomes are [`Outcome`]s instead).
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("invalid request")]
    Invalid(Vec<(String, String)>),
    #[error("no Idempotency-Key")]
    KeyRequired,
    #[error("the Idempotency-Key was used with another request")]
    KeyReused,
    #[error("the first attempt with this Idempotency-Key is still running")]
    KeyBusy,
    #[error("no such order")]
    NotFound,
    #[error("the order cannot go from {from} to {to}")]
    Transition {
        from: &'static str,
        to: &'static str,
    },
    #[error("a service the order needs is unavailable: {0}")]
    Unavailable(String),
    #[error("the payment provider did not capture the payment")]
    Capture(#[source] PaymentError),
    #[error("order request failed")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError for OrderError {
    fn problem(&self) -> Problem {
        match self {
            Self::Invalid(fields) => {
                let mut problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY)
                    .kind("validation")
                    .detail("Some fields are invalid.");
                for (field, message) in fields {
                    problem = problem.field(field.clone(), message.clone());
                }
                problem
            }
            Self::KeyRequired => Problem::new(StatusCode::BAD_REQUEST)
                .kind("idempotency-key-required")
                .detail("Send an Idempotency-Key header (a UUID, say), the same for every retry of this checkout."),
            Self::KeyReused => Problem::new(StatusCode::UNPROCESSABLE_ENTITY)
                .kind("idempotency-key-reused")
                .detail("This Idempotency-Key was used for another checkout: use a new key for a new checkout."),
            Self::KeyBusy => Problem::new(StatusCode::CONFLICT)
                .kind("checkout-in-progress")
                .detail("This checkout is still running: retry in a moment with the same Idempotency-Key.")
                .retry_after(1),
            Self::NotFound => Problem::new(StatusCode::NOT_FOUND)
                .kind("not-found")
                .detail("There is no such order."),
            Self::Transition { from, to } => Problem::new(StatusCode::CONFLICT)
                .kind("invalid-transition")
                .detail(format!("An order that is {from} cannot become {to}.")),
            Self::Unavailable(_) => Problem::unavailable(),
            Self::Capture(_) => Problem::new(StatusCode::BAD_GATEWAY)
                .kind("payment-unavailable")
                .detail("The payment provider did not capture the payment; the order is still paid, not shipped. Try again; if it keeps failing, the authorization may have lapsed."),
            Self::Unexpected(_) => Problem::internal(),
        }
    }
}

/// A checkout's response: status and body, stored for retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Outcome {
    fn order(order: &Order) -> Self {
        Self {
            status: StatusCode::CREATED,
            body: serde_json::to_vec(order).expect("an order serializes"),
        }
    }

    fn problem(problem: Problem) -> Self {
        Self {
            status: problem.status_code(),
            body: serde_json::to_vec(&problem).expect("a problem serializes"),
        }
    }

    pub fn is_problem(&self) -> bool {
        !self.status.is_success()
    }
}

/// Orders: checkout, reads, cancellation and shipping. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Orders {
    pub db: PgPool,
    pub upstream: Upstream,
    pub payments: Provider,
}

impl Orders {
    /// Runs (or replays, or waits for) the checkout of `request` under `key` for `user`.
    pub async fn checkout(
        &self,
        user: Uuid,
        key: &str,
        request: &CheckoutRequest,
        raw: &serde_json::Value,
    ) -> Result<Outcome, OrderError> {
        if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(OrderError::KeyRequired);
        }
        let problems = validate(
            request,
            self.payments.takes_card(),
            self.payments.return_origin(),
        );
        if !problems.is_empty() {
            return Err(OrderError::Invalid(problems));
        }
        let hash = sha2::Sha256::digest(serde_json::to_vec(raw).context("hash the request")?);
        let started = tokio::time::Instant::now();
        loop {
            match storage::claim(&self.db, user, key, &hash, LEASE)
                .await
                .context("cannot claim the idempotency key")?
            {
                Claim::Run { order, resumed } => {
                    return match self.run(user, order, resumed, request).await {
                        Ok(outcome) => {
                            storage::complete(
                                &self.db,
                                user,
                                key,
                                outcome.status.as_u16(),
                                &outcome.body,
                            )
                            .await
                            .context("cannot store the checkout's response")?;
                            Ok(outcome)
                        }
                        // Nothing to replay: a retry runs it again (every step is keyed).
                        Err(error) => {
                            storage::abandon(&self.db, user, key)
                                .await
                                .context("cannot release the idempotency key")?;
                            Err(error)
                        }
                    };
                }
                Claim::Replay(status, body) => {
                    return Ok(Outcome {
                        status: StatusCode::from_u16(status)
                            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                        body,
                    });
                }
                Claim::Reused => return Err(OrderError::KeyReused),
                Claim::Running if started.elapsed() < WAIT => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Claim::Running => return Err(OrderError::KeyBusy),
            }
        }
    }

    /// The checkout of `order`; `resumed`, from where an earlier attempt stopped.
    async fn run(
        &self,
        user: Uuid,
        id: OrderId,
        resumed: bool,
        request: &CheckoutRequest,
    ) -> Result<Outcome, OrderError> {
        // A fresh order id has no order yet.
        let existing = if resumed {
            let mut conn = self.db.acquire().await.context("cannot connect")?;
            storage::order(&mut conn, id)
                .await
                .context("cannot read order")?
        } else {
            None
        };
        let order = match existing {
            // Waiting on the provider's page: the page is the answer.
            Some(stored) if stored.order.payment_url.is_some() => {
                return Ok(Outcome::order(&stored.order));
            }
            Some(stored) if stored.order.status == OrderStatus::Placed => stored.order,
            Some(stored) if stored.order.status == OrderStatus::Cancelled => {
                return Ok(Outcome::problem(declined(
                    stored.order.cancel_reason.as_deref(),
                )));
            }
            Some(stored) => return Ok(Outcome::order(&stored.order)),
            None => match self.place(user, id, request).await? {
                Ok(order) => order,
                Err(problem) => return Ok(Outcome::problem(problem)),
            },
        };
        self.pay(user, order, request).await
    }

    /// Prices the lines, holds the coupon use and the stock, writes the order: the order, or the
    /// problem that stopped it (with nothing held).
    async fn place(
        &self,
        user: Uuid,
        id: OrderId,
        request: &CheckoutRequest,
    ) -> Result<Result<Order, Problem>, OrderError> {
        let ids: Vec<Uuid> = request.lines.iter().map(|l| l.variant_id).collect();
        let variants = self.upstream.variants(&ids).await.map_err(upstream)?;
        let mut lines = Vec::with_capacity(request.lines.len());
        let mut missing = Vec::new();
        let mut currency: Option<Currency> = None;
        for (i, line) in request.lines.iter().enumerate() {
            match variants.get(&line.variant_id).filter(|v| v.active) {
                Some(v) if currency.is_none_or(|c| c == v.price.currency) => {
                    currency = Some(v.price.currency);
                    lines.push(OrderLine {
                        product_id: v.product_id,
                        variant_id: v.id,
                        sku: v.sku.clone(),
                        name: v.product_name.clone(),
                        quantity: line.quantity,
                        unit_price: v.price.amount,
                    });
                }
                Some(_) => missing.push((
                    format!("lines[{i}]"),
                    "is priced in another currency".to_owned(),
                )),
                None => missing.push((
                    format!("lines[{i}].variant_id"),
                    "is not for sale".to_owned(),
                )),
            }
        }
        if !missing.is_empty() {
            let mut problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY)
                .kind("unavailable-items")
                .detail("Some items are no longer for sale: remove them and check out again.");
            for (field, message) in missing {
                problem = problem.field(field, message);
            }
            return Ok(Err(problem));
        }
        let currency = currency.context("an order without lines")?;
        let mut subtotal = Money::zero(currency);
        for line in &lines {
            let amount = Money::new(line.unit_price, currency)
                .checked_mul(i64::from(line.quantity))
                .and_then(|m| subtotal.checked_add(m))
                .map_err(|e| anyhow::anyhow!("order total: {e}"))?;
            subtotal = amount;
        }
        let (discount, coupon) = match request
            .coupon_code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            None => (0, None),
            Some(code) => match self
                .upstream
                .redeem(id, user, code, subtotal.amount, currency.code())
                .await
            {
                Ok(held) => (held.discount, Some(held.code)),
                Err(ClientError::Problem { problem, .. }) => return Ok(Err(problem)),
                Err(error) => return Err(upstream(error)),
            },
        };
        let held_lines: Vec<_> = request.lines.clone();
        match self.upstream.reserve_stock(id, &held_lines).await {
            Ok(()) => {}
            Err(ClientError::Problem { problem, .. }) => {
                self.release_quietly(id).await;
                return Ok(Err(problem));
            }
            Err(error) => {
                self.release_quietly(id).await;
                return Err(upstream(error));
            }
        }
        let now = Utc::now();
        let order = Order {
            id,
            status: OrderStatus::Placed,
            lines,
            currency: currency.code().to_owned(),
            subtotal: subtotal.amount,
            discount,
            total: subtotal.amount - discount,
            coupon_code: coupon,
            shipping_address: request.shipping_address.trimmed(),
            cancel_reason: None,
            created_at: now,
            updated_at: now,
            payment_url: None,
        };
        let written: anyhow::Result<()> = async {
            let mut tx = self.db.begin().await.context("cannot begin")?;
            storage::insert(&mut tx, user, &order)
                .await
                .context("cannot insert order")?;
            kit::outbox::enqueue(
                &mut tx,
                crate::platform::MANIFEST.name,
                placed(user, &order),
            )
            .await
            .context("cannot enqueue order.placed")?;
            tx.commit().await.context("cannot commit order")?;
            Ok(())
        }
        .await;
        if let Err(error) = written {
            self.release_quietly(id).await;
            return Err(error.into());
        }
        Ok(Ok(order))
    }

    /// Authorizes the order's total: paid; or waiting on the provider's page; or cancelled with
    /// its holds given back.
    async fn pay(
        &self,
        user: Uuid,
        mut order: Order,
        request: &CheckoutRequest,
    ) -> Result<Outcome, OrderError> {
        let authorization = if order.total == 0 {
            Ok(Authorization::Approved {
                payment_id: crate::payments::FREE.to_owned(),
            })
        } else {
            self.payments
                .authorize(PaymentRequest {
                    order: order.id,
                    placed_at: order.created_at,
                    amount: order.total,
                    currency: &order.currency,
                    card: request.payment.as_ref(),
                    return_url: request.return_url.as_deref(),
                })
                .await
        };
        let (reason, problem) = match authorization {
            Ok(Authorization::Approved { payment_id }) => {
                if !self.mark_paid(user, &order, &payment_id).await? {
                    // Cancelled meanwhile (the sweeper took it for abandoned): no charge.
                    self.void_late(order.id, Some(&payment_id), None).await?;
                    return Ok(Outcome::problem(declined(Some(ABANDONED))));
                }
                order.status = OrderStatus::Paid;
                return Ok(Outcome::order(&order));
            }
            Ok(Authorization::Redirect { session, url }) => {
                let mut conn = self.db.acquire().await.context("cannot connect")?;
                if !storage::record_session(&mut conn, order.id, &session, &url)
                    .await
                    .context("cannot record the payment page")?
                {
                    // Cancelled meanwhile: close the page rather than send the shopper there.
                    drop(conn);
                    self.void_late(order.id, None, Some(&session)).await?;
                    return Ok(Outcome::problem(declined(Some(ABANDONED))));
                }
                order.payment_url = Some(url);
                return Ok(Outcome::order(&order));
            }
            Ok(Authorization::Declined { reason }) => (
                "payment-declined",
                Problem::new(StatusCode::PAYMENT_REQUIRED)
                    .kind("payment-declined")
                    .detail(format!("{reason} You were not charged; try another card.")),
            ),
            Err(error) => {
                // The cancellation below voids what the provider may have authorized.
                tracing::warn!(order = %order.id, %error, "payment failed; cancelling");
                (
                    "payment-failed",
                    Problem::new(StatusCode::BAD_GATEWAY)
                        .kind("payment-unavailable")
                        .detail(
                            "The payment provider did not answer. You were not charged; try again.",
                        ),
                )
            }
        };
        self.cancel_unchecked(user, order.id, &[OrderStatus::Placed], reason)
            .await?;
        Ok(Outcome::problem(problem))
    }

    /// Moves a placed order to paid under `payment_id`, with `order.paid`; false when it is no
    /// longer placed.
    async fn mark_paid(
        &self,
        user: Uuid,
        order: &Order,
        payment_id: &str,
    ) -> Result<bool, OrderError> {
        let id = order.id;
        let mut tx = self.db.begin().await.context("cannot begin")?;
        let paid =
            storage::transition(&mut tx, id, &[OrderStatus::Placed], OrderStatus::Paid, None)
                .await
                .context("cannot mark paid")?;
        if !paid {
            return Ok(false);
        }
        storage::record_payment(&mut tx, id, payment_id)
            .await
            .context("cannot record the payment")?;
        let event = OrderPaid {
            order_id: id.uuid(),
            user_id: user,
            total: order.total,
            currency: order.currency.clone(),
        };
        kit::outbox::enqueue(&mut tx, crate::platform::MANIFEST.name, event)
            .await
            .context("cannot enqueue order.paid")?;
        tx.commit().await.context("cannot commit payment")?;
        Ok(true)
    }

    /// Acts on what the provider says of a payment page (its signed webhook, or the sweeper's
    /// question): paid, or expired and cancelled. Harmless when repeated or late: an order no
    /// longer placed is left as it is, and an authorization that arrives for a cancelled order
    /// is voided.
    pub async fn on_payment(&self, event: PaymentEvent) -> Result<(), OrderError> {
        let (PaymentEvent::Authorized { order, session, .. }
        | PaymentEvent::Expired { order, session }) = &event;
        let (order, session) = (*order, session.clone());
        let mut conn = self.db.acquire().await.context("cannot connect")?;
        let stored = storage::order(&mut conn, order)
            .await
            .context("cannot read order")?;
        drop(conn);
        let Some(stored) = stored else {
            tracing::warn!(%order, "a payment event for an order this shop does not have");
            return Ok(());
        };
        if stored.payment.session.as_deref() != Some(session.as_str()) {
            tracing::warn!(%order, %session, "a payment event for another payment page; ignored");
            return Ok(());
        }
        match event {
            PaymentEvent::Authorized { payment_id, .. } => {
                if stored.order.status == OrderStatus::Placed
                    && self
                        .mark_paid(stored.user_id, &stored.order, &payment_id)
                        .await?
                {
                    tracing::info!(%order, "paid on the provider's page");
                    return Ok(());
                }
                let now = self.get(order, stored.user_id, true).await?;
                if now.status == OrderStatus::Cancelled {
                    // Paid after it was cancelled (abandoned, or by its buyer): give it back.
                    self.void_late(order, Some(&payment_id), None).await?;
                    tracing::info!(%order, "paid after its cancellation; voiding");
                }
            }
            PaymentEvent::Expired { .. } => {
                if self
                    .cancel_unchecked(
                        stored.user_id,
                        order,
                        &[OrderStatus::Placed],
                        PAYMENT_EXPIRED,
                    )
                    .await?
                {
                    tracing::info!(%order, "payment page expired; order cancelled");
                }
            }
        }
        Ok(())
    }

    /// An order its owner (or an admin) may see; others get [`OrderError::NotFound`] (ids do
    /// not leak).
    pub async fn get(&self, id: OrderId, viewer: Uuid, admin: bool) -> Result<Order, OrderError> {
        Ok(self.visible(id, viewer, admin).await?.order)
    }

    /// The stored order with its owner, if the viewer may see it (others' are 404).
    async fn visible(
        &self,
        id: OrderId,
        viewer: Uuid,
        admin: bool,
    ) -> Result<storage::Stored, OrderError> {
        let mut conn = self.db.acquire().await.context("cannot connect")?;
        match storage::order(&mut conn, id)
            .await
            .context("cannot read order")?
        {
            Some(stored) if admin || stored.user_id == viewer => Ok(stored),
            _ => Err(OrderError::NotFound),
        }
    }

    /// Cancels an order that is not shipped: its payment voided, stock and coupon use given back.
    pub async fn cancel(
        &self,
        id: OrderId,
        viewer: Uuid,
        admin: bool,
    ) -> Result<Order, OrderError> {
        let stored = self.visible(id, viewer, admin).await?;
        if !matches!(stored.order.status, OrderStatus::Placed | OrderStatus::Paid) {
            return Err(OrderError::Transition {
                from: stored.order.status.as_str(),
                to: "cancelled",
            });
        }
        let owner = stored.user_id;
        let reason = if admin && owner != viewer {
            "admin"
        } else {
            "customer"
        };
        if !self
            .cancel_unchecked(owner, id, &[OrderStatus::Placed, OrderStatus::Paid], reason)
            .await?
        {
            let now = self.get(id, viewer, admin).await?;
            return Err(OrderError::Transition {
                from: now.status.as_str(),
                to: "cancelled",
            });
        }
        self.get(id, viewer, admin).await
    }

    /// Cancels `id` if it is in one of `from` (with `order.cancelled`), then gives its holds
    /// back and voids its payment; whether it was cancelled now.
    async fn cancel_unchecked(
        &self,
        user: Uuid,
        id: OrderId,
        from: &[OrderStatus],
        reason: &str,
    ) -> Result<bool, OrderError> {
        let mut tx = self.db.begin().await.context("cannot begin")?;
        let cancelled =
            storage::transition(&mut tx, id, from, OrderStatus::Cancelled, Some(reason))
                .await
                .context("cannot cancel")?;
        if cancelled {
            let event = OrderCancelled {
                order_id: id.uuid(),
                user_id: user,
                reason: reason.to_owned(),
            };
            kit::outbox::enqueue(&mut tx, crate::platform::MANIFEST.name, event)
                .await
                .context("cannot enqueue order.cancelled")?;
        }
        tx.commit().await.context("cannot commit cancellation")?;
        if cancelled {
            self.release_and_record(id).await;
            self.void_and_record(id).await;
        }
        Ok(cancelled)
    }

    /// Ships a paid order (admins): its payment captured, then `order.shipped`.
    pub async fn ship(&self, id: OrderId, admin: Uuid) -> Result<Order, OrderError> {
        let mut conn = self.db.acquire().await.context("cannot connect")?;
        let stored = storage::order(&mut conn, id)
            .await
            .context("cannot read order")?
            .ok_or(OrderError::NotFound)?;
        drop(conn);
        if stored.order.status != OrderStatus::Paid {
            return Err(OrderError::Transition {
                from: stored.order.status.as_str(),
                to: "shipped",
            });
        }
        // The order becomes shipped first, its row locked until the capture is done: a
        // cancellation meanwhile waits, then finds it shipped (never a captured, cancelled order).
        let mut tx = self.db.begin().await.context("cannot begin")?;
        if !storage::transition(
            &mut tx,
            id,
            &[OrderStatus::Paid],
            OrderStatus::Shipped,
            None,
        )
        .await
        .context("cannot ship")?
        {
            return Err(OrderError::Transition {
                from: "no longer paid",
                to: "shipped",
            });
        }
        // A failed capture rolls the shipping back (the transaction is dropped).
        if let Err(error) = self.payments.capture(&stored.payment).await {
            tracing::warn!(order = %id, error = format!("{error:#}"), "capture failed; not shipped");
            return Err(OrderError::Capture(error));
        }
        kit::outbox::enqueue(
            &mut tx,
            crate::platform::MANIFEST.name,
            OrderShipped {
                order_id: id.uuid(),
                user_id: stored.user_id,
            },
        )
        .await
        .context("cannot enqueue order.shipped")?;
        tx.commit().await.context("cannot commit shipping")?;
        tracing::info!(order = %id, %admin, "order shipped");
        self.get(id, admin, true).await
    }

    /// Gives back what a failed checkout held; a failure is logged (nothing records the holds
    /// yet, so the retry of the checkout, keyed by the same order, gives them back).
    async fn release_quietly(&self, id: OrderId) {
        if let Err(error) = self.upstream.release(id).await {
            tracing::warn!(order = %id, %error, "cannot give back a failed checkout's holds");
        }
    }

    /// Records a payment (or payment page) that came for an order already cancelled, then voids
    /// it; the sweeper retries a failure.
    async fn void_late(
        &self,
        id: OrderId,
        payment_id: Option<&str>,
        session: Option<&str>,
    ) -> Result<(), OrderError> {
        storage::record_late_payment(&self.db, id, payment_id, session)
            .await
            .context("cannot record a late payment")?;
        self.void_and_record(id).await;
        Ok(())
    }

    /// Voids a cancelled order's payment (or closes its payment page) and records it;
    /// [`Orders::sweep_once`] retries a failure.
    async fn void_and_record(&self, id: OrderId) {
        let voided: anyhow::Result<()> = async {
            let payment = storage::payment_of(&self.db, id)
                .await
                .context("cannot read the payment")?;
            self.payments.void(&payment).await?;
            storage::mark_voided(&self.db, id)
                .await
                .context("cannot record the void")?;
            Ok(())
        }
        .await;
        if let Err(error) = voided {
            tracing::warn!(order = %id, error = format!("{error:#}"), "cannot void a cancelled order's payment; the sweeper retries");
        }
    }

    /// Gives back a cancelled order's holds and records it; [`Orders::sweep_once`] retries a failure.
    async fn release_and_record(&self, id: OrderId) {
        match self.upstream.release(id).await {
            Ok(()) => {
                if let Err(error) = storage::mark_released(&self.db, id).await {
                    tracing::warn!(order = %id, %error, "cannot record a release");
                }
            }
            Err(error) => {
                tracing::warn!(order = %id, %error, "cannot give back holds; the sweeper retries")
            }
        }
    }

    /// Ends a checkout that stopped: one paid on the provider's page is settled by what the
    /// provider says of its page; otherwise it is cancelled and its payment voided.
    async fn settle_abandoned(&self, id: OrderId, user: Uuid, session: Option<String>) {
        if let Some(session) = &session {
            match self.payments.session(id, session).await {
                Ok(Some(event)) => {
                    if let Err(error) = self.on_payment(event).await {
                        tracing::warn!(order = %id, %error, "cannot settle a payment page");
                    }
                    return;
                }
                Ok(None) => {} // still open past its expiry: closed below
                Err(error) => {
                    tracing::warn!(order = %id, %error, "cannot ask about a payment page");
                    return;
                }
            }
        }
        match self
            .cancel_unchecked(user, id, &[OrderStatus::Placed], ABANDONED)
            .await
        {
            Ok(true) => tracing::info!(order = %id, "abandoned checkout cancelled"),
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(order = %id, %error, "cannot cancel an abandoned checkout")
            }
        }
    }

    /// Cancels checkouts abandoned midway (placed longer than `abandoned` ago, their key's lease
    /// expired: the client gave up after a failure and never retried), retries the releases of
    /// cancelled orders that failed, and forgets old idempotency keys.
    pub async fn sweep_once(&self, abandoned: Duration) {
        let page_settled = PAGE_SETTLED_AFTER.max(abandoned);
        match storage::abandoned(&self.db, abandoned, page_settled, 100).await {
            Ok(orders) => {
                for (id, user, session) in orders {
                    self.settle_abandoned(id, user, session).await;
                }
            }
            Err(error) => tracing::warn!(%error, "cannot list abandoned checkouts"),
        }
        match storage::unvoided(&self.db, 100).await {
            Ok(ids) => {
                for id in ids {
                    self.void_and_record(id).await;
                }
            }
            Err(error) => tracing::warn!(%error, "cannot list orders to void"),
        }
        match storage::unreleased(&self.db, 100).await {
            Ok(ids) => {
                for id in ids {
                    self.release_and_record(id).await;
                }
            }
            Err(error) => tracing::warn!(%error, "cannot list orders to release"),
        }
        if let Err(error) = storage::prune_keys(&self.db, KEEP_KEYS).await {
            tracing::warn!(%error, "cannot prune idempotency keys");
        }
    }
}

fn placed(user: Uuid, order: &Order) -> OrderPlaced {
    OrderPlaced {
        order_id: order.id.uuid(),
        user_id: user,
        lines: order
            .lines
            .iter()
            .map(|l| events::order::OrderLine {
                product_id: l.product_id,
                variant_id: l.variant_id,
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
            })
            .collect(),
        subtotal: order.subtotal,
        discount: order.discount,
        total: order.total,
        currency: order.currency.clone(),
        coupon_code: order.coupon_code.clone(),
    }
}

/// The problem of a checkout whose order was cancelled by its payment.
fn declined(reason: Option<&str>) -> Problem {
    match reason {
        Some(ABANDONED) => Problem::new(StatusCode::CONFLICT)
            .kind("checkout-expired")
            .detail("This checkout did not finish in time and was cancelled; nothing was charged. Check out again."),
        Some(PAYMENT_EXPIRED) => Problem::new(StatusCode::CONFLICT)
            .kind("payment-expired")
            .detail("The payment page expired before it was paid and the order was cancelled; nothing was charged. Check out again."),
        Some("payment-failed") => Problem::new(StatusCode::BAD_GATEWAY)
            .kind("payment-unavailable")
            .detail("The payment provider did not answer. You were not charged; try again."),
        _ => Problem::new(StatusCode::PAYMENT_REQUIRED)
            .kind("payment-declined")
            .detail("Your card was declined. You were not charged; try another card."),
    }
}

fn upstream(error: ClientError) -> OrderError {
    match error.unavailable() {
        Some(reason) => OrderError::Unavailable(reason),
        None => OrderError::Unexpected(anyhow::Error::new(error)),
    }
}

/// Every field of a checkout request checked at once.
pub fn validate(
    request: &CheckoutRequest,
    takes_card: bool,
    return_origin: Option<&str>,
) -> Vec<(String, String)> {
    let mut problems: Vec<(String, String)> = Vec::new();
    if request.lines.is_empty() || request.lines.len() > MAX_LINES {
        problems.push(("lines".into(), format!("must have 1 to {MAX_LINES} lines")));
    }
    for (i, line) in request.lines.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            problems.push((
                format!("lines[{i}].quantity"),
                format!("must be between 1 and {MAX_QUANTITY}"),
            ));
        }
        if request.lines[..i]
            .iter()
            .any(|l| l.variant_id == line.variant_id)
        {
            problems.push((format!("lines[{i}].variant_id"), "appears twice".into()));
        }
    }
    if let Some(code) = &request.coupon_code
        && code.len() > 64
    {
        problems.push(("coupon_code".into(), "must be at most 64 characters".into()));
    }
    problems.extend(
        request
            .shipping_address
            .problems("shipping_address")
            .into_iter()
            .map(|p| (p.field, p.message)),
    );
    match (takes_card, &request.payment) {
        (true, Some(card)) => problems.extend(
            card.problems(Utc::now().date_naive())
                .into_iter()
                .map(|(f, m)| (f.to_owned(), m)),
        ),
        (true, None) => problems.push(("payment".into(), "is required: the card to pay with".into())),
        (false, Some(_)) => problems.push((
            "payment".into(),
            "must not be sent: this shop takes cards on its payment provider's page (send return_url)"
                .into(),
        )),
        (false, None) => {}
    }
    match (takes_card, request.return_url.as_deref()) {
        (_, Some(url)) => {
            if let Some(problem) = return_url_problem(url, return_origin) {
                problems.push(("return_url".into(), problem));
            }
        }
        (false, None) => problems.push((
            "return_url".into(),
            "is required: where the payment page sends the shopper back".into(),
        )),
        (true, None) => {}
    }
    problems
}

/// What is wrong with a return URL, if anything: it must be an absolute http(s) URL without
/// credentials, at most 2,000 characters, on `origin` when the provider sends shoppers there.
fn return_url_problem(url: &str, origin: Option<&str>) -> Option<String> {
    if url.len() > 2000 {
        return Some("must be at most 2000 characters".to_owned());
    }
    let parsed = reqwest::Url::parse(url).ok().filter(|parsed| {
        matches!(parsed.scheme(), "http" | "https")
            && parsed.host().is_some()
            && parsed.username().is_empty()
            && parsed.password().is_none()
    });
    let Some(parsed) = parsed else {
        return Some("must be an absolute http(s) URL".to_owned());
    };
    let allowed = origin.and_then(|o| reqwest::Url::parse(o).ok());
    match allowed {
        Some(allowed) if parsed.origin() != allowed.origin() => Some(format!(
            "must be a page of the shop, on {}",
            allowed.origin().ascii_serialization()
        )),
        _ => None,
    }
}
