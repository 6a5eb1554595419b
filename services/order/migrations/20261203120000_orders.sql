-- Orders, their lines and the checkout requests that made them.

CREATE TABLE orders (
    id               uuid        PRIMARY KEY,
    user_id          uuid        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('placed', 'paid', 'shipped', 'cancelled')),
    currency         char(3)     NOT NULL,
    subtotal         bigint      NOT NULL CHECK (subtotal >= 0),
    discount         bigint      NOT NULL CHECK (discount >= 0),
    total            bigint      NOT NULL CHECK (total >= 0 AND total = subtotal - discount),
    coupon_code      text,
    shipping_address jsonb       NOT NULL,
    -- The provider's authorization, once there is one.
    payment_id       text,
    cancel_reason    text,
    -- When its stock and coupon use were given back (cancelled orders; a sweeper retries).
    released_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX orders_by_user ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_to_release ON orders (updated_at) WHERE status = 'cancelled' AND released_at IS NULL;

CREATE TABLE order_lines (
    order_id   uuid    NOT NULL REFERENCES orders (id),
    position   integer NOT NULL,
    product_id uuid    NOT NULL,
    variant_id uuid    NOT NULL,
    sku        text    NOT NULL,
    name       text    NOT NULL,
    quantity   integer NOT NULL CHECK (quantity > 0),
    unit_price bigint  NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, position)
);

-- One row per (user, Idempotency-Key): the request's hash, the order id it was given, a lease
-- while an attempt runs it, and then the response sent, replayed byte for byte to any retry.
CREATE TABLE idempotency_keys (
    user_id      uuid        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    order_id     uuid        NOT NULL,
    locked_until timestamptz,
    status       smallint,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (user_id, key)
);

-- The local payment provider's ledger (test mode, `cargo xtask up` and tests): what a card
-- processor keeps, keyed by the caller's idempotency key so a retry never charges twice.
CREATE TABLE local_payments (
    key        text        PRIMARY KEY,
    id         text        NOT NULL UNIQUE,
    amount     bigint      NOT NULL,
    currency   char(3)     NOT NULL,
    card_last4 text        NOT NULL,
    state      text        NOT NULL CHECK (state IN ('authorized', 'declined', 'captured', 'voided')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
