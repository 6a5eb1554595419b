-- Initial schema of attribution.

-- Transactional outbox: events written with the change they record, published by the relay.
CREATE TABLE outbox (
    id           uuid PRIMARY KEY,
    topic        text        NOT NULL,
    key          text        NOT NULL,
    envelope     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (created_at, id) WHERE published_at IS NULL;

-- Consumed event ids, for idempotent handling of redeliveries.
CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
