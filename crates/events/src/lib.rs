//! Domain events: the versioned [`Envelope`] every Kafka message travels in, and the typed
//! payloads shared by producers and consumers.
//!
//! A payload type implements [`Event`], which names its wire `TYPE`, its schema `VERSION` and the
//! `TOPIC` it is published on, and is listed in [`CATALOG`]. Topics and the event types they
//! carry are declared in platform.toml; a tidy test in xtask checks every catalogued event against
//! them. Adding a field that consumers may ignore keeps the version; removing or changing the
//! meaning of a field is a new version.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

pub mod cart;
pub mod catalog;
pub mod order;
pub mod user;

/// One catalogued event type: wire name, version, topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventType {
    pub name: &'static str,
    pub version: u16,
    pub topic: &'static str,
}

impl EventType {
    /// The catalogue entry of `T`.
    pub const fn of<T: Event>() -> Self {
        Self {
            name: T::TYPE,
            version: T::VERSION,
            topic: T::TOPIC,
        }
    }
}

/// Every event type defined here. Add each new payload type.
pub const CATALOG: &[EventType] = &[
    EventType::of::<user::UserRegistered>(),
    EventType::of::<user::UserErased>(),
    EventType::of::<catalog::ProductCreated>(),
    EventType::of::<catalog::ProductUpdated>(),
    EventType::of::<catalog::StockChanged>(),
    EventType::of::<cart::ItemAdded>(),
    EventType::of::<cart::ItemRemoved>(),
    EventType::of::<cart::CartMerged>(),
    EventType::of::<order::OrderPlaced>(),
    EventType::of::<order::OrderPaid>(),
    EventType::of::<order::OrderCancelled>(),
    EventType::of::<order::OrderShipped>(),
];

/// A typed event payload.
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Wire name of the event, e.g. `user.registered`.
    const TYPE: &'static str;
    /// Schema version of the payload.
    const VERSION: u16;
    /// The Kafka topic the event is published on, as declared in platform.toml.
    const TOPIC: &'static str;
    /// The partition key: events with the same key keep their order.
    fn key(&self) -> String;
}

/// W3C trace context carried with an event so consumers continue the producer's trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TraceContext {
    pub traceparent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
}

/// The versioned envelope around every event on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// Unique per event; consumers deduplicate on it.
    pub id: Uuid,
    /// Wire name, e.g. `user.registered`.
    #[serde(rename = "type")]
    pub event_type: String,
    pub version: u16,
    pub occurred_at: DateTime<Utc>,
    /// Name of the producing service.
    pub producer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceContext>,
    pub payload: T,
}

impl<T: Event> Envelope<T> {
    /// Wraps a payload in a fresh envelope (time-ordered id, now).
    pub fn new(producer: &str, payload: T) -> Self {
        Self {
            id: Uuid::now_v7(),
            event_type: T::TYPE.to_owned(),
            version: T::VERSION,
            occurred_at: Utc::now(),
            producer: producer.to_owned(),
            trace: None,
            payload,
        }
    }

    /// Attaches the trace context the event was produced under.
    pub fn with_trace(mut self, trace: Option<TraceContext>) -> Self {
        self.trace = trace;
        self
    }
}

/// An envelope whose payload is not decoded yet: what a consumer reads first, to dispatch on
/// `event_type` and `version`.
pub type RawEnvelope = Envelope<serde_json::Value>;

impl RawEnvelope {
    /// Decodes the payload as `T`, checking type and version first.
    pub fn decode<T: Event>(&self) -> Result<Envelope<T>, DecodeError> {
        if self.event_type != T::TYPE || self.version != T::VERSION {
            return Err(DecodeError::Mismatch {
                expected: format!("{}@{}", T::TYPE, T::VERSION),
                found: format!("{}@{}", self.event_type, self.version),
            });
        }
        let payload = T::deserialize(&self.payload).map_err(DecodeError::Payload)?;
        Ok(Envelope {
            id: self.id,
            event_type: self.event_type.clone(),
            version: self.version,
            occurred_at: self.occurred_at,
            producer: self.producer.clone(),
            trace: self.trace.clone(),
            payload,
        })
    }
}

/// Why an envelope could not be decoded as a given event.
#[derive(Debug)]
pub enum DecodeError {
    Mismatch { expected: String, found: String },
    Payload(serde_json::Error),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Mismatch { expected, found } => write!(f, "expected {expected}, found {found}"),
            Self::Payload(e) => write!(f, "payload does not match its schema: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::UserRegistered;

    #[test]
    fn envelope_round_trips_and_checks_type() {
        let event = Envelope::new(
            "auth",
            UserRegistered {
                user_id: Uuid::nil(),
                email: "a@example.com".into(),
                role: "customer".into(),
            },
        );
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "user.registered");
        let raw: RawEnvelope = serde_json::from_value(json).unwrap();
        assert_eq!(raw.decode::<UserRegistered>().unwrap(), event);

        let mut wrong = raw.clone();
        wrong.version = 2;
        assert!(matches!(
            wrong.decode::<UserRegistered>(),
            Err(DecodeError::Mismatch { .. })
        ));
    }
}
