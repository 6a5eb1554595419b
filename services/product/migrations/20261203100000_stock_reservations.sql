-- Stock held for orders: one row per (order, variant). Reserving decrements the variant's stock
-- in the same transaction (never below zero); releasing puts it back once, setting released_at.
-- Keyed by the order, so a retried reservation or release changes nothing.
CREATE TABLE stock_reservations (
    order_id    uuid        NOT NULL,
    variant_id  uuid        NOT NULL REFERENCES variants (id),
    quantity    integer     NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz,
    PRIMARY KEY (order_id, variant_id)
);

CREATE INDEX stock_reservations_held ON stock_reservations (variant_id) WHERE released_at IS NULL;
