-- The tables the kit's outbox and consumer helpers expect, as a service's first migration has them.
CREATE TABLE outbox (
    id           uuid PRIMARY KEY,
    topic        text        NOT NULL,
    key          text        NOT NULL,
    envelope     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
