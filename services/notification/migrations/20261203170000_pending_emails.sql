-- E-mails for buyers notification does not know yet (their user.registered, on another topic,
-- lags behind the order's event): parked here, sent when the address arrives, instead of retried
-- into the dead-letter topic. An erased user's row stays as a tombstone without an address, so
-- an order event that arrives after the erasure is dropped rather than parked forever.

ALTER TABLE recipients ALTER COLUMN email DROP NOT NULL;

CREATE TABLE pending_emails (
    event_id  uuid        PRIMARY KEY,
    user_id   uuid        NOT NULL,
    kind      text        NOT NULL,
    subject   text        NOT NULL,
    text_body text        NOT NULL,
    html_body text        NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX pending_emails_of_user ON pending_emails (user_id, parked_at);
