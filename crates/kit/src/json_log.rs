//! The JSON log line, written in one pass.
//!
//! One object per event: `timestamp` (RFC 3339, microseconds, UTC), `level`, the event's fields
//! (`message` among them), `request` while a request is served (its method, route template,
//! request id and trace id, from [`crate::http`]'s task-local, so every line of a request has
//! them whatever span it is logged in), `target`, and `span` with the fields and `name` of the
//! event's parent span (the current span, unless the event names another), when there is one:
//!
//! ```json
//! {"timestamp":"2026-12-02T17:26:32.567230Z","level":"INFO","message":"served","status":200,
//!  "elapsed_ms":0.71,"request":{"method":"GET","route":"/v1/static","request_id":"dd7e…",
//!  "trace_id":"e7f6…"},"target":"kit::http"}
//! ```
//!
//! The shape of `tracing-subscriber`'s JSON format with `flatten_event` and the current span,
//! which this replaces because of what it costs per request: it keeps a span's fields as a JSON
//! object, re-parses it with `serde_json` for every line and re-serialises it on every
//! `Span::record`. Here a span's fields are kept as the JSON members they will be written as
//! (`"method":"GET","route":"/v1/static"`), a recorded field is appended, and a line is written
//! straight into the writer's buffer. With the access log on every request, this halved what
//! logging cost the kit's stack in `cargo xtask bench`.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Span and event fields as JSON members, comma-separated, without braces.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonFields;

impl<'writer> FormatFields<'writer> for JsonFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = Members {
            out: writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let first = current.fields.is_empty();
        let mut visitor = Members {
            out: current.as_writer(),
            first,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes each field as `"name":value`.
struct Members<'a> {
    out: Writer<'a>,
    first: bool,
    result: fmt::Result,
}

impl Members<'_> {
    fn key(&mut self, field: &Field) -> fmt::Result {
        if !self.first {
            self.out.write_char(',')?;
        }
        self.first = false;
        // Field names are Rust identifiers (or `message`): nothing to escape.
        self.out.write_char('"')?;
        self.out.write_str(field.name())?;
        self.out.write_str("\":")
    }

    fn member(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = self.key(field).and_then(|()| value(&mut self.out));
        }
    }
}

impl Visit for Members<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |out| escaped(out, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |out| {
            out.write_char('"')?;
            write!(Escaping(out), "{value:?}")?;
            out.write_char('"')
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |out| {
            out.write_str(itoa::Buffer::new().format(value))
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |out| {
            out.write_str(itoa::Buffer::new().format(value))
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.member(field, |out| {
            if value.is_finite() {
                out.write_str(ryu::Buffer::new().format_finite(value))
            } else {
                write!(out, "\"{value}\"") // JSON has no NaN or infinity
            }
        });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.member(field, |out| {
            out.write_char('"')?;
            write!(Escaping(out), "{value}")?;
            out.write_char('"')
        });
    }
}

/// `value` as a JSON string.
fn escaped(out: &mut Writer<'_>, value: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaping(out).write_str(value)?;
    out.write_char('"')
}

/// Escapes what it is given for the inside of a JSON string.
struct Escaping<'a, 'b>(&'a mut Writer<'b>);

impl fmt::Write for Escaping<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Byte by byte: everything to escape is ASCII, and UTF-8 continuation bytes never are.
        let bytes = s.as_bytes();
        let mut plain = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.write_str(&s[plain..i])?;
            if escape.is_empty() {
                write!(self.0, "\\u{b:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = i + 1;
        }
        self.0.write_str(&s[plain..])
    }
}

/// Writes the current time as RFC 3339 in UTC with microseconds. The date and time of day are
/// formatted once per second per thread.
fn timestamp(out: &mut Writer<'_>) -> fmt::Result {
    use std::cell::RefCell;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    SECOND.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != now.as_secs() {
            let second = UNIX_EPOCH + Duration::from_secs(now.as_secs());
            // `2026-12-02T17:26:32Z` without the `Z`.
            let text = humantime::format_rfc3339_seconds(second).to_string();
            *cached = (now.as_secs(), text.trim_end_matches('Z').to_owned());
        }
        out.write_str(&cached.1)?;
        // `.` and six digits of microseconds: 1_000_000 + µs, its leading 1 replaced.
        let mut micros = itoa::Buffer::new();
        let micros = micros.format(1_000_000 + now.subsec_micros());
        out.write_char('.')?;
        out.write_str(&micros[1..])?;
        out.write_char('Z')
    })
}

/// The event formatter (see the module docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonLines;

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        writer.write_str("{\"timestamp\":\"")?;
        timestamp(&mut writer)?;
        writer.write_str("\",\"level\":\"")?;
        writer.write_str(meta.level().as_str())?;
        writer.write_char('"')?;
        let mut fields = Members {
            out: writer.by_ref(),
            first: false,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        // The request being served, whatever span the line is logged in.
        crate::http::with_current_request(|request| {
            writer.write_str(",\"request\":{\"method\":\"")?;
            writer.write_str(request.method)?;
            writer.write_str("\",\"route\":")?;
            escaped(&mut writer, request.route())?;
            writer.write_str(",\"request_id\":")?;
            escaped(&mut writer, request.id.to_str().unwrap_or_default())?;
            writer.write_str(",\"trace_id\":\"")?;
            writer.write_str(std::str::from_utf8(&request.trace_id).unwrap_or_default())?;
            writer.write_str("\"}")
        })
        .unwrap_or(Ok(()))?;
        writer.write_str(",\"target\":")?;
        escaped(&mut writer, meta.target())?;
        // The event's explicit parent, else the span it was logged in.
        let span = match event.parent() {
            Some(id) => ctx.span(id),
            None if event.is_contextual() => ctx.lookup_current(),
            None => None,
        };
        if let Some(span) = span {
            writer.write_str(",\"span\":{")?;
            let extensions = span.extensions();
            if let Some(formatted) = extensions.get::<FormattedFields<JsonFields>>()
                && !formatted.fields.is_empty()
            {
                writer.write_str(&formatted.fields)?;
                writer.write_char(',')?;
            }
            writer.write_str("\"name\":")?;
            escaped(&mut writer, span.name())?;
            writer.write_char('}')?;
        }
        writer.write_str("}\n")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::Value;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(log: impl FnOnce()) -> Vec<Value> {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .fmt_fields(JsonFields)
                .event_format(JsonLines)
                .with_writer(move || writer.clone()),
        );
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    #[test]
    fn a_line_has_the_event_the_target_and_the_current_spans_fields() {
        let lines = lines(|| {
            let span = tracing::info_span!(
                "request",
                method = "GET",
                route = %"/v1/things/{id}",
                trace_id = tracing::field::Empty,
            );
            span.record("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736");
            let _entered = span.enter();
            tracing::info!(status = 200u16, elapsed_ms = 0.25, ok = true, "served");
        });
        let line = &lines[0];
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "served");
        assert_eq!(line["status"], 200);
        assert_eq!(line["elapsed_ms"], 0.25);
        assert_eq!(line["ok"], true);
        assert_eq!(line["target"], module_path!());
        assert_eq!(line["span"]["name"], "request");
        assert_eq!(line["span"]["method"], "GET");
        assert_eq!(line["span"]["route"], "/v1/things/{id}");
        assert_eq!(line["span"]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        let timestamp = line["timestamp"].as_str().unwrap();
        assert!(humantime::parse_rfc3339(timestamp).is_ok(), "{timestamp}");
    }

    #[test]
    fn every_line_logged_while_serving_a_request_names_it() {
        let request = crate::http::RequestFields::for_test("POST", "/v1/carts/{cart}/items", "r-1");
        let lines = lines(|| {
            crate::http::in_request_for_test(request, || {
                let handler = tracing::info_span!("add_item", sku = "MUG-1");
                let _entered = handler.enter();
                tracing::info!("inside the handler's own span");
            });
            tracing::info!("after the request");
        });
        let inside = &lines[0];
        assert_eq!(inside["request"]["method"], "POST");
        assert_eq!(inside["request"]["route"], "/v1/carts/{cart}/items");
        assert_eq!(inside["request"]["request_id"], "r-1");
        assert_eq!(
            inside["request"]["trace_id"],
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(inside["span"]["name"], "add_item");
        assert_eq!(inside["span"]["sku"], "MUG-1");
        assert!(lines[1].get("request").is_none());
    }

    #[test]
    fn an_event_with_an_explicit_parent_carries_that_spans_fields() {
        let lines = lines(|| {
            let request = tracing::info_span!("request", request_id = "r-1");
            let other = tracing::info_span!("other", request_id = "r-2");
            let _entered = other.enter();
            tracing::info!(parent: &request, "served");
            tracing::info!("inside other");
            tracing::info!(parent: None, "no parent");
        });
        assert_eq!(lines[0]["span"]["request_id"], "r-1");
        assert_eq!(lines[1]["span"]["request_id"], "r-2");
        assert!(lines[2].get("span").is_none());
    }

    #[test]
    fn anything_a_field_holds_stays_valid_json() {
        let awkward = "quote \" backslash \\ newline \n tab \t bell \u{7} unicode é ✓";
        let lines = lines(|| {
            let error = std::io::Error::other(awkward);
            tracing::warn!(
                text = awkward,
                debug = ?awkward,
                error = &error as &(dyn std::error::Error + 'static),
                nan = f64::NAN,
                "{awkward}"
            );
            tracing::info!("outside any span");
        });
        assert_eq!(lines[0]["text"], awkward);
        assert_eq!(lines[0]["debug"], format!("{awkward:?}"));
        assert_eq!(lines[0]["error"], awkward);
        assert_eq!(lines[0]["nan"], "NaN");
        assert_eq!(lines[0]["message"], awkward);
        assert!(lines[1].get("span").is_none());
    }
}
