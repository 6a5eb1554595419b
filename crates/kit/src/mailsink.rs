//! A local SMTP sink with a web page: where e-mail goes under `cargo xtask up` and in tests, so
//! what the platform sends can be read without a mail provider.
//!
//! It speaks the part of SMTP a sender needs (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing,
//! RSET, NOOP, QUIT), without TLS or AUTH, on 127.0.0.1 only. Like a mailbox provider, it keeps
//! one message per `Message-ID`: a sender that resends a message after a crash (same id) does
//! not make a second one. [`MailSink::serve_web`] lists the messages as an HTML page, and as JSON
//! at `/messages`.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse as _, Response};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::shutdown::Shutdown;

/// Largest message accepted.
const MAX_MESSAGE: usize = 10 * 1024 * 1024;

/// One message received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub message_id: Option<String>,
    pub subject: String,
    /// The message as sent: headers and body, CRLF line ends.
    pub raw: String,
    /// How many times it arrived (resends of the same `Message-ID` count here).
    pub deliveries: u32,
}

impl Received {
    /// The value of the first header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        header(&self.raw, name)
    }
}

fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        if let Some(current) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                current.push(' ');
                current.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((key, rest)) = line.split_once(':')
            && key.eq_ignore_ascii_case(name)
        {
            value = Some(rest.trim().to_owned());
        }
    }
    value
}

/// The sink: its SMTP address and what it received. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MailSink {
    port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
}

impl MailSink {
    /// Listens for SMTP on 127.0.0.1 (`port` 0 picks a free one) until `shutdown`.
    pub async fn start(port: u16, shutdown: &Shutdown) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let sink = Self {
            port: listener.local_addr()?.port(),
            messages: Arc::default(),
        };
        let accepting = sink.clone();
        let stop = shutdown.clone();
        let tasks = shutdown.clone();
        shutdown.spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    () = stop.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            tracing::warn!(%error, "mail sink: accept failed");
                            continue;
                        }
                    },
                };
                let sink = accepting.clone();
                tasks.spawn(async move {
                    if let Err(error) = sink.session(stream).await {
                        tracing::debug!(%error, "mail sink: session ended");
                    }
                });
            }
        });
        Ok(sink)
    }

    /// The SMTP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL senders use: `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message so far, oldest first.
    pub fn messages(&self) -> Vec<Received> {
        self.messages.lock().expect("mail sink lock").clone()
    }

    /// Waits until `done(messages)` holds or `timeout` passes; the messages then.
    pub async fn wait_for(
        &self,
        timeout: std::time::Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if done(&messages) || tokio::time::Instant::now() >= deadline {
                return messages;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    fn keep(&self, from: String, to: Vec<String>, raw: String) {
        let message_id = header(&raw, "Message-ID");
        let subject = header(&raw, "Subject").unwrap_or_default();
        let mut messages = self.messages.lock().expect("mail sink lock");
        if let Some(id) = &message_id
            && let Some(same) = messages
                .iter_mut()
                .find(|m| m.message_id.as_ref() == Some(id))
        {
            same.deliveries += 1;
            return;
        }
        messages.push(Received {
            from,
            to,
            message_id,
            subject,
            raw,
            deliveries: 1,
        });
    }

    async fn session(&self, stream: TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 mailsink ESMTP\r\n").await?;
        let (mut from, mut to) = (String::new(), Vec::new());
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_owned();
            let verb = command
                .split([' ', ':'])
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-mailsink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
                "HELO" => b"250 mailsink\r\n",
                "MAIL" => {
                    from = address(&command);
                    to.clear();
                    b"250 OK\r\n"
                }
                "RCPT" => {
                    to.push(address(&command));
                    b"250 OK\r\n"
                }
                "DATA" => {
                    write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                    let mut raw = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await? == 0 {
                            return Ok(());
                        }
                        let text = line.trim_end_matches(['\r', '\n']);
                        if text == "." {
                            break;
                        }
                        raw.push_str(text.strip_prefix('.').unwrap_or(text));
                        raw.push_str("\r\n");
                        if raw.len() > MAX_MESSAGE {
                            write.write_all(b"552 message too large\r\n").await?;
                            return Ok(());
                        }
                    }
                    self.keep(std::mem::take(&mut from), std::mem::take(&mut to), raw);
                    b"250 OK: queued\r\n"
                }
                "RSET" => {
                    from.clear();
                    to.clear();
                    b"250 OK\r\n"
                }
                "NOOP" => b"250 OK\r\n",
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await?;
                    return Ok(());
                }
                _ => b"502 command not implemented\r\n",
            };
            write.write_all(reply).await?;
        }
    }

    /// Serves the messages on 127.0.0.1:`port` (0 picks one) until `shutdown`: an HTML list at
    /// `/`, one message at `/messages/<n>`, JSON at `/messages`. Returns the port.
    pub async fn serve_web(&self, port: u16, shutdown: &Shutdown) -> std::io::Result<u16> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let app = axum::Router::new()
            .route("/", axum::routing::get(page))
            .route("/messages", axum::routing::get(json))
            .route("/messages/{n}", axum::routing::get(one))
            .with_state(self.clone());
        let stop = shutdown.clone();
        shutdown.spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "mail viewer stopped");
            }
        });
        Ok(port)
    }
}

/// The address in `MAIL FROM:<a>` or `RCPT TO:<a>`.
fn address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_owned())
        .unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn page(State(sink): State<MailSink>) -> Html<String> {
    let mut rows = String::new();
    for (n, m) in sink.messages().iter().enumerate().rev() {
        rows.push_str(&format!(
            "<tr><td><a href=\"/messages/{n}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&m.subject),
            escape(&m.to.join(", ")),
            escape(&m.from),
            m.deliveries,
        ));
    }
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Mail sink</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse}}\
         td,th{{border-bottom:1px solid #ddd;padding:.4rem .8rem;text-align:left}}</style></head>\
         <body><h1>Mail sent by the platform</h1><p>{} messages, newest first. One per Message-ID.</p>\
         <table><thead><tr><th>Subject</th><th>To</th><th>From</th><th>Deliveries</th></tr></thead>\
         <tbody>\n{rows}</tbody></table></body></html>\n",
        sink.messages().len()
    ))
}

async fn json(State(sink): State<MailSink>) -> axum::Json<Vec<Received>> {
    axum::Json(sink.messages())
}

async fn one(State(sink): State<MailSink>, Path(n): Path<usize>) -> Response {
    match sink.messages().get(n) {
        Some(message) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            message.raw.clone(),
        )
            .into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn it_takes_a_message_unstuffs_dots_and_keeps_one_per_message_id() {
        let shutdown = Shutdown::new();
        let sink = MailSink::start(0, &shutdown).await.unwrap();
        for _ in 0..2 {
            let mut stream = TcpStream::connect(("127.0.0.1", sink.port()))
                .await
                .unwrap();
            let script = "EHLO test\r\nMAIL FROM:<shop@example.com>\r\nRCPT TO:<ada@example.com>\r\nDATA\r\n\
                          Message-ID: <1@example.com>\r\nSubject: Hello\r\n there\r\n\r\n..a dot\r\n.\r\nQUIT\r\n";
            stream.write_all(script.as_bytes()).await.unwrap();
            let mut reply = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut reply).await;
            assert!(reply.ends_with("221 bye\r\n"), "{reply}");
        }
        let messages = sink.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].subject, "Hello there");
        assert_eq!(messages[0].to, ["ada@example.com"]);
        assert_eq!(messages[0].deliveries, 2);
        assert!(messages[0].raw.ends_with("\r\n.a dot\r\n"));
        shutdown.trigger();
    }
}
