//! The e-mails, rendered with askama from `templates/` as HTML and plain text (one multipart
//! message), and sent over SMTP with lettre. Each e-mail's `Message-ID` is made from the event
//! it answers, so a resend after a crash (sent, not yet recorded) is the same message, which a
//! mailbox shows once.

use askama::Template;
use events::order::{OrderLine, OrderPlaced};
use kit::money::{Currency, Money};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use secrecy::ExposeSecret as _;
use uuid::Uuid;

/// An e-mail to send: subject, and the two renderings of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn money(amount: i64, currency: &str) -> String {
    match currency.parse::<Currency>() {
        Ok(currency) => Money::new(amount, currency).display(),
        Err(_) => format!("{amount} {currency}"),
    }
}

#[derive(Template)]
#[template(path = "order_confirmed.txt")]
struct ConfirmedText<'a>(&'a OrderView<'a>);

#[derive(Template)]
#[template(path = "order_confirmed.html")]
struct ConfirmedHtml<'a>(&'a OrderView<'a>);

/// What the confirmation shows of an order.
pub struct OrderView<'a> {
    pub order_id: Uuid,
    pub lines: &'a [OrderLine],
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
    pub currency: &'a str,
    pub coupon_code: Option<&'a str>,
}

impl OrderView<'_> {
    /// Askama passes fields by reference and computed values by value: either will do.
    fn money(&self, amount: impl std::borrow::Borrow<i64>) -> String {
        money(*amount.borrow(), self.currency)
    }
}

macro_rules! view_of {
    ($($template:ident),*) => {$(
        impl<'a> std::ops::Deref for $template<'a> {
            type Target = OrderView<'a>;
            fn deref(&self) -> &Self::Target {
                self.0
            }
        }
    )*};
}
view_of!(ConfirmedText, ConfirmedHtml);

/// The confirmation of a paid order.
pub fn confirmed(placed: &OrderPlaced) -> askama::Result<Email> {
    let view = OrderView {
        order_id: placed.order_id,
        lines: &placed.lines,
        subtotal: placed.subtotal,
        discount: placed.discount,
        total: placed.total,
        currency: &placed.currency,
        coupon_code: placed.coupon_code.as_deref(),
    };
    Ok(Email {
        subject: format!(
            "Your order is confirmed ({})",
            money(placed.total, &placed.currency)
        ),
        text: ConfirmedText(&view).render()?,
        html: ConfirmedHtml(&view).render()?,
    })
}

#[derive(Template)]
#[template(path = "order_cancelled.txt")]
struct CancelledText<'a> {
    order_id: Uuid,
    reason: &'a str,
}

#[derive(Template)]
#[template(path = "order_cancelled.html")]
struct CancelledHtml<'a> {
    order_id: Uuid,
    reason: &'a str,
}

/// The notice of a cancelled order.
pub fn cancelled(order_id: Uuid, reason: &str) -> askama::Result<Email> {
    Ok(Email {
        subject: "Your order is cancelled".to_owned(),
        text: CancelledText { order_id, reason }.render()?,
        html: CancelledHtml { order_id, reason }.render()?,
    })
}

/// Sends mail through the configured relay.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of `Message-ID`s.
    domain: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// Why an e-mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the message cannot be built: {0}")]
    Build(String),
    #[error("the SMTP relay refused or failed: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

impl Mailer {
    /// A mailer for the relay URL: TLS unless it is a sink on 127.0.0.1.
    pub fn new(relay: &secrecy::SecretString, from: &str) -> anyhow::Result<Self> {
        let url = relay.expose_secret();
        let local = url.starts_with("smtp://127.0.0.1:") || url.starts_with("smtp://localhost:");
        let secure = url.starts_with("smtps://") || url.contains("tls=required");
        anyhow::ensure!(
            local || secure,
            "SMTP_RELAY must use TLS (smtps://… or smtp://…?tls=required), unless it is a local sink on 127.0.0.1"
        );
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("SMTP_RELAY is not an SMTP URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("MAIL_FROM {from:?} is not an address: {e}"))?;
        let domain = from.email.domain().to_owned();
        Ok(Self {
            transport,
            from,
            domain,
        })
    }

    /// The `Message-ID` of the e-mail answering `event`.
    pub fn message_id(&self, event: Uuid) -> String {
        format!("<{event}@{}>", self.domain)
    }

    /// Sends `email` to `to` as the answer to `event`.
    pub async fn send(&self, event: Uuid, to: &str, email: &Email) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Build(format!("recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .message_id(Some(self.message_id(event)))
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| SendError::Build(e.to_string()))?;
        self.transport.send(message).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancellation_says_why_nothing_was_charged() {
        let order = Uuid::now_v7();
        for (reason, says) in [
            ("payment-expired", "not paid on the payment page in time"),
            ("payment-declined", "payment did not go through"),
            ("customer", "hold on your card is released"),
        ] {
            let email = cancelled(order, reason).unwrap();
            assert!(email.text.contains(says), "{reason}: {}", email.text);
            assert!(email.html.contains(says), "{reason}: {}", email.html);
            assert!(email.text.contains(&order.to_string()));
        }
    }
}
