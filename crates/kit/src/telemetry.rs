//! Logs and trace context.
//!
//! Logs are JSON lines (one object per event, with the current span's fields) unless
//! `LOG_FORMAT=pretty`; `RUST_LOG` filters them. Trace context follows W3C Trace Context: an
//! incoming `traceparent` header is continued, otherwise a new trace starts; the context is put
//! on the request span (`trace_id`), forwarded on outgoing HTTP calls and Kafka envelopes, so a
//! log search by `trace_id` follows one request across services.

use std::fmt;
use std::io::IsTerminal as _;
use std::sync::Once;

use rand::RngCore;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

static INIT: Once = Once::new();

/// Installs the global subscriber once per process; later calls are no-ops (tests build many
/// applications in one process).
pub fn init(service: &str, format: LogFormat) {
    let service = service.to_owned();
    INIT.call_once(move || {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            EnvFilter::new(format!(
                "info,{}=debug,tower_http=info,sqlx=warn,rdkafka=warn",
                service.replace('-', "_")
            ))
        });
        let registry = tracing_subscriber::registry().with(filter);
        let result = match format {
            LogFormat::Json => registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .json()
                        .flatten_event(true)
                        .with_current_span(true)
                        .with_span_list(false),
                )
                .try_init(),
            LogFormat::Pretty => registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .compact()
                        .with_ansi(std::io::stdout().is_terminal()),
                )
                .try_init(),
        };
        // Another subscriber (e.g. a test harness's) may already be installed; keep it.
        let _ = result;
    });
}

/// A W3C `traceparent`: version 00, 16-byte trace id, 8-byte parent span id, flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
}

impl TraceParent {
    /// Starts a new trace.
    pub fn new_root() -> Self {
        let mut rng = rand::thread_rng();
        let mut trace_id = [0u8; 16];
        let mut span_id = [0u8; 8];
        rng.fill_bytes(&mut trace_id);
        rng.fill_bytes(&mut span_id);
        Self {
            trace_id,
            span_id,
            sampled: true,
        }
    }

    /// A child of this context: same trace, new span id.
    pub fn child(&self) -> Self {
        let mut span_id = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut span_id);
        Self { span_id, ..*self }
    }

    /// Parses a `traceparent` header value; `None` when malformed (then a new trace starts).
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let version = parts.next()?;
        let trace = parts.next()?;
        let span = parts.next()?;
        let flags = parts.next()?;
        if version != "00" || parts.next().is_some() {
            return None;
        }
        let trace_id: [u8; 16] = hex_decode(trace)?.try_into().ok()?;
        let span_id: [u8; 8] = hex_decode(span)?.try_into().ok()?;
        let flags: [u8; 1] = hex_decode(flags)?.try_into().ok()?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id,
            span_id,
            sampled: flags[0] & 1 == 1,
        })
    }

    pub fn trace_id_hex(&self) -> String {
        hex_encode(&self.trace_id)
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            hex_encode(&self.trace_id),
            hex_encode(&self.span_id),
            u8::from(self.sampled)
        )
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

tokio::task_local! {
    static CURRENT: TraceParent;
}

/// Runs `future` with `trace` as the current trace context (read by producers and clients).
pub async fn scope<F: std::future::Future>(trace: TraceParent, future: F) -> F::Output {
    CURRENT.scope(trace, future).await
}

/// The current trace context, if the code runs inside a request or consumed event.
pub fn current() -> Option<TraceParent> {
    CURRENT.try_with(|t| *t).ok()
}

/// The current trace context as an event's [`events::TraceContext`].
pub fn current_event_context() -> Option<events::TraceContext> {
    current().map(|t| events::TraceContext {
        traceparent: t.child().to_string(),
        tracestate: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let tp = TraceParent::parse(header).unwrap();
        assert_eq!(tp.to_string(), header);
        assert_eq!(tp.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let child = tp.child();
        assert_eq!(child.trace_id, tp.trace_id);
        assert_ne!(child.span_id, tp.span_id);
    }

    #[test]
    fn rejects_malformed_traceparent() {
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        ] {
            assert!(TraceParent::parse(bad).is_none(), "{bad}");
        }
    }
}
