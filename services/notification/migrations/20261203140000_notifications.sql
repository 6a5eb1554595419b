-- Who to write to (from user.registered; forgotten on user.erased), what orders hold (from
-- order.placed, for the e-mails of later events), and every e-mail sent, once per event.

CREATE TABLE recipients (
    user_id uuid PRIMARY KEY,
    email   text NOT NULL
);

CREATE TABLE orders (
    order_id uuid  PRIMARY KEY,
    user_id  uuid  NOT NULL,
    placed   jsonb NOT NULL
);

CREATE INDEX orders_of_user ON orders (user_id);

CREATE TABLE sent_emails (
    event_id   uuid        PRIMARY KEY,
    message_id text        NOT NULL UNIQUE,
    kind       text        NOT NULL,
    user_id    uuid        NOT NULL,
    sent_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sent_emails_of_user ON sent_emails (user_id);
