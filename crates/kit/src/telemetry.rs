//! Logs and trace context.
//!
//! Logs are JSON lines (one object per event, with the request being served and the current
//! span's fields; see [`crate::json_log`]) unless `LOG_FORMAT=pretty`; `RUST_LOG` filters them. A
//! background thread writes them ([`crate::log_writer`]), so a request never waits on stdout.
//!
//! Trace context follows W3C Trace Context, parsed by OpenTelemetry's `TraceContextPropagator`
//! (`traceparent` and `tracestate`; [`inject_context`] writes them). An incoming request or
//! consumed event continues its caller's trace, otherwise a new trace starts; the trace id goes
//! into the request's log fields (or the event's span), the context is made current for the
//! task ([`scope`]) and sent on: the kit's HTTP client injects it into outgoing calls
//! ([`inject`]) and the producer and outbox into event envelopes ([`current_event_context`]). A
//! log search by `trace_id` follows one request across services. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are also exported over OTLP/HTTP and the ids in logs
//! and headers are the exported spans' ids.

use std::collections::HashMap;
use std::fmt;
use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry::trace::{
    SpanContext, TraceContextExt as _, TraceFlags, TraceState, TracerProvider as _,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator as _, RandomIdGenerator, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{CommonConfig, LogFormat};

static OTEL: AtomicBool = AtomicBool::new(false);
static INSTALLED: Mutex<bool> = Mutex::new(false);

/// Keeps the log writer and the trace exporter alive. Call [`Telemetry::shutdown`] before the
/// process exits: it flushes pending spans and log lines (off the async runtime's threads).
#[must_use = "dropping the guard stops log writing and trace export"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    writer: Option<crate::log_writer::Flush>,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("otlp", &self.provider.is_some())
            .finish()
    }
}

impl Telemetry {
    /// Flushes and stops trace export and the log writer. Both block, so they run on the
    /// blocking pool.
    pub async fn shutdown(mut self) {
        let provider = self.provider.take();
        let writer = self.writer.take();
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(provider) = provider {
                let _ = provider.shutdown();
            }
            if let Some(writer) = writer {
                writer.flush();
            }
        })
        .await;
    }
}

/// Installs the global subscriber once per process (later calls are no-ops: tests build many
/// applications in one process). With `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are also exported
/// over OTLP/HTTP to it.
pub fn init(config: &CommonConfig) -> Telemetry {
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if *installed {
        return Telemetry {
            provider: None,
            writer: None,
        };
    }
    *installed = true;
    // `Targets`, not `EnvFilter`: the same `RUST_LOG` syntax for targets and levels, without
    // span and field directives, whose bookkeeping on every span enter and exit was a visible
    // share of a request's cost in `cargo xtask bench`.
    let default = format!(
        "info,{}=debug,tower_http=info,sqlx=warn,rdkafka=warn",
        config.service.replace('-', "_")
    );
    #[allow(clippy::disallowed_methods)] // RUST_LOG is the logging convention, read once here
    let wanted = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let mut filter_error = None;
    let filter = match wanted.as_deref().map(str::parse::<Targets>) {
        Some(Ok(targets)) => targets,
        Some(Err(error)) => {
            filter_error = Some(error);
            default.parse().expect("the default filter parses")
        }
        None => default.parse().expect("the default filter parses"),
    };
    let mut provider = None;
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
    let (writer, guard) = crate::log_writer::LogWriter::new(std::io::stdout());
    let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
    // Another subscriber (e.g. a test harness's) may already be installed; keep it.
    let _ = match config.log_format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(crate::json_log::JsonFields)
                    .event_format(crate::json_log::JsonLines)
                    .with_writer(writer),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .compact()
                    .with_ansi(std::io::stdout().is_terminal())
                    .with_writer(writer),
            )
            .try_init(),
    };
    if let Some(error) = filter_error {
        tracing::warn!(%error, "RUST_LOG ignored: write targets and levels, e.g. info,sqlx=warn");
    }
    if let Some(error) = export_error {
        tracing::warn!(%error, "OTLP trace export disabled: cannot build the exporter");
    }
    Telemetry {
        provider,
        writer: Some(guard),
    }
}

fn otlp_provider(service: &str, endpoint: &str) -> Result<SdkTracerProvider, String> {
    use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .with_headers(HashMap::new())
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

/// The trace context a caller sent in `traceparent`/`tracestate` (an empty context when absent
/// or malformed: a new trace starts).
pub fn extract(headers: &HeaderMap) -> Context {
    // Most requests from outside carry none: skip the propagator's lookups.
    if !headers.contains_key(TRACEPARENT) {
        return Context::new();
    }
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// The trace context of an event's envelope.
pub fn extract_event(trace: Option<&events::TraceContext>) -> Context {
    let Some(trace) = trace else {
        return Context::new();
    };
    let mut fields = HashMap::from([("traceparent".to_owned(), trace.traceparent.clone())]);
    if let Some(state) = &trace.tracestate {
        fields.insert("tracestate".to_owned(), state.clone());
    }
    TraceContextPropagator::new().extract(&fields)
}

/// Starts the span of a consumed event in the trace continued from `parent`:
/// `make_span` builds it, given the trace id when it is known before the span exists (always,
/// unless spans are exported), so the id is a field of the span from the start rather than
/// recorded into it afterwards (which re-formats the span's log fields). Returns the span and
/// the context that names it (see [`attach`]). `make_span` must declare a `trace_id` field.
pub fn begin(
    parent: Context,
    make_span: impl FnOnce(Option<&str>) -> tracing::Span,
) -> (tracing::Span, Context) {
    if OTEL.load(Ordering::Relaxed) {
        let span = make_span(None);
        let context = attach(&span, parent);
        return (span, context);
    }
    let context = child_of(&parent);
    let trace_id = context.span().span_context().trace_id();
    let mut hex = [0u8; 32];
    let span = make_span(Some(hex32(trace_id.to_bytes(), &mut hex)));
    (span, context)
}

/// Connects `span` to the distributed trace continued from `parent` and returns the context that
/// names it: with OTLP export, the span's own OpenTelemetry context (its parent set); without, a
/// new span id in the parent's trace (or a new trace), keeping the parent's `tracestate`.
/// Records `trace_id` on the span.
pub fn attach(span: &tracing::Span, parent: Context) -> Context {
    let context = if OTEL.load(Ordering::Relaxed) {
        let _ = span.set_parent(parent.clone());
        let own = span.context();
        if own.span().span_context().is_valid() {
            own
        } else {
            child_of(&parent)
        }
    } else {
        child_of(&parent)
    };
    let trace_id = context.span().span_context().trace_id();
    let mut hex = [0u8; 32];
    span.record("trace_id", hex32(trace_id.to_bytes(), &mut hex));
    context
}

/// Whether spans are exported (`OTEL_EXPORTER_OTLP_ENDPOINT`): then a request or event needs a
/// tracing span for the exporter; otherwise only its context.
pub fn exporting() -> bool {
    OTEL.load(Ordering::Relaxed)
}

/// The trace id of `context` as 32 hex digits (zeros when it has none).
pub fn trace_id_hex(context: &Context) -> [u8; 32] {
    let mut hex = [0u8; 32];
    hex32(
        context.span().span_context().trace_id().to_bytes(),
        &mut hex,
    );
    hex
}

/// A context for a new span in the trace continued from `parent` (a new trace when `parent` has
/// none), keeping the parent's sampling flag and `tracestate`.
pub fn child_of(parent: &Context) -> Context {
    let ids = RandomIdGenerator::default();
    let parent_span = parent.span();
    let remote = parent_span.span_context();
    let (trace_id, flags, state) = if remote.is_valid() {
        (
            remote.trace_id(),
            remote.trace_flags(),
            remote.trace_state().clone(),
        )
    } else {
        (
            ids.new_trace_id(),
            TraceFlags::SAMPLED,
            TraceState::default(),
        )
    };
    let own = SpanContext::new(trace_id, ids.new_span_id(), flags, false, state);
    Context::new().with_remote_span_context(own)
}

/// A trace id's 16 bytes as 32 lowercase hex digits, without going through `fmt`.
fn hex32(bytes: [u8; 16], out: &mut [u8; 32]) -> &str {
    hex(&bytes, out);
    std::str::from_utf8(out).expect("hex digits are ASCII")
}

/// `bytes` as lowercase hex digits into `out` (twice as long).
fn hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (byte, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
}

tokio::task_local! {
    static CURRENT: Context;
}

/// Runs `future` with `context` as the current trace context (read by producers and clients).
pub async fn scope<F: std::future::Future>(context: Context, future: F) -> F::Output {
    CURRENT.scope(context, future).await
}

/// The current trace context, if the code runs inside a request or consumed event.
pub fn current() -> Option<Context> {
    CURRENT.try_with(Clone::clone).ok()
}

/// The current trace id as 32 hex digits, if any.
pub fn current_trace_id() -> Option<String> {
    let context = current()?;
    let span = context.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| hex32(span_context.trace_id().to_bytes(), &mut [0; 32]).to_owned())
}

/// Writes the current trace context (`traceparent`, `tracestate`) into outgoing headers.
pub fn inject(headers: &mut HeaderMap) {
    if let Some(context) = current() {
        inject_context(&context, headers);
    }
}

/// Writes `context` (`traceparent`, and `tracestate` unless empty) into `headers`.
///
/// `traceparent` is 55 fixed-width ASCII bytes, written here into a stack buffer: the
/// propagator's `inject_context` formats it through `fmt` into a `String`, re-validates it as a
/// header and always adds an empty `tracestate`, a measurable share of every response in
/// `cargo xtask bench`. Parsing stays with the propagator ([`extract`]); a test checks that
/// what is written here parses back to the same context.
pub fn inject_context(context: &Context, headers: &mut HeaderMap) {
    let span = context.span();
    let span_context = span.span_context();
    if !span_context.is_valid() {
        return;
    }
    // `00-<trace id>-<span id>-<flags>`
    let mut value = *b"00-________________________________-________________-00";
    hex(&span_context.trace_id().to_bytes(), &mut value[3..35]);
    hex(&span_context.span_id().to_bytes(), &mut value[36..52]);
    if span_context.trace_flags().is_sampled() {
        value[54] = b'1';
    }
    headers.insert(
        TRACEPARENT,
        HeaderValue::from_bytes(&value).expect("hex digits and dashes are a header value"),
    );
    let state = span_context.trace_state().header();
    if !state.is_empty()
        && let Ok(state) = HeaderValue::from_str(&state)
    {
        headers.insert(TRACESTATE, state);
    }
}

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// The current trace context as an event's [`events::TraceContext`]: the consumer's span becomes
/// a child of the span that produced the event.
pub fn current_event_context() -> Option<events::TraceContext> {
    let context = current()?;
    let mut fields: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut fields);
    Some(events::TraceContext {
        traceparent: fields.remove("traceparent")?,
        tracestate: fields.remove("tracestate").filter(|s| !s.is_empty()),
    })
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[tokio::test]
    async fn continues_the_callers_trace_and_keeps_tracestate() {
        let incoming = headers(&[
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            ("tracestate", "vendor=abc,other=1"),
        ]);
        let span = tracing::info_span!("t", trace_id = tracing::field::Empty);
        let context = attach(&span, extract(&incoming));
        let mut outgoing = HeaderMap::new();
        scope(context, async { inject(&mut outgoing) }).await;
        let traceparent = outgoing["traceparent"].to_str().unwrap();
        assert!(
            traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{traceparent}"
        );
        assert!(
            !traceparent.contains("00f067aa0ba902b7"),
            "a new span id: {traceparent}"
        );
        assert_eq!(outgoing["tracestate"], "vendor=abc,other=1");
    }

    #[test]
    fn the_written_traceparent_is_what_the_propagator_writes_and_reads() {
        for (flags, state) in [
            (TraceFlags::SAMPLED, "vendor=abc,other=1"),
            (TraceFlags::default(), ""),
        ] {
            let ids = RandomIdGenerator::default();
            let own = SpanContext::new(
                ids.new_trace_id(),
                ids.new_span_id(),
                flags,
                false,
                state.parse().unwrap(),
            );
            let context = Context::new().with_remote_span_context(own.clone());
            let mut ours = HeaderMap::new();
            inject_context(&context, &mut ours);
            let mut theirs: HashMap<String, String> = HashMap::new();
            TraceContextPropagator::new().inject_context(&context, &mut theirs);
            assert_eq!(ours["traceparent"], theirs["traceparent"]);
            assert_eq!(ours.get("tracestate").is_some(), !state.is_empty());
            let back = extract(&ours);
            let back = back.span();
            let back = back.span_context();
            assert_eq!(back.trace_id(), own.trace_id());
            assert_eq!(back.span_id(), own.span_id());
            assert_eq!(back.trace_flags(), own.trace_flags());
            assert_eq!(back.trace_state().header(), state);
        }
        let mut none = HeaderMap::new();
        inject_context(&Context::new(), &mut none);
        assert!(none.is_empty(), "no context, no header");
    }

    #[tokio::test]
    async fn a_span_begun_carries_its_trace_id_from_the_start() {
        let incoming = headers(&[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )]);
        let mut seen = None;
        let (_span, context) = begin(extract(&incoming), |trace_id| {
            seen = trace_id.map(str::to_owned);
            tracing::info_span!("t", trace_id)
        });
        assert_eq!(seen.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        let id = scope(context, async { current_trace_id() }).await;
        assert_eq!(id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    }

    #[tokio::test]
    async fn malformed_context_starts_a_new_trace() {
        for bad in [
            "",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        ] {
            let span = tracing::info_span!("t", trace_id = tracing::field::Empty);
            let context = attach(&span, extract(&headers(&[("traceparent", bad)])));
            let id = scope(context, async { current_trace_id() }).await.unwrap();
            assert_ne!(id, "4bf92f3577b34da6a3ce929d0e0e4736", "{bad}");
            assert_eq!(id.len(), 32);
        }
    }

    #[tokio::test]
    async fn events_carry_the_context() {
        let span = tracing::info_span!("t", trace_id = tracing::field::Empty);
        let context = attach(&span, Context::new());
        let (trace, id) = scope(context, async {
            (
                current_event_context().unwrap(),
                current_trace_id().unwrap(),
            )
        })
        .await;
        assert!(trace.traceparent.contains(&id));
        let continued = extract_event(Some(&trace));
        let trace_id = continued.span().span_context().trace_id();
        assert_eq!(hex32(trace_id.to_bytes(), &mut [0; 32]), id);
        assert_eq!(id, format!("{trace_id:032x}"));
    }
}
