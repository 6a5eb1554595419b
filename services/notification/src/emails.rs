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
    Smtp(SmtpFailure),
}

/// An SMTP failure as it is logged and recorded: its kind and reply code, never the relay's
/// words, which may quote the recipient's address (and logs outlive an erasure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpFailure(String);

impl std::fmt::Display for SmtpFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<lettre::transport::smtp::Error> for SendError {
    fn from(error: lettre::transport::smtp::Error) -> Self {
        let what = if error.is_timeout() {
            "timed out"
        } else if error.is_tls() {
            "TLS failed"
        } else if error.is_permanent() {
            "refused for good"
        } else if error.is_transient() {
            "refused for now"
        } else if error.is_client() {
            "the client failed"
        } else {
            "connection or protocol failure"
        };
        let code = error
            .status()
            .map(|code| format!(" (reply {code})"))
            .unwrap_or_default();
        Self::Smtp(SmtpFailure(format!("{what}{code}")))
    }
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

    /// A relay that refuses every recipient, quoting the address as real relays do.
    async fn refusing_relay() -> u16 {
        use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        #[allow(clippy::disallowed_methods)] // the stand-in lives as long as the test
        tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 relay.test ESMTP\r\n").await.unwrap();
            while let Ok(Some(line)) = lines.next_line().await {
                let reply = match line.get(..4).map(str::to_ascii_uppercase).as_deref() {
                    Some("EHLO") => "250 relay.test\r\n".to_owned(),
                    Some("RCPT") => format!(
                        "550 5.1.1 {}: Recipient address rejected\r\n",
                        line.trim_start_matches("RCPT TO:")
                    ),
                    Some("QUIT") => "221 bye\r\n".to_owned(),
                    _ => "250 ok\r\n".to_owned(),
                };
                write.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        port
    }

    #[tokio::test]
    async fn a_relays_refusal_is_logged_without_the_address_it_quotes() {
        let port = refusing_relay().await;
        let relay = format!("smtp://127.0.0.1:{port}").into();
        let mailer = Mailer::new(&relay, "Shop <no-reply@shop.example.com>").unwrap();
        let email = cancelled(Uuid::now_v7(), "customer").unwrap();
        let error = mailer
            .send(Uuid::now_v7(), "ada@example.com", &email)
            .await
            .unwrap_err();
        let logged = format!("{error} {error:?}");
        assert!(!logged.contains("ada@example.com"), "{logged}");
        assert!(logged.contains("refused for good (reply 550)"), "{logged}");
    }

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
