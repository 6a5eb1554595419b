//! Logs and trace context.
//!
//! Logs are JSON lines (one object per event, with the current span's fields) unless
//! `LOG_FORMAT=pretty`; `RUST_LOG` filters them. Trace context follows W3C Trace Context: an
//! incoming `traceparent` header is continued, otherwise a new trace starts; the context is put
//! on the request span (`trace_id`), forwarded on outgoing HTTP calls and Kafka envelopes, so a
//! log search by `trace_id` follows one request across services. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are exported over OTLP/HTTP and the ids in logs and
//! headers are the exported spans' ids.

use std::fmt;
use std::io::IsTerminal as _;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use rand::RngCore;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{CommonConfig, LogFormat};

static INIT: Once = Once::new();
static OTEL: AtomicBool = AtomicBool::new(false);

/// Keeps the trace exporter alive; dropping it flushes pending spans. Hold it in `main`.
#[must_use = "dropping the guard stops trace export"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("otlp", &self.provider.is_some())
            .finish()
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Installs the global subscriber once per process (later calls are no-ops: tests build many
/// applications in one process). With `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are also exported
/// over OTLP/HTTP to it.
pub fn init(config: &CommonConfig) -> Telemetry {
    let mut provider = None;
    INIT.call_once(|| {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            EnvFilter::new(format!(
                "info,{}=debug,tower_http=info,sqlx=warn,rdkafka=warn",
                config.service.replace('-', "_")
            ))
        });
        let mut export_error = None;
        let otel_layer = config.otlp_endpoint.as_deref().and_then(|endpoint| {
            match otlp_provider(&config.service, endpoint) {
                Ok(p) => {
                    let tracer = p.tracer(config.service.clone());
                    provider = Some(p);
                    OTEL.store(true, Ordering::Relaxed);
                    Some(tracing_opentelemetry::layer().with_tracer(tracer))
                }
                Err(e) => {
                    export_error = Some(e);
                    None
                }
            }
        });
        let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
        let result = match config.log_format {
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
        if let Some(error) = export_error {
            tracing::warn!(%error, "OTLP trace export disabled: cannot build the exporter");
        }
    });
    Telemetry { provider }
}

fn otlp_provider(service: &str, endpoint: &str) -> Result<SdkTracerProvider, String> {
    use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .with_headers(std::collections::HashMap::new())
        .build()
        .map_err(|e| e.to_string())?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_owned())
                .build(),
        )
        .build())
}

/// Connects `span` to the distributed trace and returns the context that names it: with OTLP
/// export, the span's own OpenTelemetry ids (its parent set from `incoming`); without, a new span
/// id in the incoming trace (or a new trace). Records `trace_id` on the span.
pub fn attach(span: &tracing::Span, incoming: Option<TraceParent>) -> TraceParent {
    let fallback = incoming.map_or_else(TraceParent::new_root, |p| p.child());
    let trace = if OTEL.load(Ordering::Relaxed) {
        if let Some(parent) = incoming {
            let remote = SpanContext::new(
                TraceId::from_bytes(parent.trace_id),
                SpanId::from_bytes(parent.span_id),
                if parent.sampled {
                    TraceFlags::SAMPLED
                } else {
                    TraceFlags::default()
                },
                true,
                TraceState::default(),
            );
            let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
        }
        let context = span.context();
        let own = context.span().span_context().clone();
        if own.is_valid() {
            TraceParent {
                trace_id: own.trace_id().to_bytes(),
                span_id: own.span_id().to_bytes(),
                sampled: own.is_sampled(),
            }
        } else {
            fallback
        }
    } else {
        fallback
    };
    span.record("trace_id", tracing::field::display(trace.trace_id_hex()));
    trace
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
        crate::hex(&self.trace_id)
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            crate::hex(&self.trace_id),
            crate::hex(&self.span_id),
            u8::from(self.sampled)
        )
    }
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2)
        || !text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
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

/// The current trace context as an event's [`events::TraceContext`]: the consumer's span becomes
/// a child of the span that produced the event.
pub fn current_event_context() -> Option<events::TraceContext> {
    current().map(|t| events::TraceContext {
        traceparent: t.to_string(),
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
